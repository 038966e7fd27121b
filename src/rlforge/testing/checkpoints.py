"""Check `checkpoint_round_trip[ENV]`: `state_dict()` survives rlforge.checkpoint save and load
unchanged and holds every torch optimiser's state; a freshly built agent given it has an equal
`state_dict()`, restored optimiser moments and the same deterministic actions; one more
`observe` + `update` on both gives identical results."""

from __future__ import annotations

import traceback

from rlforge.testing.context import TrainedRun, slug
from rlforge.testing.outcomes import CheckFailed, describe

MISSING_STATE = "(is some state, e.g. an RNG, missing from state_dict()?)"


def check_checkpoint_round_trip(kit, trained: TrainedRun) -> None:
    import numpy as np

    from rlforge.engine import seed_everything
    from rlforge.testing.state import diff_states, snapshot

    engine, agent = trained.engine, trained.engine.agent
    obs = kit.observations(trained)
    saved = snapshot(agent.state_dict())
    loaded = _save_and_load(kit, trained)
    lost = diff_states(saved, loaded)
    if lost:
        raise CheckFailed(f"state_dict() changes in a checkpoint save/load: {'; '.join(lost)}")
    _check_optimizers_saved(agent, saved)

    seed_everything(kit.seed + 1)  # a fresh agent with other initial weights
    fresh = kit.spec.build_agent(agent.config, engine.env.observation_space, engine.env.action_space,
                                 num_envs=agent.num_envs, device=str(engine.device), env_id=engine.config.env)
    try:
        fresh.load_state_dict(loaded)
    except Exception as exc:
        raise CheckFailed(f"load_state_dict() of a saved checkpoint fails: {describe(exc)}",
                          traceback.format_exc()) from None
    _check_optimizers_restored(agent, fresh)
    reloaded = diff_states(saved, snapshot(fresh.state_dict()))
    if reloaded:
        raise CheckFailed(f"after load_state_dict(), state_dict() differs: {'; '.join(reloaded)}")
    if not np.array_equal(agent.policy.act(obs, deterministic=True), fresh.policy.act(obs, deterministic=True)):
        raise CheckFailed("the reloaded agent's deterministic actions differ from the original's")
    _check_next_update_matches(kit, trained, fresh)


def _save_and_load(kit, trained: TrainedRun) -> dict:
    from rlforge import checkpoint

    try:
        path = checkpoint.save(kit.workdir / "checkpoints" / slug(trained.env_id), "round_trip",
                               trained.engine.agent.state_dict(), {"algo": kit.algo, "env": trained.env_id})
        loaded, _ = checkpoint.load(path)
    except Exception as exc:
        raise CheckFailed(f"state_dict() cannot be saved by rlforge.checkpoint: {describe(exc)}",
                          traceback.format_exc()) from None
    return loaded


def _check_optimizers_saved(agent, saved: dict) -> None:
    """Every moment of every optimiser the agent holds is among the saved tensors."""
    from rlforge.testing.state import as_cpu_tensor, diff_states, find_optimizers, leaves, optimizer_moments

    by_shape = {}
    for _, leaf in leaves(saved):
        by_shape.setdefault(tuple(leaf.shape), []).append(leaf)
    for name, optimizer in find_optimizers(agent).items():
        for key, tensor in optimizer_moments(optimizer):
            candidates = by_shape.get(tuple(tensor.shape), [])
            if not any(diff_states(tensor.detach().cpu(), as_cpu_tensor(c), limit=1) == [] for c in candidates):
                raise CheckFailed(f"state_dict() leaves out the state of optimiser agent.{name} ({key} is not among "
                                  "the saved tensors); a resumed run would restart it from zero")


def _check_optimizers_restored(agent, fresh) -> None:
    from rlforge.testing.state import diff_states, find_optimizers, optimizer_moments

    fresh_optimizers = find_optimizers(fresh)
    for name, optimizer in find_optimizers(agent).items():
        mine = optimizer_moments(optimizer)
        theirs = optimizer_moments(fresh_optimizers[name]) if name in fresh_optimizers else []
        if mine and not theirs:
            raise CheckFailed(f"load_state_dict() does not restore optimiser agent.{name} (its state is empty after "
                              "loading); a resumed run would restart it from zero")
        for (key, a), (_, b) in zip(mine, theirs):
            if diff_states(a.detach().cpu(), b.detach().cpu(), limit=1):
                raise CheckFailed(f"load_state_dict() does not restore optimiser agent.{name}: its {key} differs")


def _check_next_update_matches(kit, trained: TrainedRun, fresh) -> None:
    """One more iteration on both: a resumed run must continue exactly as the original would."""
    from rlforge.agent import Progress
    from rlforge.engine import seed_everything
    from rlforge.testing.state import diff_states, snapshot

    engine, run, agent = trained.engine, trained.run, trained.engine.agent
    batch = engine.collector.collect(lambda o: agent.policy.act(o), agent.steps_per_iteration)
    progress = Progress(run.step + len(batch), engine.config.run.total_steps + len(batch), run.iteration + 1)
    metrics = []
    for who in (agent, fresh):
        seed_everything(kit.seed + 2)
        try:
            who.observe(batch.copy())
            metrics.append(who.update(progress) or {})
        except Exception as exc:
            raise CheckFailed(f"{'the reloaded' if who is fresh else 'the trained'} agent's update() after the round "
                              f"trip fails: {describe(exc)}", traceback.format_exc()) from None
    diverged = diff_states(snapshot(agent.state_dict()), snapshot(fresh.state_dict()), tolerance=1e-6)
    diverged += diff_states(metrics[0], metrics[1], "metrics", tolerance=1e-6)
    if diverged:
        raise CheckFailed("one more update after the round trip gives a different result than on the original "
                          f"agent: {'; '.join(diverged[:3])} {MISSING_STATE}")
