"""Expert policies: what DAgger relabels with and what `rlforge collect` records.

An expert is named by one of:
  - a shipped expert's name (an env id such as HalfCheetah-v4; `rlforge expert list`),
  - an rlforge expert file: NAME.json (the network, where it came from, its measured return)
    beside NAME.safetensors (the weights); either file, or NAME without a suffix, names it,
  - an rlforge run directory or checkpoint folder (any algorithm: its policy acts),
  - a CS285 homework expert pickle (.pkl), read with the restricted unpickler.

Every expert acts deterministically (the mean action). An `ExpertPolicy` (expert files and
CS285 pickles) standardises observations, zero-pads or truncates them to the size its
network expects (CS285's Ant expert expects 111 values, Ant-v4 gives 27), runs an MLP and
optionally squashes with tanh into the action bounds.
"""

from __future__ import annotations

import json
import random
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rlforge.agent import Policy
from rlforge.batch_renorm import BatchRenorm, evaluation_affine
from rlforge.errors import RLForgeError
from rlforge.nn import ACTIVATIONS
from rlforge.nn import activation as activation_class

EXPERT_FORMAT = "rlforge-expert"
EXPORTABLE_ALGOS = ("sac", "bc-sac", "crossq")  # their actor is rlforge-sac's SACPolicy
CS285_ACTIVATIONS = {"tanh": "tanh", "lrelu": "leaky_relu"}  # leaky_relu: slope 0.01, as CS285's lrelu


def shipped_dir() -> Path:
    return Path(str(resources.files("rlforge_imitation") / "experts"))


def shipped_experts() -> list[str]:
    return sorted(p.stem for p in shipped_dir().glob("*.json"))


class ExpertPolicy(Policy):
    """obs -> pad/truncate -> (obs - mean) / std -> MLP -> [tanh -> scale, bias] -> clip."""

    def __init__(self, in_dim: int, act_dim: int, hidden: list[int], activation: str, squash: str = "none",
                 action_low=None, action_high=None):
        super().__init__()
        if squash not in ("none", "tanh"):
            raise ValueError(f"unknown squash {squash!r}")
        self.in_dim, self.act_dim, self.hidden, self.activation, self.squash = in_dim, act_dim, list(hidden), activation, squash
        widths = [in_dim, *hidden]
        self.hidden_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.nonlinearity = activation_class(activation)()
        self.out = nn.Linear(widths[-1], act_dim)
        self.register_buffer("obs_mean", torch.zeros(in_dim))
        self.register_buffer("obs_std", torch.ones(in_dim))
        low = np.full(act_dim, -np.inf) if action_low is None else np.asarray(action_low, dtype=np.float64).reshape(-1)
        high = np.full(act_dim, np.inf) if action_high is None else np.asarray(action_high, dtype=np.float64).reshape(-1)
        self.register_buffer("action_low", torch.as_tensor(low, dtype=torch.float32), persistent=False)
        self.register_buffer("action_high", torch.as_tensor(high, dtype=torch.float32), persistent=False)
        finite = np.isfinite(low) & np.isfinite(high)  # tanh's map onto the bounds, computed once, not per act
        low0, high0 = np.where(finite, low, 0.0), np.where(finite, high, 0.0)
        scale, bias = np.where(finite, (high0 - low0) / 2, 1.0), (high0 + low0) / 2
        self.register_buffer("squash_scale", torch.as_tensor(scale, dtype=torch.float32), persistent=False)
        self.register_buffer("squash_bias", torch.as_tensor(bias, dtype=torch.float32), persistent=False)

    def fit_obs(self, obs: np.ndarray) -> np.ndarray:
        """Observations [n, d] zero-padded or truncated to the network's input size."""
        obs = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)
        d = obs.shape[1]
        if d == self.in_dim:
            return obs
        if d > self.in_dim:
            return obs[:, :self.in_dim]
        return np.concatenate([obs, np.zeros((len(obs), self.in_dim - d), dtype=np.float32)], axis=1)

    def mean_action(self, obs: np.ndarray) -> np.ndarray:
        """The network's action before clipping to the bounds, [n, act_dim]."""
        with torch.inference_mode():
            return self._mean(obs).cpu().numpy()

    def _mean(self, obs: np.ndarray) -> torch.Tensor:
        x = torch.as_tensor(self.fit_obs(obs), device=self.obs_mean.device)
        x = (x - self.obs_mean) / self.obs_std
        for layer in self.hidden_layers:
            x = self.nonlinearity(layer(x))
        x = self.out(x)
        if self.squash == "tanh":
            x = torch.tanh(x) * self.squash_scale + self.squash_bias
        return x

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """The mean action clipped to the action bounds (an expert always acts deterministically)."""
        with torch.inference_mode():
            return torch.clamp(self._mean(obs), self.action_low, self.action_high).cpu().numpy()

    def describe(self) -> dict:
        return {"in_dim": self.in_dim, "act_dim": self.act_dim, "hidden": self.hidden, "activation": self.activation,
                "squash": self.squash, "action_low": _json_floats(self.action_low),
                "action_high": _json_floats(self.action_high)}


def _json_floats(tensor) -> list:
    return [None if not np.isfinite(v) else float(v) for v in tensor.cpu().numpy().tolist()]


def _floats_from_json(values) -> np.ndarray | None:
    if values is None:
        return None
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


# ----------------------------------------------------------------------------- CS285 pickles


def from_cs285(data: dict, action_space=None, where: str = "the pickle") -> ExpertPolicy:
    """An ExpertPolicy from a loaded CS285 expert pickle (nested dicts of arrays)."""
    try:
        nonlin = data["nonlin_type"]
        policy = data["GaussianPolicy"]
        norm = policy["obsnorm"]["Standardizer"]
        mean = np.asarray(norm["mean_1_D"], dtype=np.float64).reshape(-1)
        meansq = np.asarray(norm["meansq_1_D"], dtype=np.float64).reshape(-1)
        hidden = policy["hidden"]["FeedforwardNet"]
        names = sorted(hidden, key=lambda n: (0, int(n.split("_")[1])) if n.split("_")[-1].isdigit() else (1, str(n)))
        layers = [(np.asarray(hidden[n]["AffineLayer"]["W"], dtype=np.float64),
                   np.asarray(hidden[n]["AffineLayer"]["b"], dtype=np.float64)) for n in names]
        out = policy["out"]["AffineLayer"]
        out_w, out_b = np.asarray(out["W"], dtype=np.float64), np.asarray(out["b"], dtype=np.float64)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise RLForgeError(f"{where} is not a CS285 expert policy (missing or malformed {exc})") from None
    if not isinstance(nonlin, str) or nonlin not in CS285_ACTIVATIONS:
        raise RLForgeError(f"{where}: unknown nonlin_type {nonlin!r} (CS285 experts use tanh or lrelu)")
    _check_cs285_layers(mean, meansq, layers + [(out_w, out_b)], where)
    in_dim, act_dim = mean.size, out_w.shape[1]
    low = high = None
    if action_space is not None:
        if int(np.prod(action_space.shape)) != act_dim:
            raise RLForgeError(f"{where} gives {act_dim} actions; the env's action space is {action_space}")
        low, high = action_space.low, action_space.high
    expert = ExpertPolicy(in_dim, act_dim, [w.shape[1] for w, _ in layers], CS285_ACTIVATIONS[nonlin], "none", low, high)
    with torch.no_grad():
        std = np.sqrt(np.maximum(0.0, meansq - mean ** 2)) + 1e-6
        expert.obs_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        expert.obs_std.copy_(torch.as_tensor(std, dtype=torch.float32))
        for layer, (w, b) in zip([*expert.hidden_layers, expert.out], [*layers, (out_w, out_b)]):
            layer.weight.copy_(torch.as_tensor(w.T, dtype=torch.float32))
            layer.bias.copy_(torch.as_tensor(np.asarray(b).reshape(-1), dtype=torch.float32))
    return expert.eval()


def _check_cs285_layers(mean, meansq, layers, where: str) -> None:
    """Shapes that chain (each W is [in, out], b has `out` values), finite values, and a network
    that fits in memory, before anything is allocated for it."""
    from rlforge.resources import check_fits

    width = mean.size
    if width == 0 or meansq.size != width:
        raise RLForgeError(f"{where}: the observation standardizer has {width} means and {meansq.size} mean squares")
    for w, b in layers:
        if w.ndim != 2 or w.shape[0] != width or b.size != w.shape[1] or w.shape[1] == 0:
            raise RLForgeError(f"{where}: a layer of shape {w.shape} (bias {b.shape}) does not follow one of width {width}")
        width = w.shape[1]
    check_fits(4.0 * sum(w.size + b.size for w, b in layers), f"{where}'s network")
    if not all(np.all(np.isfinite(a)) for pair in [(mean, meansq), *layers] for a in pair):
        raise RLForgeError(f"{where}: the network holds NaN or infinite values")


def load_cs285(path, action_space=None) -> ExpertPolicy:
    from rlforge.safe_pickle import safe_load

    data = safe_load(path)
    if not isinstance(data, dict):
        raise RLForgeError(f"{path} is not a CS285 expert policy (a {type(data).__name__}, not a dict)")
    return from_cs285(data, action_space, str(path))


# ----------------------------------------------------------------------------- rlforge expert files


def save_expert(expert: ExpertPolicy, path, info: dict) -> tuple[Path, Path]:
    """Write NAME.json and NAME.safetensors for `path` (either suffix, or none)."""
    from safetensors.torch import save

    stem = _stem(Path(path))
    stem.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in expert.state_dict().items()}
    stem.with_suffix(".safetensors").write_bytes(save(tensors))  # save_file would make it 0600, not shareable
    description = {"format": EXPERT_FORMAT, "version": 1, "network": expert.describe(), **info}
    stem.with_suffix(".json").write_text(json.dumps(description, indent=2) + "\n")
    return stem.with_suffix(".json"), stem.with_suffix(".safetensors")


def load_expert_file(path, action_space=None) -> ExpertPolicy:
    from safetensors.torch import load_file

    from rlforge.safe_files import load_json

    stem = _stem(Path(path))
    description = load_json(stem.with_suffix(".json"), "expert description", limit=1 << 20)
    if not isinstance(description, dict) or description.get("format") != EXPERT_FORMAT:
        found = description.get("format") if isinstance(description, dict) else type(description).__name__
        raise RLForgeError(f"{stem.with_suffix('.json')} is not an rlforge expert file (format {found!r})")
    net = _network_description(description.get("network"), stem.with_suffix(".json"))
    low, high = _floats_from_json(net.get("action_low")), _floats_from_json(net.get("action_high"))
    if action_space is not None:
        if int(np.prod(action_space.shape)) != net["act_dim"]:
            raise RLForgeError(f"expert {stem} gives {net['act_dim']} actions; the env's action space is {action_space}")
        low, high = action_space.low, action_space.high
    low = None if low is None else np.where(np.isnan(low), -np.inf, low)
    high = None if high is None else np.where(np.isnan(high), np.inf, high)
    expert = ExpertPolicy(net["in_dim"], net["act_dim"], net["hidden"], net["activation"], net["squash"], low, high)
    if not stem.with_suffix(".safetensors").is_file():  # also refuses a FIFO, which would block the read
        raise RLForgeError(f"expert weights {str(stem.with_suffix('.safetensors'))!r} are missing or not a regular file")
    try:
        expert.load_state_dict(load_file(str(stem.with_suffix(".safetensors"))))
    except Exception as exc:  # OSError, RuntimeError (shapes), safetensors' own errors
        raise RLForgeError(f"cannot load expert weights {str(stem.with_suffix('.safetensors'))!r}: "
                           f"{str(exc).splitlines()[0]}") from None
    if not all(torch.isfinite(t).all() for t in expert.state_dict().values()):
        raise RLForgeError(f"expert weights {str(stem.with_suffix('.safetensors'))!r} hold NaN or infinite values")
    expert.info = description
    return expert.eval()


def _network_description(net, where) -> dict:
    """The "network" entry of an expert description, its sizes and names checked."""
    from rlforge.resources import check_fits

    def positive_int(value):
        return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 1 << 24

    if not isinstance(net, dict):
        raise RLForgeError(f"{where}: no \"network\" description")
    hidden = net.get("hidden")
    if not (positive_int(net.get("in_dim")) and positive_int(net.get("act_dim")) and isinstance(hidden, list)
            and len(hidden) <= 64 and all(positive_int(h) for h in hidden)):
        raise RLForgeError(f"{where}: the network's in_dim, act_dim and hidden must be positive sizes")
    if not isinstance(net.get("activation"), str) or net["activation"] not in ACTIVATIONS \
            or net.get("squash") not in ("none", "tanh"):
        raise RLForgeError(f"{where}: unknown activation {net.get('activation')!r} or squash {net.get('squash')!r}")
    for key in ("action_low", "action_high"):
        bounds = net.get(key)
        if bounds is not None and not (isinstance(bounds, list) and len(bounds) == net["act_dim"] and all(
                v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in bounds)):
            raise RLForgeError(f"{where}: {key} must be {net['act_dim']} numbers (null for unbounded)")
    widths = [net["in_dim"], *hidden, net["act_dim"]]
    check_fits(4.0 * sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:])), f"{where}'s network")
    return net


def expert_files(path) -> tuple[Path, Path]:
    """The two files of the expert file `path` (either suffix, or none): NAME.json, NAME.safetensors."""
    stem = _stem(Path(path))
    return stem.with_suffix(".json"), stem.with_suffix(".safetensors")


def _stem(path: Path) -> Path:
    return path.with_suffix("") if path.suffix in (".json", ".safetensors") else path


# ----------------------------------------------------------------------------- from an rlforge run


def load_run_policy(path):
    """(policy, metadata) of the latest checkpoint of a run directory, or of a checkpoint folder.
    The process's global RNG states and torch thread count are left as they were."""
    from rlforge.training import load_checkpoint_engine

    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    threads = torch.get_num_threads()
    try:
        engine, folder, metadata = load_checkpoint_engine(str(path), {"device": "cpu"})
        engine.close()
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
        torch.set_num_threads(threads)
    policy = engine.agent.policy.eval()
    for p in policy.parameters():
        p.requires_grad_(False)
    return policy, {**metadata, "checkpoint": str(folder)}


def export_sac_actor(policy, obs_dim: int) -> ExpertPolicy:
    """The deterministic part of a SAC-family actor (the rlforge-sac SACPolicy of `sac`,
    `bc-sac` and `crossq`: an MLP giving the mean and log-std of a tanh-squashed Gaussian) as
    an ExpertPolicy: the mean rows of the output layer, tanh, the action bounds. CrossQ's batch
    renormalisation layers are fixed per-feature affine maps once training is over, so each is
    folded into the Linear layer after it: the exported MLP computes the same function."""
    normalizers = [m for m in policy.net if type(m).__name__ == "ObsNormalizer"]  # bc-sac's normalize_obs
    if len(normalizers) > 1 or (normalizers and policy.net[0] is not normalizers[0]):
        raise RLForgeError("cannot export this policy: expected at most one observation normalizer, in front")
    linears = _folded_linears(policy.net)
    activations = {type(m) for m in policy.net
                   if not isinstance(m, (nn.Linear, BatchRenorm)) and m not in normalizers}
    names = [name for name, cls in ACTIVATIONS.items() if cls in activations]
    if len(names) != 1:
        raise RLForgeError("cannot export this policy: expected an MLP with one kind of activation")
    act_dim = int(np.prod(policy.action_shape))
    low, high = policy.action_low.cpu().numpy(), policy.action_high.cpu().numpy()
    expert = ExpertPolicy(obs_dim, act_dim, [weight.shape[0] for weight, _ in linears[:-1]], names[0], "tanh", low, high)
    with torch.no_grad():
        for target, (weight, bias) in zip(expert.hidden_layers, linears[:-1]):
            target.weight.copy_(weight)
            target.bias.copy_(bias)
        weight, bias = linears[-1]
        expert.out.weight.copy_(weight[:act_dim])
        expert.out.bias.copy_(bias[:act_dim])
        if normalizers:
            expert.obs_mean.copy_(normalizers[0].mean)
            expert.obs_std.copy_(normalizers[0].std)
    return expert.eval()


def _folded_linears(modules) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(weight, bias) of each Linear layer in `modules`, with the batch renormalisation layers
    right before it folded in: Linear(x * scale + shift) = (W * scale) x + (W shift + b)."""
    folded, pending = [], None  # pending: the (scale, shift) of the renorm layers not yet folded
    with torch.no_grad():
        for module in modules:
            if isinstance(module, BatchRenorm):
                scale, shift = evaluation_affine(module)
                pending = (scale, shift) if pending is None else (pending[0] * scale, pending[1] * scale + shift)
            elif isinstance(module, nn.Linear):
                weight, bias = module.weight, module.bias
                if pending is not None:
                    weight, bias = weight * pending[0], bias + weight @ pending[1]
                    pending = None
                folded.append((weight, bias))
            elif pending is not None:
                raise RLForgeError("cannot export this policy: a batch renormalisation layer is not followed by a "
                                   "Linear layer")
    if pending is not None or not folded:
        raise RLForgeError("cannot export this policy: expected an MLP ending in a Linear layer")
    return folded


# ----------------------------------------------------------------------------- any expert


def load_expert(name: str, observation_space=None, action_space=None):
    """The expert named by `name` (see the module docstring) as a Policy acting deterministically."""
    if not name:
        raise RLForgeError("no expert given: set expert=PATH (an rlforge run or checkpoint, an rlforge expert file, "
                           f"a CS285 .pkl) or a shipped expert ({', '.join(shipped_experts())})")
    if (shipped_dir() / f"{name}.json").is_file() and not Path(name).exists():
        return load_expert_file(shipped_dir() / name, action_space)
    path = Path(name).expanduser()
    if path.suffix in (".pkl", ".pickle"):
        if not path.is_file():
            raise RLForgeError(f"expert file {str(path)!r} does not exist")
        return load_cs285(path, action_space)
    if path.is_dir():
        policy, metadata = load_run_policy(path)
        if observation_space is not None and action_space is not None:
            probe = np.zeros((1, *observation_space.shape), dtype=np.float32)
            if metadata.get("observation_space") != repr(observation_space) or \
                    np.asarray(policy.act(probe, deterministic=True)).shape[1:] != tuple(action_space.shape):
                raise RLForgeError(f"expert run {str(path)!r} was trained on {metadata.get('env')} "
                                   f"({metadata.get('observation_space')}, {metadata.get('action_space')}); "
                                   f"it does not fit {observation_space} and {action_space}")
        return policy
    if _stem(path).with_suffix(".json").is_file():
        return load_expert_file(path, action_space)
    raise RLForgeError(f"expert {name!r} is neither a shipped expert ({', '.join(shipped_experts())}), an rlforge "
                       "expert file (NAME.json + NAME.safetensors), a run or checkpoint folder, nor a CS285 .pkl")
