"""Benchmark one migration path in a process of its own (speed and peak memory).

    python3 tools/benchmark.py --database DB --addons-path PATHS --patients N --mode MODE

MODE ``migrate`` runs the addon's migration of the sandbox clinic (patients, through the same
runner an admin uses, committing page by page); ``load`` reads the same patients from the
sandbox and writes them through Odoo's own import path, ``Model.load()`` with the mail context
keys (what the CSV import uses): partners first, then one lead per partner. It prints one JSON
line: records, seconds, records per second, and the process's peak RSS before and after.
Run it through tools/benchmark.sh, which prepares a fresh database for each measurement.

The whole clinic (``--resources all``) is compared with the very records the migration wrote:
``--written FILE`` makes the migrate mode write them down after its measurement, and the load
mode write them again in a fresh database of the same template, through ``load()`` (or the
plain ``create()`` an integrator would use where there is no CSV import: messages, files,
users), page by page, timed per resource (``run_load_written``).
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


def run_migrate(
    env, base_url, api_key, resources, per_minute=0, read_ahead=None, workers=0, addons_path=""
):
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
    if workers:
        # A background run, worked on by ``workers`` worker jobs, each taken by Odoo's
        # scheduler in a process of its own (``cliniko work --threads 1``), as a prefork
        # server's cron workers are: threads of one process would share one interpreter lock.
        # Per-resource timing is the counter lines' (the workers overlap).
        env["cliniko.migration.run"]._cliniko_set_workers(workers)
        run.with_context(cliniko_background=True, cliniko_run_now=False).action_start()
        env.cr.commit()
        from odoo import release  # noqa: PLC0415 - as in main(): once the arguments are read

        odoo_bin = os.path.join(os.path.dirname(os.path.dirname(release.__file__)), "odoo-bin")
        command = [sys.executable, odoo_bin, "--addons-path=%s" % addons_path, "cliniko", "work"]
        command += ["--threads", "1", "-d", env.cr.dbname, "--log-level=warn"]
        processes = [
            subprocess.Popen(command, stdout=subprocess.DEVNULL) for _ in range(workers)
        ]
        failed = [process.wait() for process in processes]
        env.cr.commit()  # a new snapshot: what the workers committed
        env.invalidate_all()
        if any(code not in (0, 1) for code in failed):
            raise SystemExit("the workers failed: exit statuses %s" % failed)
        timing = {
            line.resource: {
                "seconds": line.seconds,
                "cliniko_seconds": 0.0,
                "requests": 0,
                "worker": line.worker,
            }
            for line in run.resource_ids
        }
        timing["(setup)"] = {"seconds": 0.0, "cliniko_seconds": 0.0, "requests": 0}
    else:
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


def load_env(env):
    """``env`` as the load side writes: the migration's context keys (mail, tracking, no
    invitation...) minus ``cliniko_migration``, the key by which the addon's own shortcuts
    for migration writes know them (skipped lead scoring, memoised phone parsing): those are
    the migration's work, not Odoo's import path."""
    from odoo.addons.cliniko_crm_migration.migration.context import MIGRATION_CONTEXT  # noqa: PLC0415 - the addon imports only once Odoo is set up (main)

    context = dict(env.context, **MIGRATION_CONTEXT)
    context.pop("cliniko_migration")
    return env(context=context)


def load_rows(Model, values_list):
    """``(fields, rows)`` for ``Model.load()`` holding exactly ``values_list`` (the dicts the
    migration gives ``create()``): many2one as ``field/.id``, everything else as the text the
    CSV import would read."""
    from odoo import fields as odoo_fields  # noqa: PLC0415 - the addon imports only once Odoo is set up (main)

    names = sorted({name for values in values_list for name in values})
    columns, rows = [], []
    for name in names:
        field = Model._fields[name]
        columns.append(name + "/.id" if field.type in ("many2one", "many2many") else name)
    for values in values_list:
        row = []
        for name in names:
            field, value = Model._fields[name], values.get(name)
            if field.type == "boolean":
                row.append("1" if value else "0")
            elif value is None or value is False:
                row.append("")
            elif field.type == "many2many":
                row.append(",".join(str(one) for one in value))
            elif field.type == "json":
                row.append(json.dumps(value))
            elif isinstance(value, str):
                row.append(value)
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
    env = load_env(runner.env)  # load() with the mail keys (the migration's, minus its own)
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


# -- the fair whole-clinic comparison: the very records the migration wrote, through load() --
# Models an integrator writes through ``create()`` (history as messages and files, users; no CSV
# import of them); every other model through ``load()``, Odoo's CSV import path.
CREATE_MODELS = ("mail.message", "ir.attachment", "res.users")
# Never copied: set by the ORM, computed from the stored file, or the link of _inherits.
SKIPPED_FIELDS = {"id", "create_uid", "create_date", "write_uid", "write_date", "display_name"}
ATTACHMENT_FIELDS = (
    "name",
    "res_model",
    "res_id",
    "res_field",
    "type",
    "url",
    "description",
    "mimetype",
    "public",
    "company_id",
    "datas",
)


def copied_fields(Model):
    """The fields of ``Model`` a copy of a migrated record gives: stored and not computed by
    Odoo alone (editable computes, such as a lead's stage, are given as the migration left
    them). A user's partner comes with it (its fields given to the user, as _inherits does)."""
    if Model._name == "ir.attachment":
        return [Model._fields[name] for name in ATTACHMENT_FIELDS]
    parents = Model._inherits.values()
    return [
        field
        for name, field in Model._fields.items()
        if (field.store or field.inherited and field.related_field.store)
        and name not in SKIPPED_FIELDS
        and name not in parents
        and field.type not in ("one2many",)
        and not (field.compute and field.readonly and not field.inherited)
        and not (field.inherited and field.related_field.compute and field.related_field.readonly)
        and not (field.inherited and field.related_field.type == "one2many")
    ]


def export_written(env, run, path):
    """Write to ``path`` (JSON lines, creation order) every record the run created, with the
    values it holds now: ``{"resource", "model", "id", "values"}``; relations as ids."""
    lines = env["cliniko.audit.log"].sudo().search_read(
        [("run_id", "=", run.id), ("action", "=", "create"), ("res_id", "!=", 0)],
        ["resource", "res_model", "res_id"],
        order="id",
    )
    with open(path, "w") as out:
        out.write(json.dumps({"connection_id": run.connection_id.id, "run_id": run.id}) + "\n")
        for start in range(0, len(lines), 500):
            chunk = lines[start : start + 500]
            by_model = {}
            for line in chunk:
                by_model.setdefault(line["res_model"], []).append(line["res_id"])
            values = {}
            for model, ids in by_model.items():
                Model = env[model].with_context(active_test=False)
                fields_ = copied_fields(Model)
                booleans = [field.name for field in fields_ if field.type == "boolean"]
                true_by_default = {
                    name for name, value in Model.default_get(booleans).items() if value
                }
                for record in Model.browse(ids).exists():
                    if model == "res.partner" and record.user_ids:
                        continue  # written with its user
                    row = {}
                    for field in fields_:
                        value = record[field.name]
                        if field.type == "many2one":
                            value = value.id
                        elif field.type == "many2many":
                            value = value.ids
                        elif field.type in ("date", "datetime"):
                            value = field.to_string(value) if value else False
                        elif field.type == "binary":
                            value = value.decode() if isinstance(value, bytes) else value
                        elif hasattr(value, "__html__"):
                            value = str(value)
                        # what differs from an empty record: set values, and the booleans
                        # that are true unless told (``active``)
                        if value or field.name in true_by_default:
                            row[field.name] = value
                    values[(model, record.id)] = row
                env.invalidate_all()
            for line in chunk:
                key = (line["res_model"], line["res_id"])
                if key in values:
                    out.write(
                        json.dumps(
                            {
                                "resource": line["resource"],
                                "model": key[0],
                                "id": key[1],
                                "values": values.pop(key),
                            },
                            default=str,
                        )
                        + "\n"
                    )


def run_load_written(env, path):
    """Write the records of ``path`` (``export_written``) again in this fresh database, in the
    migration's order, page by page (100 records of one model at a time): through ``load()``
    with the mail context keys, or ``create()`` with them for ``CREATE_MODELS``. Relations
    to migrated records point to their copies; one to a record not written yet (an event's
    lead) is written once the resource is done. Returns the records written and the timing
    per resource (``{"seconds", "records", "path": {model: "load()" | "create()"}}``)."""
    env = load_env(env)
    with open(path) as source:
        header = json.loads(next(source))
        migrated = {(row["model"], row["id"]) for row in map(json.loads, source)}
    connection = env["cliniko.connection"].create(
        {"name": "Benchmark (load)", "contact_email": "bench@example.com", "per_minute": 0}
    )
    run = env["cliniko.migration.run"].create({"connection_id": connection.id})
    env.cr.commit()
    ids = {
        ("cliniko.connection", header["connection_id"]): connection.id,
        ("cliniko.migration.run", header["run_id"]): run.id,
    }
    timing, total = {}, 0

    def target(model, old_id):
        """The id a relation to ``model``/``old_id`` gets here; None: not written yet."""
        if model is None:
            return old_id  # a plain value written afterwards
        if (model, old_id) in ids:
            return ids[model, old_id]
        return None if (model, old_id) in migrated else old_id

    def remapped(Model, values, later):
        result = {}
        for name, value in values.items():
            field = Model._fields[name]
            if field.type == "many2one":
                value = target(field.comodel_name, value)
                if value is None:
                    later[name] = (field.comodel_name, values[name])
                    continue
            elif field.type == "many2many":
                value = [target(field.comodel_name, one) for one in value]
                value = [one for one in value if one is not None]
            elif field.type == "many2one_reference":
                if not values.get(field.model_field):
                    continue  # computed with its model (an event's document: its lead)
                value = target(values[field.model_field], value)
                if value is None:
                    later[name] = (values[field.model_field], values[name])
                    continue
            result[name] = value
        if Model._name == "res.users" and result.get("active") is False:
            # a user is archived after it is created (Odoo refuses an archived partner of an
            # active user on the way), as the migration does
            later["active"] = (None, result.pop("active"))
        return result

    def write(resource, model, rows):
        Model = env[model]
        deferred, vals_list = [], []
        for row in rows:
            later = {}
            vals_list.append(remapped(Model, row["values"], later))
            deferred.append(later)
        if model in CREATE_MODELS:
            new_ids = Model.create(vals_list).ids
        else:
            result = Model.load(*load_rows(Model, vals_list))
            if result.get("messages") or len(result["ids"] or []) != len(rows):
                raise SystemExit("load() of %s failed: %s" % (model, result["messages"][:3]))
            new_ids = result["ids"]
        for row, new_id in zip(rows, new_ids, strict=True):
            ids[model, row["id"]] = new_id
        return [((model, new_id), later) for new_id, later in zip(new_ids, deferred) if later]

    def flush(resource, batch, pending):
        clock = time.perf_counter()
        pending.extend(write(resource, batch[0]["model"], batch))
        line = timing.setdefault(resource, {"seconds": 0.0, "records": 0, "path": {}})
        line["path"][batch[0]["model"]] = (
            "create()" if batch[0]["model"] in CREATE_MODELS else "load()"
        )
        line["records"] += len(batch)
        env.cr.commit()  # page by page, as the migration commits
        line["seconds"] += time.perf_counter() - clock

    def finish(resource, pending):
        clock = time.perf_counter()
        for model_id, later in pending:
            model, new_id = model_id
            values = {name: target(*old) for name, old in later.items()}
            env[model].browse(new_id).write(
                {k: v for k, v in values.items() if v is not None}
            )
        env.cr.commit()
        if resource in timing:
            timing[resource]["seconds"] += time.perf_counter() - clock

    with open(path) as source:
        next(source)
        resource, batch, pending = None, [], []
        for row in map(json.loads, source):
            total += 1
            if row["resource"] != resource:
                if batch:
                    flush(resource, batch, pending)
                    batch = []
                if resource is not None:
                    finish(resource, pending)
                    pending = []
                resource = row["resource"]
            if batch and (batch[0]["model"] != row["model"] or len(batch) >= 100):
                flush(resource, batch, pending)
                batch = []
            batch.append(row)
        if batch:
            flush(resource, batch, pending)
        if resource is not None:
            finish(resource, pending)
    return total, {"timing": timing}


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
    parser.add_argument("--repeat", type=int, default=1, help="which repeat this is (printed)")
    parser.add_argument(
        "--written",
        metavar="FILE",
        help="migrate: afterwards (not timed), write every record the run created to FILE; "
        "load: write the records of FILE again (the whole-clinic comparison)",
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
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="migrate as a background run worked on by this many workers (Odoo's scheduler, "
        "one process each; 0: in this thread, as the command line does)",
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
            load_before = os.getloadavg()[0]
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
                    workers=options.workers,
                    addons_path=options.addons_path,
                )
            elif options.written:
                records, summary = run_load_written(env, options.written)
            else:
                records, summary = run_load(env, base_url, api_key)
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - started
            queries = sql_db.sql_counter - queries
            cr.commit()
            if options.mode == "migrate" and options.written:
                run = env["cliniko.migration.run"].search([], order="id desc", limit=1)
                export_written(env, run, options.written)
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
                "repeat": options.repeat,
                "patients": options.patients,
                "records": records,
                "seconds": round(seconds, 2),
                "per_second": round(records / seconds, 1),
                "queries": queries,
                "peak_rss_mb_before": round(baseline, 1),
                "peak_rss_mb_after": round(peak_rss_mb(), 1),
                # the machine's load (1-minute average) when the measurement began and ended
                "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "summary": summary,
                "rate_limit": options.rate_limit,
                "read_ahead": options.read_ahead,
                "workers": options.workers,
                "api_requests": API_REQUESTS[0],
            }
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
