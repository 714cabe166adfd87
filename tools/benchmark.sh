#!/usr/bin/env bash
# Speed and memory of the migration against Odoo's own import path (Model.load() with the mail
# context keys), for the demo clinic and a 10,000-patient clinic, each measurement in a fresh
# database and a process of its own. The sandbox's rate limit is off so Odoo is measured.
#   tools/benchmark.sh [--profile] [SIZE ...]   (default: 300 10000)
#   BENCH_RESOURCES=patients   what the migrate mode runs ("all": the whole graph, and the load
#                              side writes the very records the migration wrote)
#   BENCH_REPEAT=1             measurements per size (migration, then load, each time); the
#                              summary gives the median
#   BENCH_MODES="migrate load" which sides to measure ("migrate" alone: its speed and memory)
#   --profile                  cProfile of each measurement: .local/bench-MODE-SIZE-N.prof, its
#                              top entries in .local/bench-MODE-SIZE-N.log
#   BENCH_RATE_LIMIT=N         also migrate with the sandbox's budget at N requests a minute
#                              (the connection's too); prints the floor (the requests / N), the
#                              time and the ratio to the floor
#   BENCH_READ_AHEAD="2 0"     with BENCH_RATE_LIMIT: one limited run per value (pages read
#                              ahead while writing; 0: in turns)
#   BENCH_WORKERS="1 2"        also migrate as a background run worked on by each number of
#                              workers (Odoo's scheduler, a process each), BENCH_REPEAT times
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PROFILE=""
if [ "${1:-}" = "--profile" ]; then
    PROFILE=1
    shift
fi
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(300 10000)
REPEAT=${BENCH_REPEAT:-1}
read -r -a MODES <<<"${BENCH_MODES:-migrate load}"
RESOURCES=${BENCH_RESOURCES:-patients}
TEMPLATE="cliniko_bench_template"
DATA_DIR="$LOCAL/bench-data"

find_odoo
install_python_deps requirements.txt
trap stop_postgres EXIT
ensure_postgres

say "installing the addon into a template database"
dropdb --if-exists "$TEMPLATE" >/dev/null 2>&1
odoo -d "$TEMPLATE" -i cliniko_crm_migration --data-dir="$DATA_DIR" --stop-after-init \
    --http-interface=127.0.0.1 --log-level=warn >"$LOCAL/bench-install.log" 2>&1 ||
    die "installing the addon failed (log: .local/bench-install.log)"

RESULTS="$LOCAL/bench-results.jsonl"
: >"$RESULTS"
for size in "${SIZES[@]}"; do
    for n in $(seq 1 "$REPEAT"); do
        # The whole clinic: the migration writes down every record it created (after its
        # measurement); the load side writes those very records again in a fresh database.
        written=()
        [ "$RESOURCES" = all ] && written=(--written "$LOCAL/bench-written-$size.jsonl")
        for mode in "${MODES[@]}"; do
            db="cliniko_bench_${mode}_$size"
            tag="$mode-$size-$n"
            profile=()
            [ -n "$PROFILE" ] && profile=(--profile "$LOCAL/bench-$tag.prof")
            dropdb --if-exists "$db" >/dev/null 2>&1
            createdb -T "$TEMPLATE" "$db"
            say "$mode: $size patients ($n/$REPEAT, load average $(cut -d' ' -f1 /proc/loadavg))"
            "$PYTHON" "$ROOT/tools/benchmark.py" --database "$db" --addons-path "$ADDONS_PATH" \
                --patients "$size" --mode "$mode" --resources "$RESOURCES" --repeat "$n" \
                ${written[@]+"${written[@]}"} ${profile[@]+"${profile[@]}"} \
                2>"$LOCAL/bench-$tag.log" | tail -n 1 >>"$RESULTS" ||
                die "benchmark $mode $size failed (log: .local/bench-$tag.log)"
            dropdb --if-exists "$db" >/dev/null 2>&1
        done
        rm -f "$LOCAL/bench-written-$size.jsonl"
    done
    for workers in ${BENCH_WORKERS:-}; do
        for n in $(seq 1 "$REPEAT"); do
            db="cliniko_bench_workers_$size"
            dropdb --if-exists "$db" >/dev/null 2>&1
            createdb -T "$TEMPLATE" "$db"
            say "migrate with $workers worker(s): $size patients ($n/$REPEAT, load average $(cut -d' ' -f1 /proc/loadavg))"
            "$PYTHON" "$ROOT/tools/benchmark.py" --database "$db" --addons-path "$ADDONS_PATH" \
                --patients "$size" --mode migrate --resources "$RESOURCES" --repeat "$n" \
                --workers "$workers" 2>"$LOCAL/bench-workers-$workers-$size-$n.log" |
                tail -n 1 >>"$RESULTS" ||
                die "benchmark with $workers workers failed (log: .local/bench-workers-$workers-$size-$n.log)"
            dropdb --if-exists "$db" >/dev/null 2>&1
        done
    done
    if [ -n "${BENCH_RATE_LIMIT:-}" ]; then
        for ahead in ${BENCH_READ_AHEAD:-default}; do
            db="cliniko_bench_limited_$size"
            dropdb --if-exists "$db" >/dev/null 2>&1
            createdb -T "$TEMPLATE" "$db"
            say "migrate at $BENCH_RATE_LIMIT requests a minute (read ahead: $ahead): $size patients"
            extra=(--rate-limit "$BENCH_RATE_LIMIT")
            [ "$ahead" = default ] || extra+=(--read-ahead "$ahead")
            "$PYTHON" "$ROOT/tools/benchmark.py" --database "$db" --addons-path "$ADDONS_PATH" \
                --patients "$size" --mode migrate --resources "${BENCH_RESOURCES:-patients}" \
                "${extra[@]}" 2>"$LOCAL/bench-limited-$size.log" | tail -n 1 >>"$RESULTS" ||
                die "limited benchmark $size failed (log: .local/bench-limited-$size.log)"
            dropdb --if-exists "$db" >/dev/null 2>&1
        done
    fi
done
dropdb --if-exists "$TEMPLATE" >/dev/null 2>&1

"$PYTHON" "$ROOT/tools/benchmark_report.py" "$RESULTS"
