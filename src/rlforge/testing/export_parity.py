"""Export parity, for plugin tests: a run's policy exported by `rlforge export` to ONNX and to
TorchScript, read back with onnxruntime and torch.jit.load alone (no rlforge code in the way),
gives the actions of the policy `rlforge eval` loads from the same checkpoint.

    from rlforge.testing.export_parity import check_export_parity, train_small

    def test_export(tmp_path):
        run = train_small("myalgo", "Pendulum-v1", tmp_path)
        check_export_parity(run, tmp_path)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def train_small(algo: str, env: str, workdir: Path, steps: int = 300, overrides: dict | None = None,
                name: str | None = None) -> Path:
    """A short run (the conformance kit's small settings, then `overrides`) in `workdir`; its
    run directory, with a checkpoint at the end."""
    from rlforge import training
    from rlforge.plugins import get_host
    from rlforge.testing.kit import small_overrides

    spec = get_host().registry.algorithm(algo)
    values = {**small_overrides(spec.config_class(), steps), **(overrides or {})}
    run_dir = Path(workdir) / (name or f"{algo}-{env}")
    status = training.train(algo, env, None, [], values, str(run_dir))  # typed values, as the kit passes them
    assert status == 0, f"training {algo} on {env} ended with status {status}"
    return run_dir


def check_export_parity(run_dir: Path, workdir: Path, observations: int = 1000, tolerance: float = 1e-5,
                        seed: int = 123) -> dict[str, float]:
    """Export `run_dir` to both formats with the CLI and compare each file's actions with the
    deterministic actions of the checkpoint's policy on `observations` observations sampled
    from the env's observation space (to `tolerance`, absolute and relative; exactly for
    Discrete). Returns the largest difference of each format."""
    import onnxruntime
    import torch

    from rlforge.cli import main
    from rlforge.export.exporter import sample_observations
    from rlforge.training import load_checkpoint_engine

    files = {"onnx": Path(workdir) / "policy.onnx", "torchscript": Path(workdir) / "policy.pt"}
    for fmt, path in files.items():
        main(["export", str(run_dir), "--format", fmt, "--out", str(path), "--force"])
    engine, _, _ = load_checkpoint_engine(str(run_dir))
    try:
        obs = sample_observations(engine.env.observation_space, observations, seed)
        expected = np.asarray(engine.agent.policy.act(obs, deterministic=True))
    finally:
        engine.close()
    inputs = obs.astype(np.float32)
    session = onnxruntime.InferenceSession(str(files["onnx"]), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        scripted = torch.jit.load(str(files["torchscript"]))(torch.from_numpy(inputs)).numpy()
    found = {"onnx": session.run(["action"], {"obs": inputs})[0], "torchscript": scripted}
    largest = {}
    for fmt, actions in found.items():
        assert actions.shape == expected.shape, f"{fmt}: actions {actions.shape}, the policy's {expected.shape}"
        if np.issubdtype(expected.dtype, np.integer):
            assert np.issubdtype(actions.dtype, np.integer), f"{fmt}: {actions.dtype} actions for a discrete policy"
            np.testing.assert_array_equal(actions, expected, err_msg=fmt)
            largest[fmt] = 0.0
        else:
            np.testing.assert_allclose(actions, expected, rtol=tolerance, atol=tolerance, err_msg=fmt)
            largest[fmt] = float(np.abs(actions - expected).max())
    return largest
