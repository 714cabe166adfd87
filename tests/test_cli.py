"""The headless command, run as scripts run it: a real odoo-bin process on its own database."""

import json
import os
import signal
import subprocess
import tempfile
import time

from odoo.sql_db import db_connect
from odoo.tests import BaseCase, tagged

from ..tools import sandbox_exports
from ..tools.cliniko_sandbox import ClinikoSandbox
from .common import odoo_command, spare_database


@tagged("post_install", "-at_install")
class TestCliniko(BaseCase):
    """``odoo-bin cliniko migrate`` then ``cliniko rollback`` on a database of their own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # No per-minute budget: the workflow's ~200 requests would cross Cliniko's 200 a
        # minute by chance and wait most of a minute; one forced 429 in the delta (below) is
        # the rate limit's part here, waited out in a second.
        cls.sandbox = ClinikoSandbox(seed=5, patients=20, rate_limit=0).start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.db = spare_database(cls)

    @classmethod
    def command(cls, args):
        return odoo_command(args)

    @classmethod
    def odoo(cls, args, check=False):
        command = cls.command(args)
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        if check and result.returncode:
            raise AssertionError(result.stderr[-3000:])
        return result

    def cliniko(self, *args):
        if args[0] in ("migrate", "sample") and "--unmatched-practitioners" not in args:
            args = (*args, "--unmatched-practitioners", "unassigned")
        if args[0] in ("migrate", "sample") and "--no-map" not in args:
            args = (*args, "--accept-proposed-map")
        args = tuple(arg for arg in args if arg != "--no-map")
        result = self.odoo(["cliniko", *args, "-d", self.db, "--log-level=warn"])
        # The sandbox has no limit (as in ClinikoSandboxCase): the connection's budget, shared by
        # every command on the key (migration/budget.py), would make the workflow's ~200
        # requests wait for the minute to pass.
        with db_connect(self.db).cursor() as cr:
            cr.execute("UPDATE cliniko_connection SET per_minute = 100000")
        return result

    def summary(self, result):
        return json.loads(result.stdout.strip().splitlines()[-1])

    def sandbox_args(self):
        return ("--api-key", self.sandbox.api_key, "--base-url", self.sandbox.base_url)

    def test_a_bad_key_exits_non_zero_with_a_failed_run(self):
        result = self.cliniko(
            "migrate",
            "--api-key",
            "nope-au1",
            "--base-url",
            self.sandbox.base_url,
            "--contact-email",
            "ci@example.com",
            "--json",
        )
        self.assertNotEqual(result.returncode, 0)
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertEqual(summary["state"], "failed")
        self.assertNotIn("nope-au1", result.stdout + result.stderr)

    def test_each_step_of_the_workflow_scripted_in_order(self):
        """Audit, refusal on an unconfirmed map, sample with its diff, verify, migrate (its JSON
        summary and exit status), a second migrate that creates nothing, delta, undo."""
        audit = self.cliniko("audit", *self.sandbox_args(), "--contact-email", "ci@e.com", "--json")
        self.assertEqual(audit.returncode, 0, audit.stderr[-3000:])
        findings = self.summary(audit)["findings"]
        self.assertTrue(findings, "the sandbox plants duplicates, orphans and bad phones")
        self.assertTrue(all(isinstance(count, int) for count in findings.values()))

        refused = self.cliniko("migrate", *self.sandbox_args(), "--no-map", "--json")
        self.assertEqual(refused.returncode, 2, refused.stdout + refused.stderr[-2000:])
        self.assertIn("map", self.summary(refused)["error"].lower())

        sample = self.cliniko("sample", *self.sandbox_args(), "--size", "5", "--json")
        self.assertEqual(sample.returncode, 0, sample.stderr[-3000:])
        sampled = self.summary(sample)
        self.assertEqual(sampled["state"], "done")
        self.assertLessEqual(sampled["resources"]["patients"]["created"], 5 + 3)
        self.assertIn("mismatches", sampled["diff"])

        verify = self.cliniko("verify", "--run", str(sampled["run_id"]), "--json")
        verified = self.summary(verify)
        self.assertIn("resources", verified)
        self.assertEqual(verify.returncode, 0 if verified["verified"] else 1)

        # The confirmed map is reused: no --accept-proposed-map needed any more.
        full = self.cliniko(
            "migrate", *self.sandbox_args(), "--contact-email", "ci@e.com", "--no-map", "--json"
        )
        self.assertEqual(full.returncode, 0, full.stderr[-3000:])
        migrated = self.summary(full)
        self.assertEqual(migrated["state"], "done")
        patients = migrated["resources"]["patients"]
        self.assertEqual(
            set(patients),
            {"fetched", "created", "updated", "unchanged", "skipped", "failed", "conflicted"},
        )
        self.assertGreater(patients["created"], 0)
        self.assertEqual(
            patients["fetched"],
            sum(patients[k] for k in ("created", "updated", "unchanged", "skipped", "failed")),
        )

        # Run again, it creates nothing.
        again = self.cliniko("migrate", *self.sandbox_args(), "--no-map", "--json")
        self.assertEqual(again.returncode, 0, again.stderr[-3000:])
        self.assertEqual(self.summary(again)["resources"]["patients"]["created"], 0)

        # The cutover: a change in Cliniko arrives with the next delta sync.
        clinic = self.sandbox.clinic
        patient_id = next(
            pid
            for pid, patient in clinic.resources["patients"].items()
            if not any(patient.get(key) for key in ("deleted_at", "merged_at", "archived_at"))
        )
        clinic.now = max(time.time(), clinic.now.timestamp() + 1)  # the clinic's clock: now
        clinic.update("patients", patient_id, city="Deltaville")
        # Cliniko's rate limit answers the delta once: the command waits it out and goes on.
        self.sandbox.fail_next(1, 429, "/patients")
        requests_before = len(self.sandbox.requests_log)
        delta = self.cliniko("delta", *self.sandbox_args(), "--json")
        self.assertEqual(delta.returncode, 0, delta.stdout[-2000:] + delta.stderr[-3000:])
        answered = self.sandbox.requests_log[requests_before:]
        limited = [i for i, entry in enumerate(answered) if entry["status"] == 429]
        self.assertEqual(len(limited), 1, "the delta was answered 429 once")
        asked = answered[limited[0]]
        self.assertIn(
            (asked["path"], asked["query"], 200),
            [(e["path"], e["query"], e["status"]) for e in answered[limited[0] + 1 :]],
            "and asked the same page again after the wait",
        )
        synced = self.summary(delta)
        self.assertEqual(synced["run_type"], "delta")
        self.assertGreaterEqual(synced["resources"]["patients"]["updated"], 1)

        rollback = self.cliniko("rollback", "--run", str(migrated["run_id"]), "--json")
        self.assertEqual(rollback.returncode, 0, rollback.stderr[-3000:])
        self.assertEqual(self.summary(rollback)["state"], "rolled_back")

    def test_data_exports_import_after_the_map_is_confirmed_once(self):
        """``cliniko import-export``: refused (exit 1) on an unconfirmed column map, imported
        with ``--accept-proposed-map``, then a re-import creates nothing; a file of a type the
        addon does not read exits 2 in one plain sentence. A clinic of its own (no API key, ids
        no other test of this class uses), so the order of the tests does not matter."""
        clinic = ClinikoSandbox(seed=23, patients=4).clinic  # its file only: no server
        rows = len(sandbox_exports.export_patients(clinic))
        directory = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ["rm", "-rf", directory], check=False)
        path = os.path.join(directory, sandbox_exports.file_name(clinic))
        with open(path, "wb") as handle:
            handle.write(sandbox_exports.patients_csv(clinic))
        args = ("import-export", "--name", "Exports (CLI test)", "--file", path, "--json")

        unconfirmed = self.cliniko(*args)
        self.assertEqual(unconfirmed.returncode, 1, unconfirmed.stderr[-3000:])
        refused = self.summary(unconfirmed)
        self.assertEqual(refused["state"], "needs_confirmation")
        self.assertNotIn("run_id", refused)
        self.assertEqual(refused["files"][0]["rows"], rows)

        imported = self.cliniko(*args, "--accept-proposed-map")
        self.assertEqual(imported.returncode, 0, imported.stderr[-3000:])
        summary = self.summary(imported)
        self.assertEqual(summary["state"], "done")
        self.assertEqual(summary["connection_id"], refused["connection_id"])
        counters = summary["export"]
        self.assertEqual(
            (counters["rows"], counters["matched"], counters["created"], counters["failed"]),
            (rows, 0, rows, 0),
        )

        # The map is confirmed now: no flag needed, and every row is matched, none created.
        again = self.cliniko(*args)
        self.assertEqual(again.returncode, 0, again.stderr[-3000:])
        counters = self.summary(again)["export"]
        self.assertEqual(
            (counters["rows"], counters["matched"], counters["created"], counters["failed"]),
            (rows, rows, 0, 0),
        )
        self.assertEqual(counters["enriched"], 0)

        invoices = os.path.join(directory, "Invoices-Cliniko-20260101.csv")
        with open(invoices, "wb") as handle:
            handle.write(b"Invoice ID,Total\r\n1,2\r\n")
        unknown = self.cliniko("import-export", "--file", invoices, "--json")
        self.assertEqual(unknown.returncode, 2, unknown.stdout + unknown.stderr[-3000:])
        self.assertNotIn("Traceback", unknown.stdout + unknown.stderr)
        error = self.summary(unknown)["error"]
        self.assertIn("does not read", error)
        self.assertEqual(len(error.splitlines()), 1)
        self.assertIn(error, unknown.stderr)

    def query(self, sql, params=()):
        with db_connect(self.db).cursor() as cr:
            cr.execute(sql, params)
            return cr.fetchall()

    def test_runs_killed_in_the_middle_resume_without_duplicates(self):
        """kill -9 in the middle of a migration, then ``cliniko resume``: it carries on from
        its committed pages, nothing is created twice, the counters still add up. Then kill -9
        in the middle of a delta sync: the next delta supersedes it and brings every change."""
        sandbox = ClinikoSandbox(seed=11, patients=150).start()
        self.addCleanup(sandbox.stop)
        sandbox.slow_rate, sandbox.slow_seconds = 1.0, 0.2  # every answer takes a while
        args = ["--api-key", sandbox.api_key, "--base-url", sandbox.base_url]
        process = subprocess.Popen(  # noqa: S603 - our own odoo-bin
            self.command(
                ["cliniko", "migrate", *args, "--contact-email", "crash@example.com"]
                + ["--accept-proposed-map", "--unmatched-practitioners", "unassigned"]
                + ["--json", "-d", self.db, "--log-level=warn"]
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.addCleanup(lambda: process.poll() is None and process.kill())
        run_id, deadline = None, time.time() + 300
        while run_id is None and time.time() < deadline:
            self.assertIsNone(process.poll(), "the run ended before it could be killed")
            rows = self.query(
                "SELECT run.id FROM cliniko_migration_run run "
                "JOIN cliniko_connection con ON con.id = run.connection_id "
                "JOIN cliniko_migration_run_resource line ON line.run_id = run.id "
                "WHERE con.base_url = %s AND run.state = 'running' "
                "GROUP BY run.id HAVING sum(line.pages_done) >= 3 "
                "AND bool_or(line.resource = 'patients' AND line.pages_done >= 1)",
                (sandbox.base_url,),
            )
            run_id = rows[0][0] if rows else None
            time.sleep(0.1)
        self.assertTrue(run_id, "the run never got going")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        self.assertEqual(
            self.query("SELECT state FROM cliniko_migration_run WHERE id = %s", (run_id,)),
            [("running",)],
            "killed mid-way, the run still says running",
        )
        sandbox.slow_rate = 0.0
        resumed = self.cliniko("resume", "--run", str(run_id), "--json")
        self.assertEqual(resumed.returncode, 0, resumed.stdout[-2000:] + resumed.stderr[-3000:])
        summary = self.summary(resumed)
        self.assertEqual(summary["state"], "done")
        for resource, counts in summary["resources"].items():
            self.assertEqual(
                counts["fetched"],
                sum(
                    counts[key] for key in ("created", "updated", "unchanged", "skipped", "failed")
                ),
                resource,
            )
        patients = summary["resources"]["patients"]
        self.assertEqual(patients["fetched"], len(self.listed_patients(sandbox)))
        # Nothing twice: one contact and one patient lead per migrated patient.
        ((partners, distinct),) = self.query(
            "SELECT count(*), count(DISTINCT cliniko_patient_id) FROM res_partner p "
            "JOIN cliniko_external_ref ref ON ref.res_model = 'res.partner' AND ref.res_id = p.id "
            "JOIN cliniko_migration_run run ON run.connection_id = ref.connection_id "
            "WHERE run.id = %s AND ref.resource = 'patients'",
            (run_id,),
        )
        self.assertEqual(partners, distinct)
        self.assertEqual(partners, patients["created"])
        duplicated_leads = self.query(
            "SELECT partner_id FROM crm_lead WHERE cliniko_lead_kind = 'patient' "
            "GROUP BY partner_id HAVING count(*) > 1"
        )
        self.assertEqual(duplicated_leads, [])

        # The cutover: a delta killed in the middle is superseded by the next one, which reads
        # its window again; nothing is duplicated and every change arrives.
        clinic = sandbox.clinic
        clinic.now = max(time.time(), clinic.now.timestamp() + 1)
        changed = [
            pid
            for pid, patient in sorted(clinic.resources["patients"].items())
            if not any(patient.get(key) for key in ("deleted_at", "merged_at", "archived_at"))
        ]
        for pid in changed:
            clinic.update("patients", pid, city="Cutover")
        sandbox.slow_rate = 1.0
        process = subprocess.Popen(  # noqa: S603 - our own odoo-bin
            self.command(["cliniko", "delta", *args, "--json", "-d", self.db, "--log-level=warn"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.addCleanup(lambda: process.poll() is None and process.kill())
        delta_id, deadline = None, time.time() + 300
        while delta_id is None and time.time() < deadline:
            self.assertIsNone(process.poll(), "the delta ended before it could be killed")
            rows = self.query(
                "SELECT run.id FROM cliniko_migration_run run "
                "JOIN cliniko_connection con ON con.id = run.connection_id "
                "JOIN cliniko_migration_run_resource line ON line.run_id = run.id "
                "WHERE con.base_url = %s AND run.state = 'running' AND run.run_type = 'delta' "
                "GROUP BY run.id "
                "HAVING bool_or(line.resource = 'patients' AND line.pages_done >= 1)",
                (sandbox.base_url,),
            )
            delta_id = rows[0][0] if rows else None
            time.sleep(0.1)
        self.assertTrue(delta_id, "the delta never got going")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        sandbox.slow_rate = 0.0
        again = self.cliniko("delta", *args, "--json")
        self.assertEqual(again.returncode, 0, again.stdout[-2000:] + again.stderr[-3000:])
        self.assertEqual(self.summary(again)["state"], "done")
        self.assertEqual(
            self.query("SELECT state FROM cliniko_migration_run WHERE id = %s", (delta_id,)),
            [("failed",)],
            "the killed delta is marked interrupted",
        )
        cities = dict(
            self.query(
                "SELECT p.cliniko_patient_id, p.city FROM res_partner p "
                "JOIN cliniko_external_ref ref ON ref.res_model = 'res.partner' "
                "AND ref.res_id = p.id AND ref.resource = 'patients' "
                "JOIN cliniko_migration_run run ON run.connection_id = ref.connection_id "
                "WHERE run.id = %s",
                (run_id,),
            )
        )
        self.assertEqual(len(cities), partners, "no contact created twice")
        self.assertEqual({cities[pid] for pid in changed if pid in cities}, {"Cutover"})

    @staticmethod
    def listed_patients(sandbox):
        """Patients the migration lists: archived included, deleted ones not."""
        return [
            patient
            for patient in sandbox.clinic.resources["patients"].values()
            if not patient.get("deleted_at")
        ]
