#!/usr/bin/env bash
# The concurrency tests (pytest marker `concurrency`: loads, readers, locks, pulls) run
# STRESS_RUNS times in a row while STRESS_BURNERS busy loops keep every core loaded, the way a
# busy machine runs them. Stops at the first failing run; the busy loops end however it ends.
set -uo pipefail
runs=${STRESS_RUNS:-5}
burners=${STRESS_BURNERS:-8}
python=${PYTHON:-.venv/bin/python}

pids=()
stop_burners() {
    [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null
    wait "${pids[@]}" 2>/dev/null
    pids=()
}
trap stop_burners EXIT
trap 'exit 130' INT TERM

for _ in $(seq "$burners"); do
    bash -c 'while :; do :; done' &
    pids+=($!)
done
echo "stress: $burners busy loops on $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"

started=$SECONDS
for run in $(seq "$runs"); do
    run_started=$SECONDS
    echo "stress: run $run of $runs"
    TURNAROUND_REQUIRE_POSTGRES=1 "$python" -m pytest -p no:xdist -q -x -m concurrency
    status=$?
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    if [ $status -ne 0 ]; then
        echo "stress: run $run of $runs FAILED after $((SECONDS - run_started)) s (load average $load)"
        exit $status
    fi
    echo "stress: run $run of $runs passed in $((SECONDS - run_started)) s (load average $load)"
done
echo "stress: $runs of $runs runs passed in $((SECONDS - started)) s"
