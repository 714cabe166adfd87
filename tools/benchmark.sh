#!/usr/bin/env bash
# Speed and memory of the migration against Odoo's own import path (Model.load() with the mail
# context keys), for the demo clinic and a 10,000-patient clinic, each measurement in a fresh
# database and a process of its own. The sandbox's rate limit is off so Odoo is measured.
#   tools/benchmark.sh [SIZE ...]        (default: 300 10000)
#   BENCH_RESOURCES=patients             what the migrate mode runs ("all": the whole graph)
#   BENCH_RATE_LIMIT=N                   also migrate with the sandbox's budget at N requests a
#                                        minute (the connection's too); prints the floor (the
#                                        requests / N), the time and the ratio to the floor
#   BENCH_READ_AHEAD="2 0"               with BENCH_RATE_LIMIT: one limited run per value
#                                        (pages read ahead while writing; 0: in turns)
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

"$PYTHON" - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
limited = [r for r in rows if r.get("rate_limit")]  # BENCH_RATE_LIMIT: printed at the end
rows = [r for r in rows if not r.get("rate_limit")]
print("\n%-8s %9s %8s %9s %10s %8s %14s" % ("mode", "patients", "records", "seconds", "records/s", "queries", "peak RSS (MB)"))
for r in rows:
    print("%-8s %9d %8d %9.1f %10.1f %8d %7.0f -> %4.0f" % (r["mode"], r["patients"], r["records"], r["seconds"],
          r["per_second"], r.get("queries", 0), r["peak_rss_mb_before"], r["peak_rss_mb_after"]))
by = {(r["mode"], r["patients"]): r for r in rows}
for size in sorted({r["patients"] for r in rows}):
    m, l = by.get(("migrate", size)), by.get(("load", size))
    timing = ((m or {}).get("summary") or {}).get("timing") or {}
    load_patients = (((l or {}).get("summary") or {}).get("timing") or {}).get("patients")
    load_rate = load_patients["records"] / load_patients["seconds"] if load_patients else None
    if timing:
        # Where the time goes: waiting on Cliniko (every GET and download) against the rest
        # (mapping and writing through the ORM), per resource, in the migration's order.
        print("\n%d patients, per resource (records: Cliniko records written):" % size)
        merged = {}
        for name, t in timing.items():
            if merged and not t["requests"] and t["seconds"] < 0.05 and t.get("records"):
                # read and written within the pages of the resource before (history is one
                # merged stream: treatment notes, communications, patient forms)
                last = list(merged)[-1]
                line = merged.pop(last)
                line = dict(line, records=line.get("records", 0) + t["records"])
                merged[last + "+" + name] = line
            else:
                merged[name] = t
        w = max(len(name) for name in merged)
        print("%-*s %8s %8s %10s %10s %10s %8s %9s" % (w, "resource", "records", "seconds", "records/s",
              "Cliniko s", "writing s", "requests", "vs load()"))
        for name, t in merged.items():
            writing = max(t["seconds"] - t["cliniko_seconds"], 0.0)
            rate = t.get("records", 0) / t["seconds"] if t["seconds"] else 0.0
            ratio = "%.2fx" % (rate / load_rate) if name == "patients" and load_rate else "-"
            print("%-*s %8d %8.1f %10.1f %10.1f %10.1f %8d %9s" % (w, name, t.get("records", 0), t["seconds"],
                  rate, t["cliniko_seconds"], writing, t["requests"], ratio))
        cliniko = sum(t["cliniko_seconds"] for t in timing.values())
        print("%-*s %8s %8.1f %10s %10.1f %10.1f" % (w, "all", "", m["seconds"], "", cliniko, m["seconds"] - cliniko))
    if load_patients:
        print("load() of the same patients (partners, then leads, the migration's own values): "
              "%.1f records/s, %.1f s of it waiting on Cliniko" % (load_rate, load_patients["cliniko_seconds"]))
    if m and l:
        print("%d patients: migration %.2fx the speed of load() (all it wrote, against load() of the patients)"
              % (size, m["per_second"] / l["per_second"]))
for r in limited:
    # The floor: the requests the clinic needs over the per-minute budget; the bound: the
    # floor, or the time Odoo alone needs (the unlimited migration above) when larger.
    floor = r["api_requests"] / r["rate_limit"] * 60.0
    odoo = (by.get(("migrate", r["patients"])) or {}).get("seconds") or 0.0
    bound = max(floor, odoo)
    print("%d patients at %d requests/minute (read ahead: %s): %d requests, floor %.1f s, "
          "Odoo alone %.1f s, took %.1f s: %.2fx the %s"
          % (r["patients"], r["rate_limit"], "default" if r.get("read_ahead") is None else r["read_ahead"], r["api_requests"],
             floor, odoo, r["seconds"], r["seconds"] / bound,
             "floor" if floor >= odoo else "Odoo-bound time"))
PY
