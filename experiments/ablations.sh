#!/usr/bin/env bash
# Table 2 of the paper on your data: trains the ablated agents that are missing, then runs
# `promptseg evaluate` with all of them.
#
#   experiments/ablations.sh DATA PRESET BASE_RUN REPORT_DIR [SPLIT]
#
# BASE_RUN is a finished run of PRESET (both stages, `promptseg train ...`). The beta sweep
# {0, 0.2, 0.4, 0.6, 1.0} retrains only the agent, on BASE_RUN's surrogate (beta does not enter
# the surrogate); "T2 only" retrains both stages with channels = "t2_only". Runs go to
# BASE_RUN-ablations/<name> and are reused when they exist. On a 2-core CPU with presets/cpu.toml
# each agent takes ~15 min and the T2-only surrogate ~30 min. BETAS="0.0 0.4" picks the sweep's
# values; T2_ONLY=0 leaves that variant out.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=$1 PRESET=$2 BASE=$3 REPORT=$4 SPLIT=${5:-}
SPLIT_ARGS=()
[ -n "$SPLIT" ] && SPLIT_ARGS=(--split "$SPLIT")
cargo build --release
BIN=target/release/promptseg
ROOT="$BASE-ablations"
mkdir -p "$ROOT"
ABLATIONS=()
variant() { # name (no '='), folder, sed expression on the preset
  local name=$1 out="$ROOT/$2" expr=$3
  mkdir -p "$out"
  sed -e "$expr" "$PRESET" > "$out/preset.toml"
  ABLATIONS+=(--ablation "$name=$out")
}
for B in ${BETAS:-0.0 0.2 0.4 0.6 1.0}; do
  variant "beta $B" "beta-$B" "s/^beta = [0-9.]*/beta = $B/"
  OUT="$ROOT/beta-$B"
  [ -f "$OUT/surrogate.bpk" ] || cp "$BASE/surrogate.bpk" "$OUT/surrogate.bpk"
  if ! grep -q '"agent"' "$OUT/training.json" 2>/dev/null; then
    HOW=()
    [ -f "$OUT/checkpoint-agent/state.json" ] && HOW=(--resume)
    [ -z "${HOW[*]:-}" ] && [ -e "$OUT/agent.bpk" ] && HOW=(--force)
    $BIN train agent --data "$DATA" --config "$OUT/preset.toml" --out "$OUT" "${SPLIT_ARGS[@]}" "${HOW[@]}"
  fi
done
if [ "${T2_ONLY:-1}" = 1 ]; then
variant "T2 only" "t2-only" 's/^channels = "all"/channels = "t2_only"/'
OUT="$ROOT/t2-only"
for STAGE in surrogate agent; do
  if ! grep -q "\"$STAGE\"" "$OUT/training.json" 2>/dev/null; then
    HOW=()
    [ -f "$OUT/checkpoint-$STAGE/state.json" ] && HOW=(--resume)
    [ -z "${HOW[*]:-}" ] && [ -e "$OUT/$STAGE.bpk" ] && HOW=(--force)
    $BIN train "$STAGE" --data "$DATA" --config "$OUT/preset.toml" --out "$OUT" "${SPLIT_ARGS[@]}" "${HOW[@]}"
  fi
done
fi
$BIN evaluate --data "$DATA" --model "$BASE" --out "$REPORT" "${SPLIT_ARGS[@]}" "${ABLATIONS[@]}"
