#!/usr/bin/env bash
# The model-based results in docs/benchmarks.md: shortened versions of the CS285 hw4 runs
# (the full ones are the experiment files in configs/experiments/mbrl, see docs/cs285-hw4.md),
# seed 1, one torch thread. Usage: benchmarks/mbrl_suite.sh GROUP   (groups below; "all" runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-.venv/bin/python}"
run() {  # run NAME ALGO ENV STEPS -- [rlforge train args...]
    local name=$1 algo=$2 env=$3 steps=$4
    shift 5
    "$py" benchmarks/learning_run.py --algo "$algo" --env "$env" --steps "$steps" --learning-starts 0 \
        --curve-every 1000 --out "benchmarks/results/$name.json" -- --set torch_threads=1 "$@"
}
group=${1:-all}
if [[ $group == fit || $group == all ]]; then  # problem 1: the loss curve of the 0-iteration model fit
    run mbrl_halfcheetah_0iter mpc HalfCheetah-v4 20000 -- --config experiments/mbrl/halfcheetah_0iter
    folder=$("$py" -c "import json; print(json.load(open('benchmarks/results/mbrl_halfcheetah_0iter.json'))['run_dir'])")
    cp "$folder/model_fit.csv" benchmarks/results/mbrl_halfcheetah_0iter_model_fit.csv
    cp "$folder/model_fit.png" benchmarks/results/mbrl_halfcheetah_0iter_model_fit.png
fi
if [[ $group == obstacles || $group == all ]]; then  # problems 2-3, with 200 sequences instead of 1000
    run mbrl_obstacles_1iter mpc Obstacles-v0 5000 -- --config experiments/mbrl/obstacles_1iter --set num_sequences=200
    run mbrl_obstacles_multi_iter mpc Obstacles-v0 8000 -- --config experiments/mbrl/obstacles_multi_iter \
        --set num_sequences=200 --set eval_episodes=5
fi
if [[ $group == cem || $group == all ]]; then  # problem 5, shortened: 200-step episodes, 3 fits, CEM at equal evaluations
    short=(--set random_steps=5000 --set collect_steps=1250 --set model_train_steps=500 --set max_episode_steps=200
           --set eval_every=2500 --set eval_episodes=3)
    run mbrl_halfcheetah_random mpc HalfCheetah-v4 7500 -- --config experiments/mbrl/halfcheetah_random_5iter "${short[@]}"
    run mbrl_halfcheetah_cem250 mpc HalfCheetah-v4 7500 -- --config experiments/mbrl/halfcheetah_cem "${short[@]}" \
        --set num_sequences=250
fi
if [[ $group == mbpo || $group == all ]]; then  # problem 6, shortened: 15,000 env steps, the model refitted every 1,000
    short=(--set eval_every=2500 --set model_train_every=1000 --set model_train_steps=300)
    for variant in sac dyna mbpo; do
        run "mbrl_halfcheetah_$variant" mbpo HalfCheetah-v4 15000 -- --config "experiments/mbrl/halfcheetah_$variant" "${short[@]}"
    done
fi
if [[ $group == reacher || $group == all ]]; then  # problem 4, shortened: 2,000 random steps, 4 fits of 500 collected steps
    short=(--set random_steps=2000 --set collect_steps=500 --set model_train_steps=300 --set eval_every=1000
           --set eval_episodes=5)
    for variant in "" _ensemble1 _ensemble5 _sequences100 _horizon5 _horizon30; do
        run "mbrl_reacher_ablation$variant" mpc Reacher-v4 3500 -- --config "experiments/mbrl/reacher_ablation$variant" "${short[@]}"
    done
fi
if [[ $group == plan_time || $group == all ]]; then
    "$py" benchmarks/mbrl_plan_time.py --out benchmarks/results/mbrl_plan_time.json
fi
