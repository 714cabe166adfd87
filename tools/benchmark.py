"""Benchmark one migration path in a process of its own (speed and peak memory).

    python3 tools/benchmark.py --database DB --addons-path PATHS --patients N --mode MODE

MODE ``migrate`` runs the addon's migration of the sandbox clinic (patients, through the same
runner an admin uses, committing page by page); ``load`` reads the same patients from the
sandbox and writes them through Odoo's own import path, ``Model.load()`` with the mail context
keys (what the CSV import uses): partners first, then one lead per partner. It prints one JSON
line: records, seconds, records per second, and the process's peak RSS before and after.
Run it through tools/benchmark.sh, which prepares a fresh database for each measurement.
"""

import argparse
import cProfile
import json
import os
import pstats
import resource
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def start_sandbox(seed, patients, rate_limit=0):
    process = subprocess.Popen(
        [
            sys.executable,
            os.path.join(HERE, "cliniko_sandbox.py"),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--seed",
            str(seed),
            "--patients",
            str(patients),
            "--rate-limit",
            str(rate_limit),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    values = {}
    while len(values) < 2:
        line = process.stdout.readline()
        if not line:
            raise SystemExit("the sandbox did not start")
        key, _, value = line.strip().partition("=")
        values[key] = value
    return process, values["base_url"], values["api_key"]


API_REQUESTS = [0]  # requests on the key's budget (instrument())


def instrument():
    """Time, per resource, the run's whole import and the part of it spent waiting on Cliniko
    (every GET and download of the client), by wrapping the runner and the client in this
    process only. Returns ``{resource: {"seconds": s, "cliniko_seconds": s, "requests": n}}``;
    what happens outside a resource (the field map, the clinic's country) is "(setup)"."""
    from odoo.addons.cliniko_crm_migration.cliniko_api import ClinikoClient, PageReader  # noqa: PLC0415 - the addon imports only once Odoo is set up (main)
    from odoo.addons.cliniko_crm_migration.migration.runner import MigrationRunner  # noqa: PLC0415 - the addon imports only once Odoo is set up (main)

    timing = {}
    current = ["(setup)"]
    main = threading.current_thread()

    def entry(name):
        return timing.setdefault(name, {"seconds": 0.0, "cliniko_seconds": 0.0, "requests": 0})

    entry("(setup)")

    taking = threading.local()

    def timed_client(method):
        def wrapper(self, *args, **kwargs):
            started = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                line = entry(current[-1])
                line["requests"] += 1
                # A page reader's GET overlaps the writing: the run waited for it only as
                # long as it waited to take the page (timed_take).
                if not (getattr(taking, "page", False) or threading.current_thread() != main):
                    line["cliniko_seconds"] += time.perf_counter() - started

        return wrapper

    def timed_take(method):
        def wrapper(self, *args, **kwargs):
            started = time.perf_counter()
            taking.page = True
            try:
                return method(self, *args, **kwargs)
            finally:
                taking.page = False
                entry(current[-1])["cliniko_seconds"] += time.perf_counter() - started

        return wrapper

    import_resource = MigrationRunner._import_resource

    def timed_import(self, resource):
        current.append(resource.name)
        started = time.perf_counter()
        try:
            return import_resource(self, resource)
        finally:
            entry(resource.name)["seconds"] += time.perf_counter() - started
            current.pop()

    from odoo.addons.cliniko_crm_migration.cliniko_api import SlidingWindowLimiter  # noqa: PLC0415 - the addon imports only once Odoo is set up (main)

    acquire = SlidingWindowLimiter.acquire

    def counted_acquire(self):
        # every request on the key's budget (retries and downloads included): the floor's R
        API_REQUESTS[0] += 1
        return acquire(self)

    SlidingWindowLimiter.acquire = counted_acquire
    ClinikoClient.get = timed_client(ClinikoClient.get)
    PageReader.take = timed_take(PageReader.take)
    ClinikoClient.download = timed_client(ClinikoClient.download)
    MigrationRunner._import_resource = timed_import
    return timing


def run_migrate(env, base_url, api_key, resources, per_minute=0, read_ahead=None):
    # The local sandbox's base URL is allowed only with this parameter.
    env["ir.config_parameter"].set_param("cliniko_crm_migration.allow_sandbox_url", "True")
    connection = env["cliniko.connection"].create(
        {
            "name": "Benchmark",
            "api_key": api_key,
            "base_url": base_url,
            "contact_email": "bench@example.com",
            "per_minute": per_minute,
        }
    )
    if read_ahead is not None:
        env = env(context=dict(env.context, cliniko_read_ahead=read_ahead))
    run = env["cliniko.migration.run"].create(
        {
            "connection_id": connection.id,
            # "all" runs the whole graph (every resource Cliniko serves)
            "resources": "" if resources == "all" else resources,
            # practitioners with no Odoo user become placeholder users, as a clinic would choose
            "unmatched_practitioners": "placeholder",
            # the proposed field map, confirmed as is (what --accept-proposed-map does)
            "cliniko_accept_proposed_map": True,
        }
    )
    env.cr.commit()
    timing = instrument()
    started = time.perf_counter()
    run.action_start()
    timing["(setup)"]["seconds"] = max(
        0.0, time.perf_counter() - started - sum(line["seconds"] for line in timing.values())
    )
    summary = run.summary()
    if summary["state"] != "done":
        raise SystemExit("migration failed: %s" % summary)
    written = sum(c["created"] + c["updated"] for c in summary["resources"].values())
    for name, counts in summary["resources"].items():
        line = timing.setdefault(name, {"seconds": 0.0, "cliniko_seconds": 0.0, "requests": 0})
        line["records"] = counts["created"] + counts["updated"]
    summary["timing"] = {
        name: dict(
            line,
            seconds=round(line["seconds"], 3),
            cliniko_seconds=round(line["cliniko_seconds"], 3),
        )
        for name, line in timing.items()
    }
    return written, summary


def load_rows(Model, values_list):
    """``(fields, rows)`` for ``Model.load()`` holding exactly ``values_list`` (the dicts the
    migration gives ``create()``): many2one as ``field/.id``, everything else as the text the
    CSV import would read."""
    from odoo import fields as odoo_fields  # noqa: PLC0415 - the addon imports only once Odoo is set up (main)

    names = sorted({name for values in values_list for name in values})
    columns, rows = [], []
    for name in names:
        field = Model._fields[name]
        columns.append(name + "/.id" if field.type == "many2one" else name)
    for values in values_list:
        row = []
        for name in names:
            field, value = Model._fields[name], values.get(name)
            if field.type == "boolean":
                row.append("1" if value else "0")
            elif value is None or value is False:
                row.append("")
            elif field.type == "json":
                row.append(json.dumps(value))
            elif field.type == "date":
                row.append(odoo_fields.Date.to_string(value))
            elif field.type == "datetime":
                row.append(odoo_fields.Datetime.to_string(value))
            else:
                row.append(str(value))
        rows.append(row)
    return columns, rows


def run_load(env, base_url, api_key):
    """The same patients, mapped by the migration's own importer (the same partner and lead
    values, links and defaults), written through ``load()``: partners, then leads."""
    from odoo.addons.cliniko_crm_migration.migration.importer import Item, MappingError  # noqa: PLC0415 - the addon imports only once Odoo is set up (main)
    from odoo.addons.cliniko_crm_migration.migration.patients import (  # noqa: PLC0415 - the addon imports only once Odoo is set up (main)
        NEW_LEAD_SUMMARIES,
        PatientImporter,
    )
    from odoo.addons.cliniko_crm_migration.migration.runner import MigrationRunner  # noqa: PLC0415 - the addon imports only once Odoo is set up (main)

    env["ir.config_parameter"].set_param("cliniko_crm_migration.allow_sandbox_url", "True")
    connection = env["cliniko.connection"].create(
        {
            "name": "Benchmark",
            "api_key": api_key,
            "base_url": base_url,
            "contact_email": "bench@example.com",
            "per_minute": 0,
        }
    )
    run = env["cliniko.migration.run"].create({"connection_id": connection.id})
    env.cr.commit()
    runner = MigrationRunner(run)
    runner.region = "AU"
    importer = PatientImporter(runner)
    importer.before_resource()
    env = runner.env  # the migration's context keys: load() with the mail keys
    Partner, Lead = env["res.partner"], env["crm.lead"]
    timing = {"seconds": 0.0, "cliniko_seconds": 0.0, "requests": 0}
    started = time.perf_counter()
    total = 0
    pages = importer.pages()
    while True:
        clock = time.perf_counter()
        records = next(pages, None)
        timing["cliniko_seconds"] += time.perf_counter() - clock
        timing["requests"] += 1
        if records is None:
            break
        items = [Item(record) for record in records if not importer.skip_reason(record)]
        importer.prepare(items)
        mapped = []
        for item in items:
            try:
                mapped.append(importer.map(item))
            except MappingError:
                continue
        result = Partner.load(*load_rows(Partner, [values["partner"] for values in mapped]))
        if result.get("messages"):
            raise SystemExit("load() of partners failed: %s" % result["messages"][:3])
        leads = [
            dict(values["lead"], partner_id=partner_id, **NEW_LEAD_SUMMARIES)
            for values, partner_id in zip(mapped, result["ids"], strict=True)
        ]
        result = Lead.load(*load_rows(Lead, leads))
        if result.get("messages"):
            raise SystemExit("load() of leads failed: %s" % result["messages"][:3])
        total += len(leads)
        env.cr.commit()
    timing["seconds"] = time.perf_counter() - started
    timing["records"] = total
    return total, {"timing": {"patients": timing}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=("migrate", "load"), default="migrate")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="profile the measured part with cProfile: stats to FILE, the top entries to stderr",
    )
    parser.add_argument(
        "--resources",
        default="patients",
        help="resources the migrate mode runs, comma-separated, or 'all' (default: patients)",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=0,
        help="the sandbox's requests per minute, and the connection's budget (0: off)",
    )
    parser.add_argument(
        "--read-ahead",
        type=int,
        default=None,
        help="pages the migrate mode reads ahead while it writes (0: in turns; default: the "
        "runner's)",
    )
    options = parser.parse_args()

    import odoo  # noqa: PLC0415 - imported after argument parsing on purpose (slow)
    from odoo import SUPERUSER_ID, api, sql_db  # noqa: PLC0415 - as odoo, above
    from odoo.modules.registry import Registry  # noqa: PLC0415 - as odoo, above
    from odoo.tools import config  # noqa: PLC0415 - as odoo, above

    config.parse_config(
        ["--addons-path", options.addons_path, "-d", options.database, "--log-level", "warn"],
        setup_logging=True,
    )
    sandbox, base_url, api_key = start_sandbox(options.seed, options.patients, options.rate_limit)
    try:
        registry = Registry(options.database)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            baseline = peak_rss_mb()
            profiler = cProfile.Profile() if options.profile else None
            queries = sql_db.sql_counter
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            if options.mode == "migrate":
                records, summary = run_migrate(
                    env,
                    base_url,
                    api_key,
                    options.resources,
                    per_minute=options.rate_limit,
                    read_ahead=options.read_ahead,
                )
            else:
                records, summary = run_load(env, base_url, api_key)
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - started
            queries = sql_db.sql_counter - queries
            cr.commit()
    finally:
        sandbox.terminate()
        sandbox.wait()
    del odoo
    if profiler:
        profiler.dump_stats(options.profile)
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(40)
    sys.stdout.write(
        json.dumps(
            {
                "mode": options.mode,
                "patients": options.patients,
                "records": records,
                "seconds": round(seconds, 2),
                "per_second": round(records / seconds, 1),
                "queries": queries,
                "peak_rss_mb_before": round(baseline, 1),
                "peak_rss_mb_after": round(peak_rss_mb(), 1),
                "summary": summary,
                "rate_limit": options.rate_limit,
                "read_ahead": options.read_ahead,
                "api_requests": API_REQUESTS[0],
            }
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
