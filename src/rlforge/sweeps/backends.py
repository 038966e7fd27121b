"""Where trials run. Every trial is an `rlforge train` process, so a crash in one cannot take
the others down; a backend only decides on which machine that process starts.

- LocalBackend: subprocesses of this one, up to --workers at a time.
- RayBackend: one Ray task per trial on a Ray cluster (or a local one Ray starts); the task
  runs the same command on its node. Trials write to the sweep folder, so on a cluster that
  folder must be on a filesystem every node shares.

A backend's interface: `slots` (trials at once), start(args, log) -> handle, poll(handle) ->
exit status or None while running, stop(handle) (as Ctrl-C would: checkpoint and stop), close().
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from rlforge.errors import RLForgeError

BACKENDS = ("local", "ray")


def trial_command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "rlforge.cli", *args]


class LocalBackend:
    def __init__(self, workers: int | None = None):
        self.slots = max(1, workers or os.cpu_count() or 1)

    def start(self, args: list[str], log_path: Path):
        with open(log_path, "a") as log:
            # its own session: a Ctrl-C at the terminal reaches the sweep only, which stops
            # each trial once (a second SIGINT would stop a trial without its checkpoint)
            return subprocess.Popen(trial_command(args), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)

    def poll(self, handle) -> int | None:
        return handle.poll()

    def stop(self, handle) -> None:
        if handle.poll() is None:
            handle.send_signal(signal.SIGINT)

    def wait(self, handle) -> int:
        return handle.wait()

    def close(self) -> None:
        pass


def _run_trial(args: list[str], log_path: str) -> int:
    """The body of a Ray task: run one trial to its end; a cancel stops it as Ctrl-C would."""
    with open(log_path, "a") as log:
        process = subprocess.Popen(trial_command(args), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        try:
            return process.wait()
        except KeyboardInterrupt:  # ray.cancel: let the run write its checkpoint
            process.send_signal(signal.SIGINT)
            return process.wait()


class RayBackend:
    def __init__(self, address: str | None = None, workers: int | None = None):
        try:
            import ray
        except ImportError:
            raise RLForgeError("the ray backend needs Ray: pip install 'rlforge[ray]'") from None
        self.ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         logging_level="ERROR", configure_logging=True)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = f" at {address!r}" if address else ""
                raise RLForgeError(f"cannot start or reach a Ray cluster{where}: {str(exc).splitlines()[0]}") from None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.slots = max(1, min(workers or cpus, cpus))
        self._task = ray.remote(num_cpus=1, max_retries=0)(_run_trial)

    def start(self, args: list[str], log_path: Path):
        return self._task.remote(args, str(Path(log_path).resolve()))

    def poll(self, handle) -> int | None:
        ready, _ = self.ray.wait([handle], timeout=0)
        if not ready:
            return None
        try:
            return int(self.ray.get(handle))
        except self.ray.exceptions.TaskCancelledError:
            return 130
        except self.ray.exceptions.RayError:  # the node or worker died: the run's meta.json says the rest
            return 1

    def stop(self, handle) -> None:
        self.ray.cancel(handle)

    def wait(self, handle) -> int:
        self.ray.wait([handle])
        return self.poll(handle)

    def close(self) -> None:
        if self._owns:
            self.ray.shutdown()


def make_backend(name: str, address: str | None, workers: int | None):
    if name not in BACKENDS:
        raise RLForgeError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    if name == "local":
        if address:
            raise RLForgeError("--address is for the ray backend; add --backend ray")
        return LocalBackend(workers)
    return RayBackend(address, workers)
