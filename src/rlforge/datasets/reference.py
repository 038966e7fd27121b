"""A dataset's reference returns and the D4RL-normalised score they define.

D4RL reports every offline result as  100 * (return - random) / (expert - random): 0 is a
uniformly random policy's mean return on the env, 100 an expert's. A dataset stores the two
reference returns in its metadata under Minari's own keys, `ref_min_score` (random) and
`ref_max_score` (expert): at the top level of an rlforge .npz's metadata, and at the top level
of a Minari dataset's metadata.json (rlforge's reader keeps Minari's keys under
`metadata["minari"]`). Both formats write them where the other finds them, so a dataset keeps
its references through `rlforge dataset create`, `save_dataset` and `save_minari`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rlforge.errors import RLForgeError

RANDOM_KEY, EXPERT_KEY = "ref_min_score", "ref_max_score"


@dataclass(frozen=True)
class ReferenceReturns:
    """The mean episode returns of a random and of an expert policy on the dataset's env."""

    random: float
    expert: float

    def __post_init__(self):
        if not (math.isfinite(self.random) and math.isfinite(self.expert)):
            raise RLForgeError(f"reference returns must be finite numbers, got random {self.random}, "
                               f"expert {self.expert}")
        if self.expert == self.random:
            raise RLForgeError(f"the expert's reference return ({self.expert}) equals the random one: "
                               "no score can be normalised by their difference")

    def normalized_score(self, episode_return: float) -> float:
        """100 * (return - random) / (expert - random)."""
        return 100.0 * (float(episode_return) - self.random) / (self.expert - self.random)


def reference_returns(metadata: dict | None) -> ReferenceReturns | None:
    """The reference returns a dataset's metadata holds (top level, else Minari's keys under
    "minari"), or None when it holds none. A half-given or malformed pair is an error: a score
    silently missing would be worse."""
    metadata = metadata or {}
    minari = metadata.get("minari") if isinstance(metadata.get("minari"), dict) else {}
    values = {key: metadata.get(key, minari.get(key)) for key in (RANDOM_KEY, EXPERT_KEY)}
    given = [key for key, value in values.items() if value is not None]
    if not given:
        return None
    if len(given) == 1:
        missing = EXPERT_KEY if given[0] == RANDOM_KEY else RANDOM_KEY
        raise RLForgeError(f"the dataset's metadata has {given[0]} but no {missing}: both reference returns "
                           "are needed for a normalised score")
    try:
        return ReferenceReturns(float(values[RANDOM_KEY]), float(values[EXPERT_KEY]))
    except (TypeError, ValueError):
        raise RLForgeError(f"the dataset's reference returns are not numbers: {RANDOM_KEY} "
                           f"{values[RANDOM_KEY]!r}, {EXPERT_KEY} {values[EXPERT_KEY]!r}") from None


def with_reference_returns(dataset, random: float, expert: float):
    """`dataset` with its reference returns set in its metadata (checked; returned for chaining)."""
    refs = ReferenceReturns(float(random), float(expert))
    dataset.metadata[RANDOM_KEY], dataset.metadata[EXPERT_KEY] = refs.random, refs.expert
    return dataset


def normalized_score(episode_return: float, random: float, expert: float) -> float:
    """100 * (return - random) / (expert - random): D4RL's normalised score."""
    return ReferenceReturns(float(random), float(expert)).normalized_score(episode_return)


# D4RL's published reference returns for its gym-MuJoCo locomotion tasks (random, expert):
# REF_MIN_SCORE and REF_MAX_SCORE in d4rl/infos.py of Farama-Foundation/D4RL (the `*-random-v0`
# entries, which its v1 and v2 datasets reuse). D4RL measured them on gym's mujoco-py envs; the
# Gymnasium versions of these three tasks (v2 to v5) keep their observations, actions and
# rewards, so the same numbers are used for every version.
D4RL_REFERENCES = {"Hopper": (-20.272305, 3234.3), "HalfCheetah": (-280.178953, 12135.0),
                   "Walker2d": (1.629008, 4592.3)}
NAMED_REFERENCES = ("d4rl",)


def d4rl_references(env_id: str) -> ReferenceReturns:
    """D4RL's reference returns for `env_id` (Hopper, HalfCheetah or Walker2d, any version)."""
    task = str(env_id).rsplit("/", 1)[-1].split("-v")[0]
    if task not in D4RL_REFERENCES:
        raise RLForgeError(f"--ref d4rl: D4RL publishes reference returns for {', '.join(D4RL_REFERENCES)} only, "
                           f"not {env_id}; give --ref-random R --ref-expert E")
    return ReferenceReturns(*D4RL_REFERENCES[task])


def check_reference_options(ref: str | None, random: float | None, expert: float | None) -> None:
    """The reference-return options make sense together: --ref NAME, or --ref-random and
    --ref-expert both, or none. One-line RLForgeError otherwise."""
    if (random is None) != (expert is None):
        given, missing = ("--ref-random", "--ref-expert") if expert is None else ("--ref-expert", "--ref-random")
        raise RLForgeError(f"{given} needs {missing} too: give both reference returns or neither")
    if ref is not None and random is not None:
        raise RLForgeError(f"give --ref {ref} or --ref-random/--ref-expert, not both")
    if ref is not None and ref not in NAMED_REFERENCES:
        raise RLForgeError(f"unknown --ref {ref!r}; known: {', '.join(NAMED_REFERENCES)}")


def references_from_options(ref: str | None, random: float | None, expert: float | None,
                            env_id: str | None) -> ReferenceReturns | None:
    """The reference returns the command-line options ask for (checked as above), or None when
    none are given; --ref NAME needs `env_id` and refuses an env it has no numbers for."""
    check_reference_options(ref, random, expert)
    if ref is not None:
        if not env_id:
            raise RLForgeError(f"--ref {ref} needs to know the env: pass --env ENV_ID")
        return d4rl_references(env_id)
    return None if random is None else ReferenceReturns(float(random), float(expert))
