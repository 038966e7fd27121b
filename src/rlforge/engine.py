"""The one training loop, for every kind of algorithm.

    batch = collector.collect(policy or random actions, agent.steps_per_iteration)
    agent.observe(batch)
    metrics = agent.update(progress)
    log; hooks.on_iteration_end; every eval period evaluate; every checkpoint period save

Offline agents (`agent.offline_steps`) first take that many steps without collecting: each is
one `update` (one gradient step from their dataset), and the run's step counts them; then the
loop collects online as above (offline-to-online fine-tuning).
"""

from __future__ import annotations

import random
import signal
import time
from dataclasses import dataclass

import numpy as np
import torch

from rlforge import checkpoint
from rlforge.agent import Agent, Progress
from rlforge.collector import Collector
from rlforge.config import ResolvedConfig
from rlforge.console import console, format_returns, progress_bar
from rlforge.envs import EnvAdapter, vector_env
from rlforge.errors import StoppedAtOnce
from rlforge.evaluation import EvalResult, EvaluationStopped, evaluate
from rlforge.logger import MetricsLogger
from rlforge.nn import resolve_device
from rlforge.precision import matmul_precision, update_precision
from rlforge.registry import AlgorithmSpec, EnvSpec
from rlforge.runs import Run
from rlforge.threads import use_threads

EVAL_SEED_OFFSET = 1_000_003  # evaluation episodes never share seeds with training episodes
STOP_EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class Outcome:
    status: str  # "finished" or "stopped"
    signal: int | None = None
    last_eval: EvalResult | None = None
    reached_return_at: int | None = None  # set when stop_at_return ended the run early

    @property
    def exit_code(self) -> int:
        return STOP_EXIT_CODES.get(self.signal, 0)


class Engine:
    """Builds the envs and the agent for a resolved config; `train()` runs the loop."""

    def __init__(self, spec: AlgorithmSpec, config: ResolvedConfig, env_spec: EnvSpec | None, hooks):
        self.spec, self.config, self.env_spec, self.hooks = spec, config, env_spec, hooks
        run_cfg = config.run
        use_threads(run_cfg.torch_threads)
        seed_everything(run_cfg.seed)
        self.device = resolve_device(run_cfg.device)
        self.env = vector_env(config.env, run_cfg.num_envs, run_cfg.seed, run_cfg.vector_mode, env_spec,
                              run_cfg.max_episode_steps, env_kwargs=run_cfg.env_kwargs)
        self.agent: Agent = spec.build_agent(config.agent, self.env.observation_space, self.env.action_space,
                                             num_envs=run_cfg.num_envs, device=str(self.device), env_id=config.env)
        self.env.info_keys = tuple(getattr(self.agent, "info_keys", ()))  # known only once the agent exists
        self.update_precision = update_precision(run_cfg.matmul_precision, self.device,
                                                 getattr(self.agent, "update_matmul_precision", "highest"))
        self.collector = Collector(self.env, run_cfg.seed)
        self.has_offline_phase = getattr(self.agent, "offline_steps", 0) != 0
        self._eval_env: EnvAdapter | None = None
        self._stop_signal: int | None = None
        self.next_log = run_cfg.log_every
        self.next_eval = run_cfg.eval_every or run_cfg.total_steps
        self.next_checkpoint = run_cfg.checkpoint_every or run_cfg.total_steps
        self.next_video = run_cfg.video_every or 1 << 62
        self.last_train_return: float | None = None
        self.last_eval: EvalResult | None = None
        self.reached_return_at: int | None = None  # the step whose evaluation reached stop_at_return
        self._latest_metrics: dict[str, float] = {}  # the agent's newest value of each metric, logged every log_every

    # ------------------------------------------------------------------ the loop

    def train(self, run: Run, logger: MetricsLogger) -> Outcome:
        cfg = self.config.run
        self.hooks.on_train_start(run=run, agent=self.agent, config=self.config)
        logger.listener = lambda metrics, step: self.hooks.on_log(run=run, step=step, metrics=metrics)
        previous_handlers = self._catch_stop_signals(run)
        self._window = (time.perf_counter(), run.step)  # for steps/s between metric rows
        try:
            with progress_bar(run.algo) as bar:
                task = bar.add_task(run.algo, total=cfg.total_steps, completed=run.step, sps=0.0, returns="")
                last_refresh = 0.0
                if 0 < run.step < cfg.total_steps and run.step >= self.next_eval:
                    # an evaluation a stop signal interrupted before the checkpoint: run it now
                    if self._evaluate(run, logger, bar):
                        self.next_eval = _next_multiple(run.step, cfg.eval_every)
                while run.step < cfg.total_steps and self._stop_signal is None and self.reached_return_at is None:
                    metrics = self.iterate(run)
                    self._log_episodes(run, logger)
                    self._periodic_work(run, logger, bar, task, metrics)
                    now = time.perf_counter()
                    if now - last_refresh > 0.25:  # redrawing every step would cost more than acting
                        last_refresh = now
                        bar.update(task, completed=run.step, returns=self._returns_text(), **self._live_sps(run, now))
                last_sps = self._live_sps(run, time.perf_counter())  # before the final evaluation's time
                if self._stop_signal is None and self.reached_return_at is None:  # else just evaluated
                    self._evaluate(run, logger, bar)
                bar.update(task, completed=run.step, returns=self._returns_text(), **last_sps)
            stop = self._stop_signal
            if stop is None:  # a stopped run keeps its due periods (an interrupted evaluation)
                self._skip_done_periods(run.step)
            # still under the handlers: a signal now lets the checkpoint finish; a second one
            # (StoppedAtOnce) leaves the previous checkpoint as the latest
            self.save_checkpoint(run, logger)
            self._write_collected_dataset(run)
        finally:
            self._restore_signals(previous_handlers)
        return Outcome("finished" if stop is None else "stopped", stop, self.last_eval, self.reached_return_at)

    def _periodic_work(self, run: Run, logger: MetricsLogger, bar, task, metrics: dict) -> None:
        """After each iteration: metric rows, hooks, evaluation, video and checkpoint when due."""
        cfg = self.config.run
        if metrics:
            self._latest_metrics.update(metrics)
        if run.step >= self.next_log:
            now = time.perf_counter()
            sps = self._window_sps(run.step, now)
            self._window = (now, run.step)
            row = {**_tagged(self._latest_metrics), "charts/sps": sps}
            if self.has_offline_phase:  # 0 in the offline phase, 1 once collecting (plots mark the switch)
                row["charts/online"] = float(run.step > self.offline_until())
            logger.scalars(row, run.step)
            self.next_log = _next_multiple(run.step, cfg.log_every)
            bar.update(task, sps=sps)
        self.hooks.on_iteration_end(run=run, metrics=metrics)
        if self.has_offline_phase and run.step == self.offline_until() < cfg.total_steps:
            logger.scalar("charts/online", 1.0, run.step)
            bar.console.print(f"[cyan]online[/] step {run.step:>9,}  offline phase done: collecting with the agent from now on")
        if run.step >= self.next_eval and run.step < cfg.total_steps:  # the final one comes after the loop
            if self._evaluate(run, logger, bar):  # an interrupted one stays due: it runs on resume
                self.next_eval = _next_multiple(run.step, cfg.eval_every)
                if cfg.stop_at_return is not None and self.last_eval.summary["return_mean"] >= cfg.stop_at_return:
                    self.reached_return_at = run.step
        if run.step >= self.next_video:
            self.record_video(run, logger)
            self.next_video = _next_multiple(run.step, cfg.video_every)
        if run.step >= self.next_checkpoint and run.step < cfg.total_steps:
            # the next period first, so that a run resumed from this checkpoint does not write another at once
            self.next_checkpoint = _next_multiple(run.step, cfg.checkpoint_every)
            self.save_checkpoint(run, logger)

    def _window_sps(self, step: int, now: float) -> float:
        """Steps/s since the last metric row."""
        start, first = self._window
        return (step - first) / max(now - start, 1e-9)

    def _live_sps(self, run: Run, now: float) -> dict:
        """The progress bar's steps/s between metric rows (runs shorter than log_every would
        otherwise show 0); nothing right after a row (the row's rate stays)."""
        return {"sps": self._window_sps(run.step, now)} if run.step > self._window[1] else {}

    def _returns_text(self) -> str:
        return format_returns(self.last_train_return, self._last_eval_mean())

    def _skip_done_periods(self, step: int) -> None:
        """After the final evaluation and checkpoint, a later extension starts at the next periods."""
        cfg = self.config.run
        if self.next_eval <= step:
            self.next_eval = _next_multiple(step, cfg.eval_every)
        if self.next_checkpoint <= step:
            self.next_checkpoint = _next_multiple(step, cfg.checkpoint_every)

    def offline_until(self) -> int:
        """The step where collection starts (the run's end for a wholly offline agent)."""
        offline = getattr(self.agent, "offline_steps", 0)
        return self.config.run.total_steps if offline is None else int(offline)

    def iterate(self, run: Run) -> dict[str, float]:
        """One iteration: collect, observe, update (offline: update only). Returns the update's metrics."""
        if self.has_offline_phase and run.step < self.offline_until():
            run.step += 1
            run.iteration += 1
            with matmul_precision(self.update_precision):
                return self.agent.update(Progress(run.step, self.config.run.total_steps, run.iteration,
                                                  metrics_due=run.step >= self.next_log, offline=True))
        batch = self.collector.collect(self._act_fn(run.step), self.agent.steps_per_iteration)
        run.step += len(batch)
        run.iteration += 1
        self.agent.observe(batch)
        with matmul_precision(self.update_precision):
            return self.agent.update(Progress(run.step, self.config.run.total_steps, run.iteration,
                                              metrics_due=run.step >= self.next_log))

    def _act_fn(self, step: int):
        if step < self.agent.random_steps:
            return lambda obs: self.env.random_actions()
        return self.agent.policy.act

    def _log_episodes(self, run: Run, logger: MetricsLogger) -> None:
        for ret, length in zip(self.collector.finished_returns, self.collector.finished_lengths):
            logger.scalar("charts/episode_return", ret, run.step)
            logger.scalar("charts/episode_length", length, run.step)
            run.episodes += 1
            self.last_train_return = ret

    def _last_eval_mean(self) -> float | None:
        return self.last_eval.summary["return_mean"] if self.last_eval else None

    # ------------------------------------------------------------------ evaluation

    def eval_env(self) -> EnvAdapter:
        """The evaluation envs (up to 10 copies), made on first use."""
        cfg = self.config.run
        if self._eval_env is None:
            self._eval_env = EnvAdapter(self.config.env, min(cfg.eval_episodes, 10), cfg.seed + EVAL_SEED_OFFSET,
                                        "sync", self.env_spec, cfg.max_episode_steps, env_kwargs=cfg.env_kwargs)
        return self._eval_env

    def evaluate_now(self, step: int, should_stop=None) -> EvalResult:
        cfg = self.config.run
        return evaluate(self.agent.policy, self.eval_env(), cfg.eval_episodes, cfg.eval_deterministic,
                        seed=cfg.seed + EVAL_SEED_OFFSET, step=step, should_stop=should_stop)

    def _evaluate(self, run: Run, logger: MetricsLogger, bar) -> bool:
        """Evaluate, log and keep the pictures; False when a stop signal cut the evaluation short
        (a stop must not wait for long evaluations)."""
        # a policy may draw from the global generators while evaluating: an interrupted evaluation
        # puts them back, so that the checkpoint (and the evaluation rerun on resume) sees them as before
        generators = random.getstate(), np.random.get_state(), torch.get_rng_state()
        try:
            result = self.evaluate_now(run.step, should_stop=lambda: self._stop_signal is not None)
        except EvaluationStopped:
            random.setstate(generators[0])
            np.random.set_state(generators[1])
            torch.set_rng_state(generators[2])
            bar.console.print("[yellow]evaluation interrupted: it runs when the run resumes")
            return False
        summary = result.summary
        extra = self.agent.evaluation_metrics(result) if hasattr(self.agent, "evaluation_metrics") else {}
        logger.scalars({**{f"eval/{k}": v for k, v in summary.items()}, **extra}, run.step)
        logger.flush()
        self.last_eval = result
        self._keep_images(run, logger)
        bar.console.print(f"[cyan]eval[/] step {run.step:>9,}  return {summary['return_mean']:9.1f} "
                          f"± {summary['return_std']:.1f}  length {summary['length_mean']:.0f}")
        self.hooks.on_evaluation(run=run, result=result)
        return True

    def _keep_images(self, run: Run, logger: MetricsLogger) -> None:
        """The agent's evaluation pictures to RUN_DIR/images/<name>_step_<N>.png and TensorBoard."""
        images = self.agent.evaluation_images() if hasattr(self.agent, "evaluation_images") else {}
        if not images:
            return
        from rlforge.video import write_png

        folder = run.path / "images"
        folder.mkdir(exist_ok=True)
        for name, image in images.items():
            write_png(folder / f"{name}_step_{run.step:012d}.png", image)
            logger.image(f"images/{name}", image, run.step)

    def _write_collected_dataset(self, run: Run) -> None:
        """What the agent collected, as a Minari dataset in RUN_DIR/dataset/ (replaced as a whole)."""
        dataset = self.agent.collected_dataset() if hasattr(self.agent, "collected_dataset") else None
        if dataset is None or len(dataset) == 0:
            return
        import shutil

        from rlforge.datasets import save_minari

        cfg = self.config
        dataset.metadata.update({"run": str(run.path), "algo": cfg.algo, "seed": cfg.run.seed, "step": run.step})
        final, fresh, old = run.path / "dataset", run.path / ".dataset.new", run.path / ".dataset.old"
        for leftover in (fresh, old):  # from a process killed while swapping
            shutil.rmtree(leftover, ignore_errors=True)
        save_minari(dataset, fresh, self.env.observation_space, self.env.action_space, env_id=cfg.env,
                    dataset_id=run_dataset_id(cfg.algo, cfg.env, cfg.run.seed))
        if final.exists():
            final.rename(old)
        fresh.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        console.print(f"dataset: {len(dataset):,} transitions collected -> {final}")
        if cfg.run.save_dataset_as:
            published = publish_dataset(final, cfg.run.save_dataset_as)
            console.print(f"dataset: published as {cfg.run.save_dataset_as} -> {published}")

    def record_video(self, run: Run, logger: MetricsLogger) -> None:
        """One deterministic evaluation episode to videos/step_<N>.mp4 and TensorBoard.
        Acting draws no random numbers, so recording leaves training unchanged."""
        from rlforge.video import record_episode, write_mp4

        cfg = self.config.run
        frames, episode_return, length, fps = record_episode(
            self.agent.policy, self.config.env, self.env_spec, cfg.max_episode_steps, seed=cfg.seed + EVAL_SEED_OFFSET,
            env_kwargs=cfg.env_kwargs)
        path = write_mp4(run.videos / f"step_{run.step:012d}.mp4", frames, fps)
        logger.video("eval/video", frames, run.step, fps)
        console.print(f"[cyan]video[/] step {run.step:>9,}  return {episode_return:9.1f}  length {length}  -> {path}")

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self, run: Run) -> dict:
        return {
            "agent": self.agent.state_dict(),
            "engine": {
                "counters": {"step": run.step, "iteration": run.iteration, "episodes": run.episodes},
                "schedule": {"next_log": self.next_log, "next_eval": self.next_eval,
                             "next_checkpoint": self.next_checkpoint, "next_video": self.next_video},
                "latest_metrics": dict(self._latest_metrics),
                "collector": self.collector.state_dict(),
                "envs": self.env.get_state(),
                "rng": {"python": random.getstate(), "numpy": np.random.get_state(legacy=False),
                        "torch": torch.get_rng_state(), "action_space": self.env.action_space.np_random.bit_generator.state},
            },
        }

    def load_state_dict(self, state: dict, run: Run) -> bool:
        """Continue from a checkpoint's state; returns False when the envs started fresh
        episodes because their exact state could not be saved or restored. Anything that does
        not fit this run is a one-line CheckpointError (the run directory is not touched here)."""
        try:
            return self._load_state(state, run)
        except checkpoint.CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError, OverflowError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise checkpoint.CheckpointError(f"checkpoint does not fit this {self.config.algo} run: "
                                             f"{type(exc).__name__}: {detail[:200]}") from None

    def _load_state(self, state: dict, run: Run) -> bool:
        engine = state["engine"]
        counters = {name: _count(engine["counters"], name) for name in ("step", "iteration", "episodes")}
        if counters["step"] > self.config.run.total_steps:
            raise checkpoint.CheckpointError(f"checkpoint is at step {counters['step']:,}, beyond this run's "
                                             f"{self.config.run.total_steps:,} steps")
        schedule = {name: _count(engine["schedule"], name) for name in ("next_log", "next_eval", "next_checkpoint", "next_video")}
        exact = engine.get("envs") is not None and self.env.get_state() is not None
        if exact:
            envs = engine["envs"]
            if not isinstance(envs, list) or len(envs) != self.env.num_envs:
                raise checkpoint.CheckpointError(f"checkpoint holds the state of {len(envs) if isinstance(envs, list) else 'no'} "
                                                 f"envs, this run has {self.env.num_envs}")
        self.agent.load_state_dict(state["agent"])
        if exact:
            self.env.set_state(engine["envs"])
            self.collector.load_state_dict(engine["collector"])
        run.step, run.iteration, run.episodes = counters["step"], counters["iteration"], counters["episodes"]
        self.next_log, self.next_eval, self.next_checkpoint, self.next_video = (
            schedule["next_log"], schedule["next_eval"], schedule["next_checkpoint"], schedule["next_video"])
        self._latest_metrics = {str(k): float(v) for k, v in dict(engine.get("latest_metrics", {})).items()}
        rng = engine["rng"]
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        self.env.action_space.np_random.bit_generator.state = rng["action_space"]
        return exact

    def check_compatible(self, metadata: dict) -> None:
        """Refuse a checkpoint of another algorithm or with other spaces, in one line."""
        if metadata.get("algo") != self.config.algo:
            raise checkpoint.CheckpointError(
                f"checkpoint is for algorithm {metadata.get('algo')!r}, not {self.config.algo!r}")
        for key, space in (("observation_space", self.env.observation_space), ("action_space", self.env.action_space)):
            if metadata.get(key) != repr(space):
                raise checkpoint.CheckpointError(
                    f"checkpoint's {key.replace('_', ' ')} {metadata.get(key)} does not match {self.config.env}'s {space!r}")

    def save_checkpoint(self, run: Run, logger: MetricsLogger) -> None:
        logger.flush()
        cfg = self.config
        metadata = {
            "algo": cfg.algo, "env": cfg.env, "plugin": self.spec.plugin, "plugin_version": self.spec.version,
            "observation_space": repr(self.env.observation_space), "action_space": repr(self.env.action_space),
            "counters": {"step": run.step, "iteration": run.iteration, "episodes": run.episodes},
            "config": cfg.to_dict(),
        }
        path = checkpoint.save(run.checkpoints, f"step_{run.step:012d}", self.state_dict(run), metadata)
        checkpoint.prune(run.checkpoints, max(1, cfg.run.keep_checkpoints))
        run.save_meta()
        self.hooks.on_checkpoint(run=run, path=path)

    # ------------------------------------------------------------------ signals

    def _catch_stop_signals(self, run: Run) -> dict:
        """Ctrl-C and SIGTERM finish the current iteration, then checkpoint and stop."""
        def request_stop(signum, frame):
            if self._stop_signal is not None:  # a second Ctrl-C: stop at once
                raise StoppedAtOnce(f"a second {signal.Signals(signum).name} stopped the run at once, without its "
                                    f"stop checkpoint; its latest complete checkpoint is kept: rlforge train "
                                    f"--resume {run.path}")
            self._stop_signal = signum
            console.print(f"[yellow]{signal.Signals(signum).name}: finishing this step and writing a checkpoint...")

        previous = {}
        for signum in STOP_EXIT_CODES:
            try:
                previous[signum] = signal.signal(signum, request_stop)
            except ValueError:  # not the main thread: leave the handlers alone
                pass
        return previous

    @staticmethod
    def _restore_signals(previous: dict) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def close(self) -> None:
        self.env.close()
        if self._eval_env is not None:
            self._eval_env.close()


def publish_dataset(folder, dataset_id: str):
    """A copy of the Minari dataset `folder` under `dataset_id` in MINARI_DATASETS_PATH (an
    earlier dataset of that id is replaced whole: copied beside it, then swapped)."""
    import json
    import shutil

    from rlforge.datasets import minari_root

    target = minari_root() / dataset_id
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh, old = target.with_name(f".{target.name}.new"), target.with_name(f".{target.name}.old")
    for leftover in (fresh, old):
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.copytree(folder, fresh)
    metadata_file = fresh / "data" / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    metadata["dataset_id"] = dataset_id
    metadata_file.write_text(json.dumps(metadata))
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def _count(mapping: dict, name: str) -> int:
    """A saved counter: a whole number, not negative (bool, NaN, floats and strings refused)."""
    value = mapping[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise checkpoint.CheckpointError(f"checkpoint counter {name!r} is {value!r}, not a whole number >= 0")
    return value


def run_dataset_id(algo: str, env_id: str, seed: int) -> str:
    """A Minari id for a run's collected data: rlforge/<env>-<algo>-s<seed>-v0 (lower case)."""
    env_name = env_id.rsplit("-v", 1)[0].replace("/", "-")
    return f"rlforge/{env_name}-{algo}-s{seed}-v0".lower()


def _next_multiple(step: int, period: int) -> int:
    return (step // period + 1) * period if period else 1 << 62


def _tagged(metrics: dict) -> dict:
    """Agent metrics with a tag prefix ("losses/" unless they name their own)."""
    return {k if "/" in k else f"losses/{k}": v for k, v in metrics.items()}
