#!/usr/bin/env bash
# What a reader sees while a large load runs: `turnaround metrics --json` in a loop beside
# `turnaround load` of CUSTOMERS customers' canonical exports (200,000 give about 1,000,000
# tickets), into a warehouse that already holds a smaller company.
# Usage: bench/reader_during_load.sh [CUSTOMERS] [FOLDER]; prints the readers' log, then the
# load's last lines, wall time and peak memory.
# Needs GNU time (/usr/bin/time, Debian package time) and bc.
set -euo pipefail
customers=${1:-200000}
work=${2:-$(mktemp -d)}
here=$(cd "$(dirname "$0")/.." && pwd)
turnaround="$here/.venv/bin/turnaround"
export TURNAROUND_SECRETS_FILE="$work/secrets.toml"
url="duckdb:///$work/turnaround.duckdb"
mkdir -p "$work"
cd "$work"
[ -d exports ] || "$turnaround" generate --out exports --customers "$customers" --format canonical >/dev/null
[ -d small ] || "$turnaround" generate --out small --customers 20000 --seed 3 --format canonical >/dev/null
rm -rf turnaround.duckdb turnaround.duckdb.locks
"$turnaround" load small --warehouse "$url" --log-level warning >/dev/null
/usr/bin/time -v "$turnaround" load exports --warehouse "$url" >load.out 2>load.err &
load=$!
: >readers.log
while kill -0 "$load" 2>/dev/null; do
    start=$(date +%s.%N)
    code=0
    "$turnaround" metrics --json --warehouse "$url" >metrics.out 2>metrics.err || code=$?
    end=$(date +%s.%N)
    printf '%s exit %s after %.2f s: %s | %s\n' "$(date -u +%H:%M:%S)" "$code" \
        "$(echo "$end - $start" | bc)" "$(head -c 100 metrics.out)" \
        "$(tr '\n' ' ' <metrics.err)" >>readers.log
    sleep 1
done
wait "$load" || true
cat readers.log
grep -v '^\s' load.err | tail -4
grep -E 'Elapsed|Maximum resident' load.err
tail -1 load.out
