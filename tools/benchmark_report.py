"""The summary of ``tools/benchmark.sh``: its JSON lines (``tools/benchmark.py``) as tables.

    python3 tools/benchmark_report.py .local/bench-results.jsonl

Per size: each measurement (mode, repeat, records, seconds, records/s, queries, peak RSS, the
machine's load average), then per resource the median over the repeats of records/s, seconds
waiting on Cliniko against seconds writing, and the ratio to the fair comparison (the same
records through ``load()``/``create()``, see ``tools/benchmark.py``), then the ratio of the
whole run in each repeat and its median. A ratio is taken within one repeat (the migration
and the load side measured one after the other), never across repeats.
"""

import json
import statistics
import sys


def median(values):
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


def merged_timing(timing):
    """Resources read within the pages of the resource before (history is one merged stream:
    treatment notes, communications, patient forms) share its line."""
    merged = {}
    for name, line in timing.items():
        if merged and not line["requests"] and line["seconds"] < 0.05 and line.get("records"):
            last = list(merged)[-1]
            before = merged.pop(last)
            merged[last + "+" + name] = dict(
                before, records=before.get("records", 0) + line["records"], members=[
                    *before.get("members", [last]), name
                ]
            )
        else:
            merged[name] = dict(line, members=[name])
    return merged


def load_seconds(load_row, members):
    """Seconds the load side spent on the records of ``members`` (resources), and how."""
    timing = (load_row.get("summary") or {}).get("timing") or {}
    found = [timing[name] for name in members if name in timing]
    if not found:
        return None, ""
    paths = {}
    for line in found:
        paths.update(line.get("path") or {})
    how = ", ".join("%s %s" % (model, path) for model, path in sorted(paths.items()))
    if "path" not in found[0]:  # the patients' load(): read from Cliniko and mapped, too
        how = "res.partner load(), crm.lead load() (read and mapped by the importer)"
    return sum(line["seconds"] for line in found), how


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    limited = [r for r in rows if r.get("rate_limit")]  # BENCH_RATE_LIMIT: printed at the end
    by_workers = [r for r in rows if r.get("workers")]  # BENCH_WORKERS: printed at the end
    rows = [r for r in rows if not r.get("rate_limit") and not r.get("workers")]
    print(
        "\n%-8s %6s %9s %8s %9s %10s %8s %14s %10s"
        % ("mode", "repeat", "patients", "records", "seconds", "records/s", "queries",
           "peak RSS (MB)", "load avg")
    )
    for r in rows:
        print(
            "%-8s %6d %9d %8d %9.1f %10.1f %8d %7.0f -> %4.0f %4.1f-%4.1f"
            % (r["mode"], r.get("repeat", 1), r["patients"], r["records"], r["seconds"],
               r["per_second"], r.get("queries", 0), r["peak_rss_mb_before"],
               r["peak_rss_mb_after"], *(r.get("load_average") or [0, 0]))
        )
    by = {(r["mode"], r["patients"], r.get("repeat", 1)): r for r in rows}
    peaks = {}
    for size in sorted({r["patients"] for r in rows}):
        repeats = sorted({r.get("repeat", 1) for r in rows if r["patients"] == size})
        pairs = [(by.get(("migrate", size, n)), by.get(("load", size, n))) for n in repeats]
        pairs = [(m, l) for m, l in pairs if m]
        if not pairs:
            continue
        peaks[size] = median([m["peak_rss_mb_after"] for m, _l in pairs])
        per_resource = {}
        whole = []
        for m, l in pairs:
            merged = merged_timing(((m.get("summary") or {}).get("timing")) or {})
            total_load = 0.0
            for name, t in merged.items():
                line = per_resource.setdefault(name, {"how": "", "values": []})
                seconds_l, how = load_seconds(l, t["members"]) if l else (None, "")
                line["how"] = line["how"] or how
                rate = t.get("records", 0) / t["seconds"] if t["seconds"] else 0.0
                ratio = seconds_l / t["seconds"] if seconds_l and t["seconds"] else None
                total_load += seconds_l or 0.0
                line["values"].append(
                    (t.get("records", 0), t["seconds"], rate, t["cliniko_seconds"],
                     max(t["seconds"] - t["cliniko_seconds"], 0.0), t["requests"], ratio)
                )
            if l and l.get("summary", {}).get("timing", {}).get("patients", {}).get("path"):
                # the whole clinic: the same records, their load() against the migration
                whole.append(total_load / m["seconds"] if m["seconds"] else None)
            elif l:
                whole.append(m["per_second"] / l["per_second"] if l["per_second"] else None)
        print(
            "\n%d patients, per resource, median of %d (records: Cliniko records written; "
            "vs load(): the same records through load()/create(), speed ratio):"
            % (size, len(pairs))
        )
        w = max(len(name) for name in per_resource)
        print(
            "%-*s %8s %8s %10s %10s %10s %8s %9s"
            % (w, "resource", "records", "seconds", "records/s", "Cliniko s", "writing s",
               "requests", "vs load()")
        )
        for name, line in per_resource.items():
            columns = list(zip(*line["values"], strict=True))
            med = [median(column) for column in columns]
            ratio = "%.2fx" % med[6] if med[6] is not None else "-"
            print(
                "%-*s %8d %8.1f %10.1f %10.1f %10.1f %8d %9s"
                % (w, name, med[0], med[1], med[2], med[3], med[4], med[5], ratio)
            )
        print("load side, per resource:")
        for name, line in per_resource.items():
            if line["how"]:
                print("  %-*s %s" % (w, name, line["how"]))
        if whole:
            print(
                "%d patients: migration %s the speed of the load side, median %.2fx"
                % (size, ", ".join("%.2fx" % ratio for ratio in whole if ratio), median(whole))
            )
    if len(peaks) > 1:
        sizes = sorted(peaks)
        print(
            "peak RSS (median): %s; %d against %d patients: %.2fx"
            % (", ".join("%d: %.0f MB" % (size, peaks[size]) for size in sizes), sizes[-1],
               sizes[0], peaks[sizes[-1]] / peaks[sizes[0]])
        )

    for r in limited:
        # The floor: the requests the clinic needs over the per-minute budget; the bound: the
        # floor, or the time Odoo alone needs (the unlimited migration above) when larger.
        floor = r["api_requests"] / r["rate_limit"] * 60.0
        odoo = median(
            [row["seconds"] for row in rows
             if row["mode"] == "migrate" and row["patients"] == r["patients"]]
        ) or 0.0
        bound = max(floor, odoo)
        print(
            "%d patients at %d requests/minute (read ahead: %s): %d requests, floor %.1f s, "
            "Odoo alone %.1f s, took %.1f s: %.2fx the %s"
            % (r["patients"], r["rate_limit"],
               "default" if r.get("read_ahead") is None else r["read_ahead"],
               r["api_requests"], floor, odoo, r["seconds"], r["seconds"] / bound,
               "floor" if floor >= odoo else "Odoo-bound time")
        )

    print_workers(by_workers)


def print_workers(rows):
    """Background runs by 1, 2... workers: median seconds, records/s, and the speed-up over
    one worker (within the same size; the medians of the repeats)."""
    for size in sorted({r["patients"] for r in rows}):
        medians = {}
        for workers in sorted({r["workers"] for r in rows if r["patients"] == size}):
            runs = [r for r in rows if r["patients"] == size and r["workers"] == workers]
            medians[workers] = (
                median([r["seconds"] for r in runs]),
                median([r["per_second"] for r in runs]),
                [r["seconds"] for r in runs],
            )
        one = medians.get(1, (None,))[0]
        for workers, (seconds, rate, each) in medians.items():
            speedup = " speed-up %.2fx over 1 worker" % (one / seconds) if one and seconds else ""
            print(
                "%d patients, %d worker(s): %s s, median %.1f s, %.1f records/s.%s"
                % (size, workers, ", ".join("%.1f" % value for value in each), seconds, rate,
                   speedup)
            )


if __name__ == "__main__":
    main(sys.argv[1])
