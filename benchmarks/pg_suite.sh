#!/usr/bin/env bash
# The policy-gradient results in docs/benchmarks.md, one run at a time, seed 1, one torch thread:
# the eight CS285 CartPole variants (plus their plot), HalfCheetah-v4 without and with a
# baseline, LunarLander-v3 with GAE lambda 0.98, and PPO's time to solve CartPole-v1.
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-.venv/bin/python}"
run() {  # run NAME ALGO ENV STEPS CURVE_EVERY [extra learning_run args...] -- [rlforge train args...]
    local name=$1 algo=$2 env=$3 steps=$4 every=$5
    shift 5
    "$py" benchmarks/learning_run.py --algo "$algo" --env "$env" --steps "$steps" --learning-starts 0 \
        --curve-every "$every" --out "benchmarks/results/$name.json" "$@"
}
for variant in "" _rtg _na _rtg_na; do
    run "pg_cartpole$variant" pg CartPole-v0 100000 1000 -- --config "experiments/pg/cartpole$variant" --set torch_threads=1
    run "pg_cartpole_lb$variant" pg CartPole-v0 400000 4000 -- --config "experiments/pg/cartpole_lb$variant" --set torch_threads=1
done
"$py" benchmarks/plot_pg_cartpole.py
run pg_halfcheetah pg HalfCheetah-v4 500000 5000 -- --config experiments/pg/halfcheetah --set torch_threads=1
run pg_halfcheetah_baseline pg HalfCheetah-v4 500000 5000 -- --config experiments/pg/halfcheetah_baseline --set torch_threads=1
run pg_lunarlander_lambda098 pg LunarLander-v3 600000 2000 -- --config experiments/pg/lunarlander_lambda098 --set torch_threads=1
run ppo_cartpole ppo CartPole-v1 100000 2048 --threshold 475 -- --set torch_threads=1 --set eval_every=2048
