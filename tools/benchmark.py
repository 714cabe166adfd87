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
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def start_sandbox(seed, patients):
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
            "0",
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


def run_migrate(env, base_url, api_key, resources):
    # The local sandbox's base URL is allowed only with this parameter.
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
    run.action_start()
    summary = run.summary()
    if summary["state"] != "done":
        raise SystemExit("migration failed: %s" % summary)
    written = sum(c["created"] + c["updated"] for c in summary["resources"].values())
    return written, summary


def run_load(env, base_url, api_key):
    # The addon is importable only once Odoo's registry is loaded (main, below).
    from odoo.addons.cliniko_crm_migration.cliniko_api import ClinikoClient  # noqa: PLC0415
    from odoo.addons.cliniko_crm_migration.migration.context import silent_env  # noqa: PLC0415
    from odoo.addons.cliniko_crm_migration.migration.importer import (  # noqa: PLC0415
        MappingError,
    )
    from odoo.addons.cliniko_crm_migration.migration.patients import map_patient  # noqa: PLC0415

    env = silent_env(env)
    client = ClinikoClient(
        api_key, contact_email="bench@example.com", base_url=base_url, per_minute=0
    )
    stage = env["crm.stage"]._cliniko_stage("patient")
    team = env.ref("cliniko_crm_migration.crm_team_clinic")
    partner_fields = ["name", "email", "phone", "street", "city", "zip", "comment"]
    lead_fields = [
        "name",
        "partner_id/.id",
        "email_from",
        "phone",
        "type",
        "team_id/.id",
        "stage_id/.id",
        "description",
    ]
    total = 0
    for page in client.iter_pages("/patients", params=[("q[]", "archived_at:*")], per_page=100):
        partner_rows, lead_rows = [], []
        for record in page["patients"]:
            try:
                mapped = map_patient(record, "AU")
            except MappingError:
                continue
            partner = mapped["partner"]
            partner_rows.append([partner[name] or "" for name in partner_fields])
            lead_rows.append(mapped["lead"])
        result = env["res.partner"].load(partner_fields, partner_rows)
        if result.get("messages"):
            raise SystemExit("load() of partners failed: %s" % result["messages"][:3])
        rows = [
            [
                lead["name"],
                str(partner_id),
                lead["email_from"] or "",
                lead["phone"] or "",
                "opportunity",
                str(team.id),
                str(stage.id),
                lead["description"] or "",
            ]
            for lead, partner_id in zip(lead_rows, result["ids"], strict=True)
        ]
        result = env["crm.lead"].load(lead_fields, rows)
        if result.get("messages"):
            raise SystemExit("load() of leads failed: %s" % result["messages"][:3])
        total += len(rows)
        env.cr.commit()
    return total, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=("migrate", "load"), default="migrate")
    parser.add_argument(
        "--resources",
        default="patients",
        help="resources the migrate mode runs, comma-separated, or 'all' (default: patients)",
    )
    options = parser.parse_args()

    import odoo  # noqa: PLC0415 - imported after argument parsing on purpose (slow)
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415 - as odoo, above
    from odoo.modules.registry import Registry  # noqa: PLC0415 - as odoo, above
    from odoo.tools import config  # noqa: PLC0415 - as odoo, above

    config.parse_config(
        ["--addons-path", options.addons_path, "-d", options.database, "--log-level", "warn"],
        setup_logging=True,
    )
    sandbox, base_url, api_key = start_sandbox(options.seed, options.patients)
    try:
        registry = Registry(options.database)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            baseline = peak_rss_mb()
            started = time.perf_counter()
            if options.mode == "migrate":
                records, summary = run_migrate(env, base_url, api_key, options.resources)
            else:
                records, summary = run_load(env, base_url, api_key)
            seconds = time.perf_counter() - started
            cr.commit()
    finally:
        sandbox.terminate()
        sandbox.wait()
    del odoo
    sys.stdout.write(
        json.dumps(
            {
                "mode": options.mode,
                "patients": options.patients,
                "records": records,
                "seconds": round(seconds, 2),
                "per_second": round(records / seconds, 1),
                "peak_rss_mb_before": round(baseline, 1),
                "peak_rss_mb_after": round(peak_rss_mb(), 1),
                "summary": summary,
            }
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
