"""What every check family shares: the algorithm under test, the kit's small settings, and
short runs through the core engine made as `rlforge train` makes them."""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SMALL_ENVS = {"box": "Pendulum-v1", "discrete": "CartPole-v1"}  # one small env per action space kind


def small_overrides(config_class=None, steps: int = 300, seed: int = 1, agent_values: dict | None = None) -> dict:
    """The config values the kit trains with: `steps` env steps on one env, CPU, one torch
    thread, evaluation only at the end (2 episodes), four metric rows, no periodic checkpoints;
    and, where the algorithm's config has them, `learning_starts` and `random_steps` cut to a
    third of the steps, `batch_size` to 32 and `buffer_size` to 10,000.

    `agent_values` are the algorithm's values before shrinking (the defaults of `config_class`
    when not given). Pass `overrides=` to `check_plugin` to add or replace any of these.
    """
    values = {"total_steps": steps, "seed": seed, "num_envs": 1, "vector_mode": "sync", "eval_every": 0,
              "eval_episodes": 2, "log_every": max(1, steps // 4), "checkpoint_every": 0, "keep_checkpoints": 1,
              "device": "cpu", "torch_threads": 1}
    if agent_values is None:
        try:
            agent_values = dataclasses.asdict(config_class()) if config_class is not None else {}
        except Exception:
            agent_values = {}
    caps = {"learning_starts": steps // 3, "random_steps": steps // 3, "batch_size": 32, "buffer_size": 10_000}
    for key, cap in caps.items():
        value = agent_values.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > cap:
            values[key] = cap
    return values


@dataclass
class TrainedRun:
    """A short run through the engine: the engine (its agent included), the run, the rows of
    its metrics.csv, and the policy's parameters before training."""

    engine: object
    run: object
    rows: list[dict]
    env_id: str
    initial_policy: dict = field(default_factory=dict)


class KitContext:
    """The algorithm under test and the kit's settings; makes the short runs the checks need."""

    def __init__(self, algo: str, envs=None, steps: int = 300, overrides=None, seed: int = 1, workdir=None):
        self.algo, self.steps, self.seed = algo, steps, seed
        self.chosen_envs = list(envs) if envs else None
        self.user_overrides = dict(overrides or {})
        self.keep = workdir is not None
        if workdir is not None:  # a fresh folder of its own inside, so that calls never collide
            Path(workdir).mkdir(parents=True, exist_ok=True)
            self.workdir = Path(tempfile.mkdtemp(prefix=f"{algo}-", dir=Path(workdir).resolve()))
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix="rlforge-kit-"))
        self.spec = None  # the AlgorithmSpec, once the registry has it
        self.engines = []  # every engine built, closed when the kit ends
        self.last_built: TrainedRun | None = None  # the last engine built, trained or not

    @property
    def envs(self) -> list[str]:
        """The envs to train on: those asked for, else the small env of each claimed action space."""
        return self.chosen_envs or [SMALL_ENVS[kind] for kind in self.spec.action_spaces]

    def overrides_for(self, env_id: str, extra: dict | None = None) -> dict:
        """The kit's small settings for the algorithm's values on `env_id`, then the user's, then `extra`."""
        from rlforge import config as cfgmod

        try:
            agent_values = dataclasses.asdict(cfgmod.resolve(self.spec, env_id, None, {}).agent)
        except Exception:
            agent_values = {}
        small = small_overrides(steps=self.steps, seed=self.seed, agent_values=agent_values)
        return {**small, **self.user_overrides, **(extra or {})}

    def build(self, env_id: str, extra: dict | None = None):
        """(spec, resolved config, engine) for a run on `env_id`, as `rlforge train` builds them."""
        from rlforge import training

        spec, resolved, env_spec = training.prepare(self.algo, env_id, None, [], self.overrides_for(env_id, extra))
        engine = training.build_engine(spec, resolved, env_spec)
        self.engines.append(engine)
        return spec, resolved, engine

    def new_run(self, spec, resolved, name: str):
        from rlforge import training

        return training.new_run(resolved, spec, str(self.workdir / "runs" / name), str(self.workdir / "runs"))

    def train(self, env_id: str, label: str, extra: dict | None = None) -> TrainedRun:
        """One run through the core engine, as `rlforge train` makes it (without TensorBoard)."""
        from rlforge.plugins import get_host
        from rlforge.testing.state import snapshot

        spec, resolved, engine = self.build(env_id, extra)
        self.last_built = TrainedRun(engine, None, [], env_id)
        initial = snapshot(engine.agent.policy.state_dict())
        run = self.new_run(spec, resolved, f"{slug(env_id)}-{label}")
        status = train_and_read_metrics(engine, run)
        get_host().hook.on_train_end(run=run, status=status)
        return TrainedRun(engine, run, read_metrics(run), env_id, initial)

    def observations(self, trained: TrainedRun, count: int = 16):
        """`count` real observations from the run's envs, stepped with random actions."""
        engine = trained.engine
        steps = max(1, -(-count // engine.env.num_envs))
        batch = engine.collector.collect(lambda obs: engine.env.random_actions(), steps)
        return batch.obs.reshape(-1, *batch.obs.shape[2:])[:count]


def train_and_read_metrics(engine, run) -> str:
    """Train `run` to its end with a metrics.csv logger; returns the status saved in meta.json."""
    from rlforge.logger import MetricsLogger

    logger = MetricsLogger(run.path, tensorboard=False)
    try:
        outcome = engine.train(run, logger)
    except BaseException:
        run.save_meta(status="crashed")
        raise
    finally:
        logger.close()
    run.save_meta(status=outcome.status)
    return outcome.status


def read_metrics(run) -> list[dict]:
    import csv

    with open(run.path / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def slug(env_id: str) -> str:
    """An env id as a folder name."""
    return env_id.replace("/", "_").replace(":", "_")
