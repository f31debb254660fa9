#!/usr/bin/env bash
# Held-out Dice on the labelled cases of ../shared/data: for each positive case, train both
# stages without it (preset cpu), then score the full method and both baselines on it.
#
#   experiments/leave_one_out.sh [runs/loo]
#
# About 30 minutes per fold on a 2-core CPU (4 folds), with experiments/loo.toml (preset cpu, shorter).
# the rows are also written to RUNS/loo.md.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-runs/loo}
DATA=datasets/shared-data.toml
cargo build --release
mkdir -p "$RUNS"
# A private copy, so rebuilding the project during the run does not change the binary mid-way.
cp target/release/promptseg "$RUNS/promptseg"
BIN="$RUNS/promptseg"
: > "$RUNS/loo.md"
# Runs each stage unless training.json says it finished; an interrupted stage resumes.
stage() {
  local what=$1 out=$2 case=$3 how=(--force)
  if [ -f "$out/training.json" ] && grep -q "\"$what\"" "$out/training.json"; then return; fi
  [ -f "$out/checkpoint-$what/state.json" ] && how=(--resume)
  [ -e "$out/$what.bpk" ] || [ -e "$out/checkpoint-$what" ] || how=()
  $BIN train "$what" --data $DATA --config experiments/loo.toml --out "$out" --exclude "$case" "${how[@]}"
}
for CASE in 10021_1000021 10707_1000723 10604_1000618 10925_1000942; do
  OUT="$RUNS/without-$CASE"
  mkdir -p "$OUT"
  stage surrogate "$OUT" "$CASE"
  stage agent "$OUT" "$CASE"
  $BIN compare --data $DATA --model "$OUT" --only "$CASE" --prompts 5 | tee -a "$RUNS/loo.md"
done
