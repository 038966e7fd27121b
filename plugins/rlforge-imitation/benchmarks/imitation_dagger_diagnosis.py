"""Controlled DAgger runs (issue 20): the real DAggerAgent in a short loop, one knob per hypothesis.

Reads the course's files from /work/shared/cs285 (or the shipped expert with --shipped); prints
one JSON line: the evaluation after each iteration (10 deterministic episodes, seeds 10,000+).
--relabel clipped is the labelling before the fix (raw: the expert's unclipped action).

python plugins/rlforge-imitation/benchmarks/imitation_dagger_diagnosis.py --env Hopper --seed 1 [--collect mean|sample:0.1] [--relabel clipped|raw]
   [--data raw|clip] [--opt continue|reset] [--steps 1000] [--norm fixed|none] [--snap 0]
"""
import argparse, json, sys, time
import numpy as np, torch, gymnasium as gym

torch.set_num_threads(1)
from rlforge_imitation.agent import DAggerAgent
from rlforge_imitation.config import DAggerConfig
from rlforge.nn import make_adam

p = argparse.ArgumentParser()
p.add_argument("--env", default="Hopper")
p.add_argument("--seed", type=int, default=1)
p.add_argument("--collect", default="mean")
p.add_argument("--relabel", default="clipped")
p.add_argument("--data", default="raw")
p.add_argument("--opt", default="continue")
p.add_argument("--steps", type=int, default=1000)
p.add_argument("--lr", type=float, default=5e-3)
p.add_argument("--batch", type=int, default=100)
p.add_argument("--norm", default="fixed")
p.add_argument("--iters", type=int, default=10)
p.add_argument("--episodes", type=int, default=10)
p.add_argument("--snap", type=int, default=0, help="also evaluate every N steps in the last 200 of each iteration")
p.add_argument("--shipped", action="store_true")
p.add_argument("--tag", default="")
p.add_argument("--evalnoise", type=int, default=0, help="also evaluate each iteration's policy on N more disjoint sets of episodes")
a = p.parse_args()

env_id = f"{a.env}-v4"
if a.shipped:
    ds, ex = env_id, env_id
else:
    ds = f"/work/shared/cs285/expert_data_{env_id}.pkl"
    ex = f"/work/shared/cs285/{a.env}.pkl"
torch.manual_seed(a.seed)
np.random.seed(a.seed)
env = gym.make(env_id)
eval_env = gym.make(env_id)  # its own env: evaluation must not disturb collection
cfg = DAggerConfig(dataset=ds, expert=ex, lr=a.lr, train_steps=a.steps, normalize_obs=a.norm != "none",
                   train_batch_size=a.batch)
agent = DAggerAgent(cfg, env.observation_space, env.action_space)
low, high = env.action_space.low, env.action_space.high
if a.data == "clip":
    agent.data_actions = np.clip(agent.data_actions, low, high)
if a.relabel == "raw":
    agent.expert_actions = lambda obs: np.asarray(agent.expert.mean_action(obs), dtype=np.float32).reshape(len(obs), -1)


def evaluate(n=a.episodes, seed=10_000):
    rets = []
    for k in range(n):
        o, _ = eval_env.reset(seed=seed + k)
        done, R = False, 0.0
        while not done:
            o, r, term, trunc, _ = eval_env.step(agent.policy.act(o[None], deterministic=True)[0])
            R += r
            done = term or trunc
        rets.append(R)
    return float(np.mean(rets))


collect_rng = np.random.default_rng(a.seed + 123)
obs_state = {"o": env.reset(seed=a.seed)[0]}


def collect(n):
    obs = []
    o = obs_state["o"]
    for _ in range(n):
        act = agent.policy.act(o[None], deterministic=True)[0]
        if a.collect.startswith("sample"):
            act = np.clip(act + float(a.collect.split(":")[1]) * collect_rng.standard_normal(act.shape), low, high)
        obs.append(o)
        o, r, term, trunc, _ = env.step(act)
        if term or trunc:
            o, _ = env.reset()
    obs_state["o"] = o
    return np.asarray(obs, dtype=np.float32)


def train(steps):
    if a.snap:
        out = []
        agent.train(steps - 200)
        for _ in range(200 // a.snap):
            agent.train(a.snap)
            out.append(round(evaluate(), 0))
        return out
    agent.train(steps)
    return None


curve, snaps = [], []
t0 = time.time()
for it in range(a.iters):
    if it > 0:
        obs = collect(1000)
        agent.add(obs, agent.expert_actions(obs))
        if a.opt == "reset":
            agent.optimizer = make_adam([p for n, p in agent.policy.named_parameters() if n != "log_std"], a.lr)
    steps = a.steps
    if a.opt.startswith("prop"):
        steps = int(a.steps * len(agent.training_data()[0]) / len(agent.data_obs))
    snaps.append(train(steps))
    curve.append(round(evaluate(), 1))
    if a.evalnoise:
        snaps.append([round(evaluate(seed=20_000 + 100 * k), 0) for k in range(a.evalnoise)])
print(json.dumps({"args": vars(a), "curve": curve, "snaps": snaps if (a.snap or a.evalnoise) else None,
                  "seconds": round(time.time() - t0)}))
