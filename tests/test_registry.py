import pytest

from rlforge.errors import PluginError, RLForgeError
from rlforge.registry import AlgorithmSpec, EnvSpec, Registry, load


def spec(name="alpha", plugin="dist-a", spaces=("box",)):
    return AlgorithmSpec(name=name, summary="s", action_spaces=spaces, config="m:C", agent="m:A", plugin=plugin)


def test_lookup_returns_the_registered_spec():
    registry = Registry()
    registry.add_algorithm(spec())
    assert registry.algorithm("alpha").plugin == "dist-a"


def test_unknown_algorithm_suggests_a_close_name():
    registry = Registry()
    registry.add_algorithm(spec("sac"))
    with pytest.raises(RLForgeError, match=r"unknown algorithm 'sca' \(did you mean 'sac'\?\); installed: sac"):
        registry.algorithm("sca")


def test_same_algorithm_from_two_distributions_names_both():
    registry = Registry()
    registry.add_algorithm(spec(plugin="dist-a"))
    with pytest.raises(PluginError, match="'alpha' is registered by both 'dist-a' and 'dist-b'"):
        registry.add_algorithm(spec(plugin="dist-b"))


def test_same_env_from_two_distributions_names_both():
    registry = Registry()
    registry.add_env(EnvSpec(id="Maze-v0", factory="m:f", plugin="dist-a"))
    with pytest.raises(PluginError, match="'Maze-v0' is registered by both 'dist-a' and 'dist-b'"):
        registry.add_env(EnvSpec(id="Maze-v0", factory="m:f", plugin="dist-b"))


def test_unknown_action_space_kind_is_refused():
    with pytest.raises(PluginError, match="unknown action space kinds"):
        spec(spaces=("continuous",))


def test_unknown_env_suggests_a_close_gymnasium_id():
    with pytest.raises(RLForgeError, match=r"unknown env 'HalfCheetah-v9' \(did you mean 'HalfCheetah-v"):
        Registry().check_env("HalfCheetah-v9")


def test_plugin_env_and_gymnasium_ids_are_both_known():
    registry = Registry()
    registry.add_env(EnvSpec(id="Maze-v0", factory="m:f"))
    registry.check_env("Maze-v0")
    registry.check_env("Pendulum-v1")
    assert "Maze-v0" in registry.env_ids() and "CartPole-v1" in registry.env_ids()


def test_load_resolves_import_strings():
    assert load("os.path:join") is __import__("os").path.join


def test_build_agent_passes_env_id_only_to_factories_that_take_it():
    from rlforge.registry import AlgorithmSpec

    seen = {}

    def with_env_id(config, obs_space, act_space, num_envs=1, device="cpu", env_id=None):
        seen["with"] = env_id

    def without_env_id(config, obs_space, act_space, num_envs=1, device="cpu"):
        seen["without"] = "called"

    def forwarding(*args, **kwargs):  # a subclass handing everything to a parent without env_id
        seen["forwarding"] = sorted(kwargs)

    import sys
    import types

    module = types.ModuleType("_rlforge_test_factories")
    module.with_env_id, module.without_env_id = with_env_id, without_env_id
    sys.modules[module.__name__] = module
    try:
        module.forwarding = forwarding
        for attr in ("with_env_id", "without_env_id", "forwarding"):
            spec = AlgorithmSpec(attr, "", ("box",), config="x:y", agent=f"{module.__name__}:{attr}")
            spec.build_agent(None, None, None, env_id="Pendulum-v1")
    finally:
        del sys.modules[module.__name__]
    assert seen == {"with": "Pendulum-v1", "without": "called", "forwarding": ["device", "num_envs"]}
