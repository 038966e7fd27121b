"""Check `config_defaults`: the config is a dataclass whose defaults build, have readable
types, do not collide with engine keys and resolve for each env the kit trains on; every
preset the package ships is valid."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rlforge.errors import RLForgeError
from rlforge.testing.outcomes import CheckFailed, describe


def check_config_defaults(kit) -> None:
    from rlforge import config as cfgmod

    spec = kit.spec
    try:
        cls = spec.config_class()
    except Exception as exc:
        raise CheckFailed(f"cannot import the config class {spec.config!r}: {describe(exc)}") from None
    if not dataclasses.is_dataclass(cls):
        raise CheckFailed(f"the config class {spec.config!r} is not a dataclass")
    try:
        defaults = cls()
    except Exception as exc:
        raise CheckFailed(f"{cls.__name__}() fails: {describe(exc)}; every key needs a valid default") from None
    try:
        cfgmod.check_no_collisions(cls)
        cfgmod.coerce_layers(cls, [(f"{cls.__name__} defaults", dataclasses.asdict(defaults))])
    except RLForgeError as exc:
        raise CheckFailed(str(exc)) from None
    for env_id in kit.envs:
        try:
            cfgmod.resolve(spec, env_id, None, {})
        except RLForgeError as exc:
            raise CheckFailed(f"resolving the config for {env_id} fails: {exc}") from None
    if spec.presets:
        _check_shipped_presets(spec.presets, cls)


def _check_shipped_presets(presets: str, config_class) -> None:
    """Every <env>.yaml in the "package:folder" of presets gives valid values."""
    from importlib import resources

    from rlforge import config as cfgmod

    package, _, folder = presets.partition(":")
    try:
        preset_dir = Path(str(resources.files(package) / folder))
    except ModuleNotFoundError:
        raise CheckFailed(f"the presets package of {presets!r} does not exist") from None
    if not preset_dir.is_dir():
        raise CheckFailed(f"the presets folder {presets!r} does not exist ({preset_dir})")
    for preset in sorted(preset_dir.glob("*.yaml")):
        try:
            values = {k: v for k, v in cfgmod.read_yaml(preset).items() if k not in ("algo", "env")}
            cfgmod.coerce_layers(config_class, [(f"preset {preset.name}", values)])
        except RLForgeError as exc:
            raise CheckFailed(f"shipped preset {preset.name}: {exc}") from None
