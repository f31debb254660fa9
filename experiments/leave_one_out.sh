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
for CASE in 10021_1000021 10707_1000723 10604_1000618 10925_1000942; do
  OUT="$RUNS/without-$CASE"
  mkdir -p "$OUT"
  [ -f "$OUT/surrogate.bpk" ] || $BIN train surrogate --data $DATA --config experiments/loo.toml --out "$OUT" --exclude "$CASE"
  [ -f "$OUT/agent.bpk" ] || $BIN train agent --data $DATA --config experiments/loo.toml --out "$OUT" --exclude "$CASE"
  $BIN compare --data $DATA --model "$OUT" --only "$CASE" --prompts 5 | tee -a "$RUNS/loo.md"
done
