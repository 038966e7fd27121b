"""What the Box-action offline agents (td3bc; cql, awac, iql on Box actions) set up and do
alike, as functions each agent calls: the data, the engine's attributes, the update loop
(one gradient step per offline step; online, one per env step collected), the normalised
score, and the state every one of them checkpoints."""

from __future__ import annotations

import torch

from rlforge.agent import Progress
from rlforge.nn import resolve_device
from rlforge.precision import precision_for_layers

from rlforge_offline.box_actor import BoxActor, BoxPolicy
from rlforge_offline.box_critic import Critics
from rlforge_offline.box_data import BoxOfflineData
from rlforge_offline.offline_data import LatestMetrics


def device_of(device) -> torch.device:
    return resolve_device(device) if isinstance(device, str) else torch.device(device)


def offline_basics(agent, algo: str, mc_returns: bool = False) -> None:
    """From agent.config and its spaces: `data` (BoxOfflineData), obs_dim and act_dim, what the
    engine reads (offline_steps, steps_per_iteration, random_steps, the matmul precision of
    the updates), the latest metrics and a gradient-step counter."""
    cfg = agent.config
    agent.data = BoxOfflineData(algo, cfg, agent.observation_space, agent.action_space, agent.num_envs, agent.device,
                                mc_returns=mc_returns)
    agent.obs_dim, agent.act_dim = agent.data.obs_dim, agent.data.act_dim
    agent.offline_steps = cfg.offline_steps
    agent.steps_per_iteration = 1
    agent.random_steps = 0
    widths = [*cfg.actor_hidden, *cfg.hidden, *getattr(cfg, "value_hidden", [])]
    agent.update_matmul_precision = precision_for_layers(cfg.batch_size, widths)
    agent.latest = LatestMetrics()
    agent.gradient_steps = 0


def stochastic_actor_and_critics(agent, actor_kind: str) -> None:
    """From agent.config: the Gaussian or tanh-Gaussian `actor`, the `policy` that acts with it
    (observations standardised with the data's statistics), and the `critics` with their
    targets (cql, awac and iql on Box actions)."""
    cfg = agent.config
    agent.actor = BoxActor(actor_kind, agent.obs_dim, agent.act_dim, cfg.actor_hidden, cfg.activation, cfg.log_std_min,
                           cfg.log_std_max).to(agent.device)
    agent.policy = BoxPolicy(agent.actor, agent.action_space, agent.data.obs_mean, agent.data.obs_std).to(agent.device)
    agent.critics = Critics(cfg.num_critics, agent.obs_dim, agent.act_dim, cfg.hidden, cfg.activation, cfg.lr, cfg.tau,
                            agent.device)


def run_updates(agent, progress: Progress) -> dict[str, float]:
    """The gradient steps due (agent.gradient_step(batch, progress) -> metric tensors), then the
    newest metrics as floats where a metric row is due (one conversion: no host sync otherwise)."""
    for _ in range(agent.data.steps_due(progress)):
        agent.latest.values = agent.gradient_step(agent.data.sample(agent.config.batch_size), progress)
        agent.gradient_steps += 1
    return agent.latest.floats() if progress.metrics_due else {}


def common_state(agent) -> dict:
    return {"data": agent.data.state_dict(), "metrics": agent.latest.state_dict(), "gradient_steps": agent.gradient_steps,
            "policy": agent.policy.state_dict()}


def load_common_state(agent, state: dict) -> None:
    agent.data.load_state_dict(state["data"])
    agent.latest.load_state_dict(state["metrics"])
    agent.gradient_steps = int(state["gradient_steps"])
    agent.policy.load_state_dict(state["policy"])
