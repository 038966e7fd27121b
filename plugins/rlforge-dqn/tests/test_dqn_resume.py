"""Exact resume: DQN on CartPole-v1 with one env, stopped by SIGINT right after the checkpoint
at step N and resumed to 2N, logs exactly the metrics (episode returns, TD losses, Q-values,
epsilon, evaluations, bit for bit) of a run that trained 2N steps straight. Exploration,
replay sampling and the target network all continue where they were."""

from cli_helpers import straight_and_resumed_runs

N = 600
SMALL_DQN = ["--algo", "dqn", "--env", "CartPole-v1", "--steps", str(2 * N), "--checkpoint-every", str(N // 2),
             "--set", "learning_starts=200", "--set", "batch_size=32", "--set", "hidden=[32,32]",
             "--set", "target_period=100", "--set", "double_q=true", "--set", "n_step=3",
             "--set", "train_frequency=2", "--set", "epsilon_fraction=0.5", "--set", "log_every=50",
             "--set", "eval_every=300", "--set", "eval_episodes=2", "--set", "torch_threads=1"]


def test_stop_at_n_and_resume_to_2n_equals_2n_straight(tmp_path):
    expected, got = straight_and_resumed_runs(tmp_path, SMALL_DQN, "dqn", stop_at=N)
    tags = {tag for _, tag, _ in expected}
    assert {"charts/episode_return", "losses/td", "charts/q_mean", "charts/epsilon", "eval/return_mean"} <= tags
    assert any(step > N for step, tag, _ in expected if tag == "losses/td")
    assert got == expected
