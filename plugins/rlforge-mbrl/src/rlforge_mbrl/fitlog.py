"""The model-fit log: after every dynamics-model fit of an `mpc` or `mbpo` run, the training
loss of each gradient step goes to `model_fit.csv` in the run folder (the engine's metrics
keep only the latest value), and at the end of the run `model_fit.png` plots it when
matplotlib is installed. Driven by the lifecycle hooks in plugin.py."""

from __future__ import annotations

import csv
from pathlib import Path

FILE = "model_fit.csv"
FIELDS = ("fit", "env_step", "grad_step", "train_loss", "validation_loss")
_agents: dict[str, object] = {}  # run folder -> agent whose fits are logged


def start(run, agent) -> None:
    if type(agent).__module__.startswith("rlforge_mbrl.") and getattr(agent, "trainer", None) is not None:
        _agents[str(run.path)] = agent


def record(run, metrics: dict) -> None:
    agent = _agents.get(str(run.path))
    if agent is None:
        return
    path = Path(run.path) / FILE
    new = not path.exists()
    curve = agent.trainer.last_curve
    fit = int(metrics["charts/model_fits"])
    validation = metrics.get("losses/model_validation", "")
    with open(path, "a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(FIELDS)
        for i, loss in enumerate(curve):
            writer.writerow((fit, run.step, i + 1, f"{loss:.6g}", validation if i == len(curve) - 1 else ""))


def finish(run) -> None:
    if _agents.pop(str(run.path), None) is None:
        return
    path = Path(run.path) / FILE
    if path.exists():
        try:
            plot(path, path.with_suffix(".png"))
        except ImportError:  # matplotlib is the optional `plots` extra
            pass


def plot(csv_path: Path, png_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    fig, ax = plt.subplots(figsize=(6, 4))
    offset = 0
    for fit in sorted({int(r["fit"]) for r in rows}):
        mine = [r for r in rows if int(r["fit"]) == fit]
        steps = [offset + int(r["grad_step"]) for r in mine]
        ax.plot(steps, [float(r["train_loss"]) for r in mine], color="C0", label="training" if fit == 1 else None)
        held = [(s, float(r["validation_loss"])) for s, r in zip(steps, mine) if r["validation_loss"]]
        if held:
            ax.plot(*zip(*held), "o", color="C1", label="validation (end of fit)" if fit == 1 else None)
        offset = steps[-1]
    ax.set_xlabel("model gradient step (all fits)")
    ax.set_ylabel("loss (normalised MSE, mean over members)")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title(f"dynamics model fit: {Path(csv_path).parent.name}")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
