#!/usr/bin/env bash
# CS285 hw5 benchmarks for docs/benchmarks.md, in order (each step needs the ones before):
# exploration coverage, the datasets, offline RL on PointmassHard, fine-tuning, the CQL alpha
# and dataset-size sweeps. Run from an empty folder; MINARI_DATASETS_PATH keeps the datasets
# there. About 2 hours on 2 cores. Safe to run again: finished runs and trials are skipped.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
rlforge="${RLFORGE:-$here/.venv/bin/rlforge}"
sweeps="$here/configs/sweeps"
export MINARI_DATASETS_PATH="${MINARI_DATASETS_PATH:-$PWD/minari}"

"$rlforge" sweep "$sweeps/benchmarks/hw5_exploration.yaml" --workers 2
dataset() {  # experiment, run folder
    [ -f "runs/$2/meta.json" ] && grep -q '"status": "finished"' "runs/$2/meta.json" && return 0
    rm -rf "runs/$2"
    "$rlforge" train --config "experiments/hw5/$1" --run-dir "runs/$2" --set torch_threads=1
}
dataset pointmass_hard_rnd hard_rnd & dataset pointmass_hard_rnd_20k hard_rnd_20k; wait
dataset pointmass_medium_random medium_random & dataset pointmass_easy_random easy_random; wait
for name in hw5_offline_hard_cql hw5_offline_hard_awac hw5_offline_hard_iql hw5_finetune; do
    "$rlforge" sweep "$sweeps/benchmarks/$name.yaml" --workers 2
done
"$rlforge" sweep "$sweeps/hw5_cql_alpha.yaml" --workers 2
"$rlforge" sweep "$sweeps/hw5_dataset_size.yaml" --workers 2
