"""Exact resume: CrossQ on Pendulum-v1 with one env, stopped by SIGINT right after the checkpoint
at step N and resumed to 2N, logs exactly the metrics of a run that trained 2N steps straight.
The warm-up of batch renormalisation ends before N, so the resumed run continues with r and d
computed from the checkpoint's running statistics and step counts."""

from cli_helpers import straight_and_resumed_runs

N = 600
SMALL_CROSSQ = ["--algo", "crossq", "--env", "Pendulum-v1", "--steps", str(2 * N), "--checkpoint-every", str(N // 2),
                "--set", "random_steps=200", "--set", "learning_starts=200", "--set", "batch_size=32",
                "--set", "actor_hidden=[32,32]", "--set", "critic_hidden=[32,32]", "--set", "bn_warmup_steps=300",
                "--set", "log_every=50", "--set", "eval_every=300", "--set", "eval_episodes=2",
                "--set", "torch_threads=1"]


def test_stop_at_n_and_resume_to_2n_equals_2n_straight(tmp_path):
    expected, got = straight_and_resumed_runs(tmp_path, SMALL_CROSSQ, "sac", stop_at=N)
    tags = {tag for _, tag, _ in expected}
    assert {"charts/episode_return", "losses/critic", "losses/actor", "eval/return_mean"} <= tags
    assert any(step > N for step, tag, _ in expected if tag == "losses/actor")
    assert got == expected
