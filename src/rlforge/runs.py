"""The run directory: runs/<algo>/<env>/<time>-s<seed>/ with config.yaml, meta.json,
TensorBoard events, metrics.csv, checkpoints/ and videos/."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

CONFIG_FILE, META_FILE, METRICS_FILE = "config.yaml", "meta.json", "metrics.csv"


def default_run_dir(root: Path, algo: str, env_id: str, seed: int) -> Path:
    """A fresh folder name under root/<algo>/<env>/ (suffixed if the second is taken)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / algo / env_id.replace("/", "_") / f"{stamp}-s{seed}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


LOCK_FILE = ".lock"


class FolderLock:
    """One writer per run (or sweep) folder: an exclusive `flock` on FOLDER/.lock, held while
    the process works there. The kernel drops the lock when the process dies, however it dies,
    so a dead process's lock is simply taken over by the next one."""

    def __init__(self, folder: Path, what: str = "run"):
        self.folder, self.what = Path(folder), what
        self._fd: int | None = None

    def acquire(self) -> "FolderLock":
        import fcntl

        from rlforge.errors import RLForgeError

        fd = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise RLForgeError(f"{self.what} {str(self.folder)!r} is in use by another rlforge process "
                               f"(pid {holder}); wait for it to end or stop it first") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


META_LIMIT = 4 << 20  # bytes of meta.json read (it is a few KB)


def read_meta(run_dir: Path) -> dict:
    """A run's meta.json as a mapping; one RLForgeError line when it is missing, oversized,
    too deeply nested, not JSON or not a mapping."""
    from rlforge.errors import RLForgeError
    from rlforge.safe_files import load_json

    meta = load_json(Path(run_dir) / META_FILE, META_FILE, META_LIMIT)
    if not isinstance(meta, dict):
        raise RLForgeError(f"{str(Path(run_dir) / META_FILE)!r} is not a mapping")
    return meta


def try_read_meta(run_dir: Path) -> dict | None:
    """read_meta, or None for a run folder whose meta.json cannot be used."""
    from rlforge.errors import RLForgeError

    try:
        return read_meta(run_dir)
    except RLForgeError:
        return None


def write_json_atomic(path: Path, data: dict) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(temporary, path)


@dataclass
class Run:
    """A run directory and the counters the engine keeps in it."""

    path: Path
    algo: str
    env_id: str
    seed: int
    step: int = 0  # env steps, all envs together
    iteration: int = 0
    episodes: int = 0
    meta: dict = field(default_factory=dict)
    lock: "FolderLock | None" = field(default=None, repr=False, compare=False)  # held while training

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def videos(self) -> Path:
        return self.path / "videos"

    def create(self, config: dict, plugins: list[dict], plugin_version: str) -> None:
        """Make the folder and write config.yaml and meta.json (status "running")."""
        self.path.mkdir(parents=True, exist_ok=False)
        (self.path / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False))
        self.meta = {
            "algo": self.algo,
            "env": self.env_id,
            "seed": self.seed,
            "status": "running",
            "step": 0,
            "started": datetime.now().isoformat(timespec="seconds"),
            "command": invoked_command(),
            "versions": _versions(plugin_version),
            "host": platform.node(),
            "pid": os.getpid(),
            "plugins": plugins,
        }
        self.save_meta()

    @classmethod
    def open(cls, path: Path) -> "Run":
        """An existing run directory (to resume), with its meta.json."""
        from rlforge.errors import RLForgeError

        path = Path(path)
        if not path.is_dir():
            raise RLForgeError(f"run directory {str(path)!r} does not exist")
        meta = try_read_meta(path)
        if meta is None:
            raise RLForgeError(f"{str(path)!r} is not an rlforge run directory (no readable {META_FILE})")
        if not (path / CONFIG_FILE).is_file():
            raise RLForgeError(f"run directory {str(path)!r} has no {CONFIG_FILE}")
        names = {key: meta.get(key) for key in ("algo", "env", "seed", "step")}
        if not (isinstance(names["algo"], str) and isinstance(names["env"], str) and isinstance(names["seed"], int)
                and isinstance(names["step"] or 0, int)):
            raise RLForgeError(f"{str(path / META_FILE)!r} lacks the run's algo, env, seed or step")
        return cls(path, names["algo"], names["env"], names["seed"], step=names["step"] or 0, meta=meta)

    def save_meta(self, **updates) -> None:
        self.meta.update(updates, step=self.step, updated=datetime.now().isoformat(timespec="seconds"))
        write_json_atomic(self.path / META_FILE, self.meta)

    def record_machine(self, update_precision: str) -> None:
        """Add this machine (CPU, cores, the matmul precision its updates run at) to meta.json's
        `machines` unless it is there already: a run resumed elsewhere lists each machine once,
        so its speed and its numerics can be told apart."""
        machine = {"cpu": cpu_model(), "cores": os.cpu_count(), "update_matmul_precision": update_precision}
        machines = list(self.meta.get("machines") or [])
        if machine not in machines:
            self.save_meta(machines=[*machines, machine])


def invoked_command() -> str:
    """The rlforge command line this process was started with."""
    return " ".join(["rlforge", *sys.argv[1:]])


def cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions(plugin_version: str) -> dict:
    import gymnasium
    import numpy
    import torch

    import rlforge

    return {"rlforge": rlforge.__version__, "plugin": plugin_version, "python": platform.python_version(),
            "torch": torch.__version__, "gymnasium": gymnasium.__version__, "numpy": numpy.__version__}


def elapsed(start: float) -> float:
    return time.perf_counter() - start
