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
if [[ $group == cem || $group == all ]]; then  # problem 5, shortened: 200-step episodes, 3 fits, 500 sequences
    # per plan for random shooting and 4 x 125 for CEM (the same number of evaluations)
    short=(--set random_steps=5000 --set collect_steps=500 --set model_train_steps=500 --set max_episode_steps=200
           --set num_sequences=500 --set eval_every=0 --set eval_episodes=3)
    run mbrl_halfcheetah_random mpc HalfCheetah-v4 6000 -- --config experiments/mbrl/halfcheetah_random_5iter "${short[@]}" &
    run mbrl_halfcheetah_cem mpc HalfCheetah-v4 6000 -- --config experiments/mbrl/halfcheetah_cem "${short[@]}" \
        --set num_sequences=125
    wait
fi
if [[ $group == mbpo || $group == all ]]; then  # problem 6, shortened: 10,000 env steps, the model refitted every 1,000
    short=(--set eval_every=1000 --set model_train_every=1000 --set model_train_steps=300)
    run mbrl_halfcheetah_sac mbpo HalfCheetah-v4 10000 -- --config experiments/mbrl/halfcheetah_sac "${short[@]}" &
    run mbrl_halfcheetah_dyna mbpo HalfCheetah-v4 10000 -- --config experiments/mbrl/halfcheetah_dyna "${short[@]}"
    wait
    run mbrl_halfcheetah_mbpo mbpo HalfCheetah-v4 10000 -- --config experiments/mbrl/halfcheetah_mbpo "${short[@]}"
fi
if [[ $group == reacher || $group == all ]]; then  # problem 4, shortened: 2,000 random steps, then 3 x 500 collected,
    # 300 model steps per fit, one final evaluation of 5 episodes; two runs at a time
    short=(--set random_steps=2000 --set collect_steps=500 --set model_train_steps=300 --set eval_every=0
           --set eval_episodes=5)
    IFS='|' read -ra pairs <<< "${REACHER_PAIRS:-base _ensemble1|_sequences100 _horizon30|_ensemble5 _horizon5}"
    for pair in "${pairs[@]}"; do
        for variant in $pair; do
            [[ $variant == base ]] && variant=""
            run "mbrl_reacher_ablation$variant" mpc Reacher-v4 3500 -- --config "experiments/mbrl/reacher_ablation$variant" "${short[@]}" &
        done
        wait
    done
fi
if [[ $group == plan_time || $group == all ]]; then
    "$py" benchmarks/mbrl_plan_time.py --out benchmarks/results/mbrl_plan_time.json
fi
