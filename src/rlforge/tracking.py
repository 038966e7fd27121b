"""What every experiment-tracker plugin does the same way, over the lifecycle hooks alone.

A tracker plugin is a `TrackerPlugin` (its entry point names the object) with a backend: a
class, named by import string so that `rlforge list` never imports the tracker's library,
with four methods:

    start(run, params, previous) -> dict   open or (previous: what start returned last time)
                                           reopen the tracker's run; the dict is kept
    log(step, metrics)                     scalars at an env step
    video(path, step) / artifact(path, name)   an MP4 file / a checkpoint folder
    end(status)                            "finished", "stopped" or "crashed"

TrackerPlugin does the rest: it acts only for runs whose `track` key names it; it keeps
`start`'s answer in RUN_DIR/trackers.json, so `rlforge train --resume` continues the same
tracker run; it logs every scalar the engine logs (on_log), the evaluation videos once each,
and the final checkpoint at the end. A backend that raises is reported once, in one line, and
left alone for the rest of the run: a tracker never stops training.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from rlforge.hookspecs import hookimpl
from rlforge.registry import TrackerSpec, load

TRACKERS_FILE = "trackers.json"
VIDEO_NAME = re.compile(r"step_([0-9]+)\.mp4")


def read_ids(run_dir: Path) -> dict:
    """RUN_DIR/trackers.json: tracker name -> what its backend's start returned."""
    try:
        data = json.loads((Path(run_dir) / TRACKERS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_ids(run_dir: Path, name: str, entry: dict) -> None:
    """Set `name`'s entry in RUN_DIR/trackers.json (replaced atomically)."""
    data = {**read_ids(run_dir), name: entry}
    temporary = Path(run_dir) / f".{TRACKERS_FILE}.tmp"
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(temporary, Path(run_dir) / TRACKERS_FILE)


def flat_params(mapping: dict, prefix: str = "") -> dict[str, object]:
    """A resolved config as flat parameters: nested dicts become dotted keys (env_kwargs.x)."""
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            flat.update(flat_params(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


class _Session:
    """One training process's connection to the tracker: the backend, and what it has seen."""

    def __init__(self, backend, start_step: int):
        self.backend = backend
        self.start_step = start_step  # videos up to here went to the tracker before a resume
        self.videos_sent: set[str] = set()
        self.failed = False


class TrackerPlugin:
    """The hooks of one tracker; see the module docstring."""

    def __init__(self, name: str, summary: str, backend: str):
        self.name, self.summary, self.backend = name, summary, backend
        self.session: _Session | None = None

    @hookimpl
    def register_trackers(self, register):
        register(TrackerSpec(self.name, self.summary))

    @hookimpl
    def on_train_start(self, run, agent, config):
        self.session = None
        if self.name not in config.run.track:
            return
        session = _Session(None, run.step)
        self.session = session

        def start():
            session.backend = load(self.backend)()
            entry = session.backend.start(run, flat_params(config.to_dict()), read_ids(run.path).get(self.name))
            write_ids(run.path, self.name, entry)

        self._guarded("start", start)

    @hookimpl
    def on_log(self, run, step, metrics):
        if self._live():
            self._guarded("logging", lambda: self.session.backend.log(step, metrics))

    @hookimpl
    def on_evaluation(self, run, result):
        self._send_videos(run)

    @hookimpl
    def on_checkpoint(self, run, path):
        self._send_videos(run)

    @hookimpl
    def on_train_end(self, run, status):
        if not self._live():
            self.session = None
            return
        self._send_videos(run)
        if status != "crashed":
            self._guarded("the final checkpoint", lambda: self._send_checkpoint(run))
        self._guarded("closing the run", lambda: self.session.backend.end(status))
        self.session = None

    # ------------------------------------------------------------------ helpers

    def _live(self) -> bool:
        return self.session is not None and not self.session.failed

    def _guarded(self, what: str, call) -> None:
        """Run `call`; the first failure is reported in one line and ends tracking for this run."""
        if self.session.failed:
            return
        try:
            call()
        except Exception as exc:  # noqa: BLE001 (a tracker's failure, whatever it is, must not stop training)
            from rich.markup import escape

            from rlforge.console import console

            self.session.failed = True
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            console.print(f"[yellow]{self.name}: {escape(what)} failed ({type(exc).__name__}: {escape(first)}); "
                          "training goes on without it", highlight=False, soft_wrap=True)

    def _send_videos(self, run) -> None:
        """Evaluation videos recorded since the last call (and after the step this process began)."""
        if not self._live():
            return
        session = self.session
        for path in sorted(run.videos.glob("step_*.mp4")):
            match = VIDEO_NAME.fullmatch(path.name)
            if match and int(match[1]) > session.start_step and path.name not in session.videos_sent:
                session.videos_sent.add(path.name)
                self._guarded("a video", lambda: session.backend.video(path, int(match[1])))

    def _send_checkpoint(self, run) -> None:
        from rlforge import checkpoint

        self.session.backend.artifact(checkpoint.resolve(run.path), "checkpoint")
