"""Exact resume: DQN on CartPole-v1 with one env, stopped by SIGINT right after the checkpoint
at step N and resumed to 2N, logs exactly the metrics (episode returns, TD losses, Q-values,
epsilon, evaluations, bit for bit) of a run that trained 2N steps straight. Exploration,
replay sampling and the target network all continue where they were."""

import json

from cli_helpers import STOPPER, cli_env, metric_rows, run_cli, write_distribution

N = 600
SMALL_DQN = ["--algo", "dqn", "--env", "CartPole-v1", "--steps", str(2 * N), "--checkpoint-every", str(N // 2),
             "--set", "learning_starts=200", "--set", "batch_size=32", "--set", "hidden=[32,32]",
             "--set", "target_period=100", "--set", "double_q=true", "--set", "n_step=3",
             "--set", "train_frequency=2", "--set", "epsilon_fraction=0.5", "--set", "log_every=50",
             "--set", "eval_every=300", "--set", "eval_episodes=2", "--set", "torch_threads=1"]


def test_stop_at_n_and_resume_to_2n_equals_2n_straight(tmp_path):
    stopper = write_distribution(tmp_path / "stopper", "rlforge-stopper", {"stopper": "stopper_plugin"}, STOPPER)
    only_dqn = cli_env(RLFORGE_LOAD_PLUGINS="dqn")
    straight = run_cli(["train", *SMALL_DQN, "--run-dir", "straight"], cwd=tmp_path, env=only_dqn)
    assert straight.returncode == 0, straight.stderr

    stopped = run_cli(["train", *SMALL_DQN, "--run-dir", "resumed"], cwd=tmp_path,
                      env=cli_env(stopper, RLFORGE_LOAD_PLUGINS="dqn,stopper", STOP_AT_STEP=str(N)))
    assert stopped.returncode == 130, stopped.stderr
    assert json.loads((tmp_path / "resumed" / "meta.json").read_text())["step"] == N
    resumed = run_cli(["train", "--resume", "resumed"], cwd=tmp_path, env=only_dqn)
    assert resumed.returncode == 0, resumed.stderr
    assert "fresh episodes" not in resumed.stderr

    expected, got = metric_rows(tmp_path / "straight"), metric_rows(tmp_path / "resumed")
    tags = {tag for _, tag, _ in expected}
    assert {"charts/episode_return", "losses/td", "charts/q_mean", "charts/epsilon", "eval/return_mean"} <= tags
    assert any(step > N for step, tag, _ in expected if tag == "losses/td")
    assert got == expected
