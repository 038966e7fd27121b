"""Plot the 8 CartPole pg variants from benchmarks/results/pg_cartpole*.json (written by
learning_run.py): the mean training episode return per iteration (the homework's
Train_AverageReturn) against iterations, into benchmarks/results/pg_cartpole_curves.png."""
import json
from pathlib import Path
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

results = Path(__file__).resolve().parent / "results"
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
for ax, lb, batch in ((axes[0], "", 1000), (axes[1], "_lb", 4000)):
    for v, label in (("", "vanilla"), ("_rtg", "rtg"), ("_na", "na"), ("_rtg_na", "rtg + na")):
        curve = json.loads((results / f"pg_cartpole{lb}{v}.json").read_text())["train_return_curve"]
        ax.plot([s / batch for s, _ in curve], [r for _, r in curve], label=label)
    ax.set_title(f"pg on CartPole-v0, batch {batch} ({'large' if lb else 'small'})")
    ax.set_xlabel("iteration")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
axes[0].set_ylabel("mean training episode return in the iteration")
fig.suptitle("CS285 hw2 CartPole experiments with rlforge (seed 1, 100 iterations)")
fig.tight_layout()
fig.savefig(results / "pg_cartpole_curves.png", dpi=100)
print("wrote", results / "pg_cartpole_curves.png")
