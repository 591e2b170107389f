#!/usr/bin/env bash
# same_numbers.sh OUT_DIR: every number Turnaround answers with, as JSON files in OUT_DIR, for
# the seeded demo (--customers 400, as Zendesk exports and as canonical CSV) and for the
# canonical fixtures (their bad rows quarantined). Run it before
# and after a change that must not change behaviour and compare the two folders with
# `diff -r BEFORE AFTER`: a refactor leaves them byte-identical. SAME_NUMBERS_CONFIG names a
# config file to answer with (such as one keeping earlier definitions); none by default.
# Example: SAME_NUMBERS_DATA=saved SAME_NUMBERS_CONFIG=keep-2026-11.toml scripts/same_numbers.sh OUT
set -euo pipefail
out=${1:?usage: scripts/same_numbers.sh OUT_DIR}
bin=${TURNAROUND:-.venv/bin/turnaround}
mkdir -p "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export TURNAROUND_HASH_KEY=same-numbers-key
config=()  # the read commands answer with this config; none by default
[[ -n ${SAME_NUMBERS_CONFIG:-} ]] && config=(--config "$SAME_NUMBERS_CONFIG")

answer() {  # answer NAME URL: the commands' JSON for one warehouse
    local name=$1 url=$2 as_of=$3
    "$bin" metrics "${config[@]}" --warehouse "$url" --as-of "$as_of" --json >"$out/$name.metrics.json"
    "$bin" metrics "${config[@]}" --warehouse "$url" --as-of "$as_of" --by channel --grain month --json \
        >"$out/$name.metrics-by-channel-month.json"
    "$bin" metrics "${config[@]}" --warehouse "$url" --as-of "$as_of" --count episodes --one-touch dbt_zendesk \
        --json >"$out/$name.metrics-episodes.json"
    "$bin" cohorts "${config[@]}" --warehouse "$url" --as-of "$as_of" --json >"$out/$name.cohorts.json"
    "$bin" survival "${config[@]}" --warehouse "$url" --as-of "$as_of" --json >"$out/$name.survival.json"
    "$bin" recovery "${config[@]}" --warehouse "$url" --as-of "$as_of" --json >"$out/$name.recovery.json"
}

# SAME_NUMBERS_DATA names a folder with demo/ and canonical/ generated earlier, so that the
# same input is answered after the generator changed; by default both are generated now.
data=${SAME_NUMBERS_DATA:-$work}
if [[ -z ${SAME_NUMBERS_DATA:-} ]]; then
    "$bin" generate --out "$work/demo" --customers 400 --seed 7 >/dev/null
    "$bin" generate --out "$work/canonical" --customers 400 --seed 11 --format canonical >/dev/null
fi
"$bin" load "$data/demo" --warehouse "duckdb:///$work/demo.duckdb" >/dev/null
answer demo "duckdb:///$work/demo.duckdb" 2026-11-01T00:00:00Z

"$bin" load "$data/canonical" --warehouse "duckdb:///$work/canonical.duckdb" >/dev/null
answer canonical "duckdb:///$work/canonical.duckdb" 2026-11-01T00:00:00Z

"$bin" load tests/fixtures/canonical --quarantine-limit 1 \
    --warehouse "duckdb:///$work/fixtures.duckdb" >/dev/null
answer fixtures "duckdb:///$work/fixtures.duckdb" 2024-12-31T00:00:00Z

ls "$out"
