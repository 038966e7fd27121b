"""Several datasets of one env as one: D4RL's medium-expert is medium followed by expert.

The parts must come from the same env (where they say) and have the same observation and
action spaces; their rows are laid one part after another, each part's unfinished last
episode marked truncated where it ends, so no episode runs from one part into the next. The
result's recipe lists its sources (name, id, size, and each one's own recipe and command).
Reference returns the parts agree on are kept; parts that disagree (or where only some hold
them) need the caller's.
"""

from __future__ import annotations

import numpy as np

from rlforge.datasets.dataset import FIELDS, Dataset
from rlforge.datasets.reference import EXPERT_KEY, RANDOM_KEY, ReferenceReturns, reference_returns
from rlforge.datasets.spaces import space_to_json
from rlforge.errors import RLForgeError

SOURCE_KEYS = ("dataset_id", "env", "recipe")
# where a source has no recipe, what it says of its origin
ORIGIN_KEYS = ("algorithm_name", "policy", "seed", "action_noise", "command", "training_command", "checkpoint", "step")


def check_same_spaces(parts: list[tuple[str, str | None, object, object]]) -> None:
    """`parts`: (name, env id or None, observation space, action space) of each dataset. One
    line naming the first part that differs from the first one otherwise."""
    first_name, first_env, *first_spaces = parts[0]
    for name, env_id, *part_spaces in parts[1:]:
        if first_env and env_id and env_id != first_env:
            raise RLForgeError(f"cannot concatenate {first_name!r} ({first_env}) and {name!r} ({env_id}): "
                               "they come from different envs")
        for kind, mine, theirs in zip(("observation", "action"), first_spaces, part_spaces):
            if space_to_json(mine) != space_to_json(theirs):
                raise RLForgeError(f"cannot concatenate {first_name!r} and {name!r}: their {kind} spaces differ "
                                   f"({mine} and {theirs})")


def concatenate(parts: list[tuple[str, Dataset]], env_id: str | None,
                references: ReferenceReturns | None = None) -> Dataset:
    """The parts' rows one after another, with a recipe naming them (see the module docstring)."""
    arrays = {key: np.concatenate([getattr(data, key) for _, data in parts]) for key in FIELDS}
    offset = 0
    for _, data in parts:
        offset += len(data)
        if not (arrays["terminated"][offset - 1] or arrays["truncated"][offset - 1]):
            arrays["truncated"][offset - 1] = True  # the part's data ends inside this episode
    sources = [_source(name, data) for name, data in parts]
    metadata = {"env": env_id, "recipe": {"concatenate": sources}}
    for key in ("observation_space", "action_space"):
        if parts[0][1].metadata.get(key):
            metadata[key] = parts[0][1].metadata[key]
    refs = references if references is not None else _agreed_references(parts)
    if refs is not None:
        metadata[RANDOM_KEY], metadata[EXPERT_KEY] = refs.random, refs.expert
    return Dataset(**arrays, metadata=metadata)


def _source(name: str, data: Dataset) -> dict:
    meta = data.metadata
    source = {"source": name, "transitions": len(data), "episodes": len(data.episode_bounds())}
    keys = SOURCE_KEYS if meta.get("recipe") is not None else SOURCE_KEYS + ORIGIN_KEYS
    source.update({key: meta[key] for key in keys if meta.get(key) is not None})
    return source


def _agreed_references(parts: list[tuple[str, Dataset]]) -> ReferenceReturns | None:
    found = [(name, reference_returns(data.metadata)) for name, data in parts]
    values = {refs for _, refs in found}
    if len(values) > 1:
        listed = "; ".join(f"{name}: " + ("none" if refs is None else f"random {refs.random:g}, expert {refs.expert:g}")
                           for name, refs in found)
        raise RLForgeError(f"the sources' reference returns differ ({listed}); give the mix its own with "
                           "--ref-random R --ref-expert E (or --ref d4rl)")
    return values.pop()
