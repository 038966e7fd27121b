"""`rlforge export` and `rlforge eval FILE`, on a throwaway plugin whose policy is one linear layer
over standardised observations (the core's side; each bundled family's parity is tested beside
its plugin): both formats carry their metadata where a reader without rlforge finds it, an
exported file evaluates to the checkpoint's returns, and bad input is one line, exit status 2,
with nothing written or replaced."""

import json

import numpy as np
import pytest

from cli_helpers import cli_env, run_cli, write_distribution
from rlforge.cli import main

LINEAR = {
    "linear_algo.plugin": '''
        from rlforge.hookspecs import hookimpl
        from rlforge.registry import AlgorithmSpec

        @hookimpl
        def register_algorithms(register):
            register(AlgorithmSpec(name="linear", summary="a linear policy that does not learn",
                                   action_spaces=("box",), config="linear_algo.agent:LinearConfig",
                                   agent="linear_algo.agent:LinearAgent"))
    ''',
    "linear_algo.agent": '''
        from dataclasses import dataclass

        import numpy as np
        import torch
        from rlforge.agent import Agent, Policy
        from rlforge.config import option
        from rlforge.export import blocks

        @dataclass
        class LinearConfig:
            gain: float = option(3.0, "scale of the initial weights")

        class LinearPolicy(Policy):
            def __init__(self, obs_dim, action_space, gain):
                super().__init__()
                self.layer = torch.nn.Linear(obs_dim, int(np.prod(action_space.shape)))
                torch.nn.init.normal_(self.layer.weight, std=gain)
                self.register_buffer("mean", torch.linspace(-0.5, 0.5, obs_dim))
                self.register_buffer("std", torch.linspace(0.5, 2.0, obs_dim))
                self.register_buffer("low", torch.as_tensor(action_space.low))
                self.register_buffer("high", torch.as_tensor(action_space.high))

            def act(self, obs, deterministic=False):
                with torch.inference_mode():
                    x = torch.as_tensor(obs, dtype=torch.float32).reshape(len(obs), -1)
                    return torch.clamp(self.layer((x - self.mean) / self.std), self.low, self.high).numpy()

            def export_module(self):
                return torch.nn.Sequential(torch.nn.Flatten(), blocks.Standardize(self.mean, self.std),
                                           blocks.frozen(self.layer), blocks.Clip(self.low, self.high))

        class LinearAgent(Agent):
            def __init__(self, config, observation_space, action_space, num_envs=1, device="cpu"):
                super().__init__(config, observation_space, action_space, num_envs, device)
                self.steps_per_iteration = 10
                self.policy = LinearPolicy(int(np.prod(observation_space.shape)), action_space, config.gain)

            def observe(self, batch):
                pass

            def update(self, progress):
                return {"losses/none": 0.0}

            def state_dict(self):
                return {"policy": self.policy.state_dict()}

            def load_state_dict(self, state):
                self.policy.load_state_dict(state["policy"])
    ''',
}


def _ok(result):
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A linear Pendulum run, its policy exported to both formats (the ONNX file over an existing
    file, with --force), and `rlforge eval` of the run: {name: path}, plus "eval" (its JSON)."""
    root = tmp_path_factory.mktemp("export")
    env = cli_env(write_distribution(root / "site", "rlforge-linear", {"linear": "linear_algo.plugin"}, LINEAR),
                  RLFORGE_LOAD_PLUGINS="linear")
    run = root / "run"
    _ok(run_cli(["train", "--algo", "linear", "--env", "Pendulum-v1", "--steps", "50", "--run-dir", str(run),
                 "--set", "torch_threads=1", "--set", "eval_episodes=1", "--set", "max_episode_steps=50"], env=env))
    files = {"onnx": root / "policy.onnx", "torchscript": root / "policy.pt"}
    files["onnx"].write_text("an older file")
    _ok(run_cli(["export", str(run), "--out", str(files["onnx"]), "--force"], env=env))
    _ok(run_cli(["export", str(run), "--format", "torchscript", "--out", str(files["torchscript"])], env=env))
    evaluation = json.loads(_ok(run_cli(["eval", str(run), "-n", "3", "--json"], env=env)).stdout)
    return {"run": run, **files, "eval": evaluation}


def _metadata_without_rlforge(path, fmt):
    """The metadata as a reader with onnxruntime or torch alone finds it."""
    if fmt == "onnx":
        import onnxruntime

        return onnxruntime.InferenceSession(str(path)).get_modelmeta().custom_metadata_map
    import torch

    extra = {"rlforge.json": ""}
    torch.jit.load(str(path), _extra_files=extra)
    return json.loads(extra["rlforge.json"])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch 2.13's word on TorchScript
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_the_file_carries_the_env_id_and_rlforge_version(exported, fmt):
    import rlforge

    meta = _metadata_without_rlforge(exported[fmt], fmt)
    assert meta["env_id"] == "Pendulum-v1" and meta["rlforge_version"] == rlforge.__version__
    assert meta["algo"] == "linear"
    shape = meta["observation_shape"] if fmt == "torchscript" else json.loads(meta["observation_shape"])
    assert shape == [3]


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_an_exported_file_evaluates_to_the_checkpoints_returns(exported, fmt, capsys):
    main(["eval", str(exported[fmt]), "-n", "3", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["exported"] == str(exported[fmt]) and report["env"] == "Pendulum-v1"
    assert report["step"] == exported["eval"]["step"]
    assert report["length"]["mean"] == 50  # the run's max_episode_steps travels in the file
    np.testing.assert_allclose(report["return"]["mean"], exported["eval"]["return"]["mean"], rtol=1e-4)


def _fails(args, capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err.strip().removeprefix("rlforge: error: ")


def test_an_existing_file_is_not_replaced_without_force(exported, tmp_path, capsys):
    out = tmp_path / "kept.onnx"
    out.write_text("mine")
    message = _fails(["export", str(exported["run"]), "--out", str(out)], capsys)
    assert message == f"'{out}' already exists; not overwriting it (pass --force to replace it)"
    assert out.read_text() == "mine" and [p.name for p in tmp_path.iterdir()] == ["kept.onnx"]


@pytest.mark.parametrize("args, message", [
    (["export", "{run}", "--out", "{tmp}/policy.bin"],
     "cannot tell the format from 'policy.bin': pass --format onnx|torchscript (or name the file *.onnx or *.pt)"),
    (["export", "{run}", "--out", "{tmp}"], "--out '{tmp}' is a folder; name a file"),
    (["export", "{tmp}/nothing", "--out", "{tmp}/p.onnx"], "'{tmp}/nothing' does not exist"),
    (["export", "{run}", "--format", "tflite", "--out", "{tmp}/p.onnx"], None),
    (["eval", "{onnx}", "--stochastic"], "an exported policy has only its deterministic action; drop --stochastic"),
    (["eval", "{onnx}", "--env", "CartPole-v1"], "'{onnx}' takes observations of shape (3,); CartPole-v1 gives (4,)"),
    (["eval", "{onnx}", "--env", "Pendulm-v1"], "unknown env 'Pendulm-v1' (did you mean 'Pendulum-v1'"),
    (["eval", "{run}", "--env", "Pendulum-v1"],
     "--env is for exported policy files; a checkpoint is evaluated on the env it was trained on"),
    (["eval", "{tmp}/junk.onnx"], "'{tmp}/junk.onnx' is not a readable onnx policy: "),
    (["eval", "{tmp}/junk.pt"], "'{tmp}/junk.pt' is not a readable torchscript policy: "),
])
def test_bad_input_is_one_line_and_writes_nothing(exported, tmp_path, capsys, args, message):
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    (tmp_path / "junk.pt").write_bytes(b"PK\x03\x04 half a zip")
    before = sorted(p.name for p in tmp_path.iterdir())
    names = {"run": exported["run"], "onnx": exported["onnx"], "tmp": tmp_path}
    error = _fails([a.format(**names) for a in args], capsys)
    if message is not None:
        assert error.startswith(message.format(**names)), error
    assert sorted(p.name for p in tmp_path.iterdir()) == before
