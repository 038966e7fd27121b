"""`rlforge sweep --backend ray --address ADDR`: the same 2x2 grid over 2 seeds as Ray tasks on a
Ray instance this test starts (2 CPUs), joined by the CLI as it would join a cluster's head."""

import pytest

from cli_helpers import cli_env, run_cli
from test_sweep import check_sweep_results, write_sweep

ray = pytest.importorskip("ray")


@pytest.fixture
def ray_address(toy_plugin, monkeypatch):
    # Ray's workers inherit this process's environment: they must find the toy plugin
    monkeypatch.setenv("PYTHONPATH", str(toy_plugin))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def test_ray_sweep_runs_the_grid_as_ray_tasks(tmp_path, toy_plugin, ray_address):
    env = cli_env(toy_plugin)
    sweep_file = write_sweep(tmp_path / "grid.yaml")
    done = run_cli(["sweep", str(sweep_file), "--backend", "ray", "--address", ray_address], cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "2 at a time" in " ".join(done.stderr.split())  # the cluster's 2 CPUs
    check_sweep_results(tmp_path, tmp_path / "sweeps" / "toygrid", env)
