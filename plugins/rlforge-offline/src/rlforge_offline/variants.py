"""One registered algorithm, two implementations: `cql`, `awac` and `iql` have one for discrete
actions (CS285 hw5) and one for Box actions (the D4RL papers), each with its own config class.

An AlgorithmSpec names one config class and one agent factory, whatever the env. Until the
core can pick them by the env's action space, the algorithm is registered with:

  - a config made of both (`config_for_both`): every key of either class; a key both have with
    different defaults (`hidden`, `gamma`, `batch_size`, ...) defaults to "auto", which means
    that class's default for the env's kind of actions; a key of one kind only is documented
    as such, and setting it away from its default for the other kind is refused;
  - an agent factory (`agent_for_both`) that looks at the action space, turns the combined
    config into that kind's config (`config_for_kind`, which runs its checks) and builds that
    kind's agent.

No torch or gymnasium here (`rlforge config` imports the combined classes).
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Literal

from rlforge.config import field_help, field_types

AUTO = "auto"
KINDS = ("discrete", "box")
_KIND_NAMES = {"discrete": "discrete", "box": "Box"}


def _defaults(cls) -> dict:
    return dataclasses.asdict(cls())


def _with_auto(annotation):
    """`annotation` that also accepts the string "auto"."""
    return typing.Union[annotation, Literal["auto"]]


def config_for_both(name: str, module: str, discrete: type, box: type, doc: str = "") -> type:
    """A dataclass holding every key of `discrete` and `box` (see the module's docstring)."""
    classes = {"discrete": discrete, "box": box}
    types = {kind: field_types(cls) for kind, cls in classes.items()}
    helps = {kind: field_help(cls) for kind, cls in classes.items()}
    defaults = {kind: _defaults(cls) for kind, cls in classes.items()}
    names = list(types["discrete"]) + [key for key in types["box"] if key not in types["discrete"]]
    fields, owners = [], {}
    for key in names:
        kinds = [kind for kind in KINDS if key in types[kind]]
        owners[key] = tuple(kinds)
        if len(kinds) == 1:
            kind = kinds[0]
            annotation, default = types[kind][key], defaults[kind][key]
            help_text = f"({_KIND_NAMES[kind]} actions only) {helps[kind][key]}"
        else:
            same = defaults["discrete"][key] == defaults["box"][key]
            annotation = types["discrete"][key] if same else _with_auto(types["discrete"][key])
            default = defaults["discrete"][key] if same else AUTO
            text = helps["discrete"][key] if helps["discrete"][key] == helps["box"][key] else (
                f"discrete actions: {helps['discrete'][key]}; Box actions: {helps['box'][key]}")
            help_text = text if same else (f"{text} (auto: {defaults['discrete'][key]!r} for discrete actions, "
                                            f"{defaults['box'][key]!r} for Box)")
        metadata = {"help": help_text}
        if isinstance(default, (list, dict)):
            spec = dataclasses.field(default_factory=lambda d=default: type(d)(d), metadata=metadata)
        else:
            spec = dataclasses.field(default=default, metadata=metadata)
        fields.append((key, annotation, spec))
    cls = dataclasses.make_dataclass(name, fields, namespace={"__module__": module, "__doc__": doc or None})
    cls.variants = classes  # kind -> config class
    cls.owners = owners  # key -> the kinds that have it
    return cls


def config_for_kind(config, kind: str):
    """The `kind` config class's instance for a combined config's values: "auto" becomes that
    class's default; its __post_init__ checks run (ValueError). A key only the other kind has,
    set away from its default, is refused."""
    cls = type(config).variants[kind]
    own_defaults = _defaults(cls)
    combined_defaults = {f.name: _field_default(f) for f in dataclasses.fields(config)}
    values = {}
    for key, kinds in type(config).owners.items():
        value = getattr(config, key)
        if kind not in kinds:
            if value != combined_defaults[key]:
                other = _KIND_NAMES[kinds[0]]
                raise ValueError(f"{key} applies to {other} actions only; this env's actions are "
                                 f"{_KIND_NAMES[kind]} (leave it out)")
            continue
        values[key] = own_defaults[key] if isinstance(value, str) and value == AUTO else value
    return cls(**values)


def _field_default(item: dataclasses.Field):
    if item.default is not dataclasses.MISSING:
        return item.default
    return item.default_factory()


def agent_for_both(discrete: str, box: str):
    """An agent factory (an AlgorithmSpec's `agent`) that builds the discrete or the Box agent
    (import strings) for the action space, from a combined config."""

    def build(config, observation_space, action_space, num_envs: int = 1, device="cpu", env_id: str | None = None):
        from rlforge.envs import space_kind
        from rlforge.errors import RLForgeError
        from rlforge.registry import load

        kind = space_kind(action_space)
        if kind not in KINDS:
            raise RLForgeError(f"no implementation for {kind} action spaces (discrete and Box only)")
        agent_class = load(discrete if kind == "discrete" else box)
        own = config_for_kind(config, kind) if hasattr(type(config), "variants") else config
        agent = agent_class(own, observation_space, action_space, num_envs=num_envs, device=device, env_id=env_id)
        return agent

    return build
