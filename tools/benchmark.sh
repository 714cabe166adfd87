#!/usr/bin/env bash
# Speed and memory of the migration against Odoo's own import path (Model.load() with the mail
# context keys), for the demo clinic and a 10,000-patient clinic, each measurement in a fresh
# database and a process of its own. The sandbox's rate limit is off so Odoo is measured.
#   tools/benchmark.sh [SIZE ...]        (default: 300 10000)
#   BENCH_RESOURCES=patients             what the migrate mode runs ("all": the whole graph)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(300 10000)
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
    for mode in migrate load; do
        db="cliniko_bench_${mode}_$size"
        dropdb --if-exists "$db" >/dev/null 2>&1
        createdb -T "$TEMPLATE" "$db"
        say "$mode: $size patients"
        "$PYTHON" "$ROOT/tools/benchmark.py" --database "$db" --addons-path "$ADDONS_PATH" \
            --patients "$size" --mode "$mode" --resources "${BENCH_RESOURCES:-patients}" \
            2>"$LOCAL/bench-$mode-$size.log" | tail -n 1 >>"$RESULTS" ||
            die "benchmark $mode $size failed (log: .local/bench-$mode-$size.log)"
        dropdb --if-exists "$db" >/dev/null 2>&1
    done
done
dropdb --if-exists "$TEMPLATE" >/dev/null 2>&1

"$PYTHON" - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print("\n%-8s %9s %8s %9s %10s %14s" % ("mode", "patients", "records", "seconds", "records/s", "peak RSS (MB)"))
for r in rows:
    print("%-8s %9d %8d %9.1f %10.1f %7.0f -> %4.0f" % (r["mode"], r["patients"], r["records"], r["seconds"],
          r["per_second"], r["peak_rss_mb_before"], r["peak_rss_mb_after"]))
by = {(r["mode"], r["patients"]): r for r in rows}
for size in sorted({r["patients"] for r in rows}):
    m, l = by.get(("migrate", size)), by.get(("load", size))
    if m and l:
        print("%d patients: migration %.1fx the speed of load()" % (size, m["per_second"] / l["per_second"]))
PY
