"""Several workers on one run change no outcome (issue 12, item 3).

One clinic is migrated twice, in two databases of their own, as background runs worked on by
Odoo's own scheduler (``cliniko work``: ``ir.cron._process_jobs`` in threads, each taking a
worker job with SKIP LOCKED): once by one worker, once by two at the same time. Both end with
the same records, counters, references and audit lines, and rolling each back undoes the same.
The two workers really shared the run: its counter lines name both.
"""

import json
import subprocess
import threading
from collections import Counter

from odoo.sql_db import db_connect
from odoo.tests import BaseCase, TransactionCase, tagged

from ..migration import graph, units
from ..tools.cliniko_sandbox import ClinikoSandbox
from .common import odoo_command, spare_database

COUNTERS = """
    SELECT line.resource, line.fetched, line.created, line.updated, line.unchanged,
           line.skipped, line.failed, line.total, line.done, line.unavailable
    FROM cliniko_migration_run_resource line WHERE line.run_id = %(run)s ORDER BY line.resource
"""
REFERENCES = """
    SELECT resource, cliniko_id, res_model FROM cliniko_external_ref
    WHERE connection_id = %(connection)s ORDER BY resource, cliniko_id, res_model
"""
AUDIT = """
    SELECT resource, coalesce(cliniko_id, ''), action, coalesce(res_model, ''),
           coalesce(message, '') LIKE 'unavailable%%'
    FROM cliniko_audit_log WHERE run_id = %(run)s AND is_rollback IS NOT TRUE
"""
# What the records hold, named by their Cliniko ids (Odoo ids differ between databases).
PARTNERS = """
    SELECT ref.resource, ref.cliniko_id, partner.name, coalesce(partner.email, ''),
           coalesce(partner.phone, ''), partner.active
    FROM cliniko_external_ref ref JOIN res_partner partner ON partner.id = ref.res_id
    WHERE ref.res_model = 'res.partner' AND ref.connection_id = %(connection)s
    ORDER BY 1, 2
"""
LEADS = """
    SELECT ref.resource, ref.cliniko_id, lead.name, lead.type, stage.name::text,
           coalesce(users.login, ''), lead.expected_revenue, lead.active
    FROM cliniko_external_ref ref JOIN crm_lead lead ON lead.id = ref.res_id
    LEFT JOIN crm_stage stage ON stage.id = lead.stage_id
    LEFT JOIN res_users users ON users.id = lead.user_id
    WHERE ref.res_model = 'crm.lead' AND ref.connection_id = %(connection)s
    ORDER BY 1, 2
"""
EVENTS = """
    SELECT ref.cliniko_id, event.name, event.start, event.stop, event.privacy,
           (SELECT count(*) FROM calendar_event_res_partner_rel rel WHERE rel.calendar_event_id = event.id)
    FROM cliniko_external_ref ref JOIN calendar_event event ON event.id = ref.res_id
    WHERE ref.res_model = 'calendar.event' AND ref.connection_id = %(connection)s
    ORDER BY 1
"""
MESSAGES = """
    SELECT ref.resource, ref.cliniko_id, message.date, md5(coalesce(message.body, '')),
           lead_ref.cliniko_id
    FROM cliniko_external_ref ref JOIN mail_message message ON message.id = ref.res_id
    LEFT JOIN cliniko_external_ref lead_ref ON lead_ref.res_model = 'crm.lead'
        AND lead_ref.res_id = message.res_id AND lead_ref.resource = 'patients'
    WHERE ref.res_model = 'mail.message' AND ref.connection_id = %(connection)s
    ORDER BY 1, 2
"""
FILES = """
    SELECT ref.cliniko_id, att.name, att.cliniko_sha256, att.res_model
    FROM cliniko_external_ref ref JOIN ir_attachment att ON att.id = ref.res_id
    WHERE ref.res_model = 'ir.attachment' AND ref.connection_id = %(connection)s
    ORDER BY 1
"""


@tagged("post_install", "-at_install")
class TestTwoWorkersChangeNoOutcome(BaseCase):
    """The same clinic, one worker against two, then each run rolled back."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Every answer a little slow, as Cliniko's are: the units overlap in time.
        cls.sandbox = ClinikoSandbox(
            seed=11, patients=24, rate_limit=0, slow_rate=1.0, slow_seconds=0.03
        ).start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.dbs = {1: spare_database(cls), 2: spare_database(cls)}
        for db in cls.dbs.values():
            with db_connect(db).cursor() as cr:
                # One page per batch: a worker comes back to the scheduler after each page.
                cr.execute(
                    "INSERT INTO ir_config_parameter (key, value)"
                    " VALUES ('cliniko_crm_migration.batch_pages', '1')"
                    " ON CONFLICT (key) DO UPDATE SET value = '1'"
                )
        cls.results = {}
        threads = [
            threading.Thread(target=cls.migrate, args=(workers,)) for workers in cls.dbs
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cls.found = {workers: cls.findings(workers) for workers in cls.dbs}
        cls.rolled_back = {}
        threads = [threading.Thread(target=cls.roll_back, args=(workers,)) for workers in cls.dbs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    @classmethod
    def cliniko(cls, workers, *args):
        command = odoo_command(["cliniko", *args, "--json", "-d", cls.dbs[workers]])
        result = subprocess.run(
            [*command, "--log-level=warn"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        try:
            summary = json.loads(result.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            summary = {"no summary": result.stderr[-3000:]}
        return result.returncode, summary, result.stderr[-3000:]

    @classmethod
    def migrate(cls, workers):
        queued = cls.cliniko(
            workers,
            "migrate",
            "--background",
            "--api-key",
            cls.sandbox.api_key,
            "--base-url",
            cls.sandbox.base_url,
            "--contact-email",
            "workers@example.com",
            "--accept-proposed-map",
            "--unmatched-practitioners",
            "unassigned",
        )
        worked = cls.cliniko(workers, "work", "--workers", str(workers))
        cls.results[workers] = {"queued": queued, "worked": worked}

    @classmethod
    def roll_back(cls, workers):
        run_id = cls.results[workers]["queued"][1].get("run_id")
        cls.rolled_back[workers] = cls.cliniko(workers, "rollback", "--run", str(run_id))
        cls.rolled_back[workers] += (cls.query(workers, REFERENCES, cls.params(workers)),)

    @classmethod
    def query(cls, workers, sql, params):
        with db_connect(cls.dbs[workers]).cursor() as cr:
            cr.execute(sql, params)
            return cr.fetchall()

    @classmethod
    def params(cls, workers):
        run = cls.results[workers]["queued"][1].get("run_id") or 0
        connection = cls.query(
            workers, "SELECT connection_id FROM cliniko_migration_run WHERE id = %s", (run,)
        )
        return {"run": run, "connection": connection[0][0] if connection else 0}

    @classmethod
    def findings(cls, workers):
        params = cls.params(workers)
        return {
            "counters": cls.query(workers, COUNTERS, params),
            "references": cls.query(workers, REFERENCES, params),
            "audit": Counter(cls.query(workers, AUDIT, params)),
            "partners": cls.query(workers, PARTNERS, params),
            "leads": cls.query(workers, LEADS, params),
            "events": cls.query(workers, EVENTS, params),
            "messages": cls.query(workers, MESSAGES, params),
            "files": cls.query(workers, FILES, params),
            "state": cls.query(
                workers, "SELECT state FROM cliniko_migration_run WHERE id = %(run)s", params
            ),
            "workers": cls.query(
                workers,
                "SELECT DISTINCT worker FROM cliniko_migration_run_resource"
                " WHERE run_id = %(run)s AND worker IS NOT NULL",
                params,
            ),
            "log": cls.query(
                workers,
                "SELECT text FROM cliniko_migration_run_log_line WHERE run_id = %(run)s"
                " ORDER BY id",
                params,
            ),
        }

    def test_both_runs_were_queued_then_worked_to_the_end_by_the_scheduler(self):
        for workers, result in self.results.items():
            with self.subTest(workers=workers):
                code, summary, stderr = result["queued"]
                self.assertEqual(code, 0, stderr)
                self.assertEqual(summary["state"], "queued")
                code, summary, stderr = result["worked"]
                self.assertEqual(code, 0, (summary, stderr))
                self.assertEqual(summary["workers"], workers)
                self.assertEqual(summary["threads"], workers)
                self.assertEqual([run["state"] for run in summary["runs"]], ["done"])
                self.assertEqual(self.found[workers]["state"], [("done",)])
                log = [line for (line,) in self.found[workers]["log"]]
                self.assertIn("Started", log[1])
                self.assertIn("Finished: ", log[-1])

    def test_two_workers_really_shared_the_run(self):
        self.assertEqual(len(self.found[1]["workers"]), 1, self.found[1]["workers"])
        self.assertGreaterEqual(len(self.found[2]["workers"]), 2, self.found[2]["workers"])

    def test_the_same_counters_per_resource(self):
        one, two = self.found[1]["counters"], self.found[2]["counters"]
        self.assertEqual(one, two)
        self.assertGreater(len(one), 15, "every resource has its counter line")
        self.assertTrue(all(row[8] for row in one), "every resource is done")
        created = {row[0]: row[2] for row in one}
        for resource in ("patients", "individual_appointments", "treatment_notes", "invoices"):
            self.assertGreater(created[resource], 0, resource)

    def test_the_same_references_and_audit_lines(self):
        self.assertEqual(self.found[1]["references"], self.found[2]["references"])
        self.assertGreater(len(self.found[1]["references"]), 200)
        self.assertEqual(self.found[1]["audit"], self.found[2]["audit"])

    def test_the_same_records(self):
        for kind in ("partners", "leads", "events", "messages", "files"):
            with self.subTest(kind=kind):
                self.assertTrue(self.found[1][kind], "the clinic has %s" % kind)
                self.assertEqual(self.found[1][kind], self.found[2][kind])

    def test_rolling_back_undoes_the_same(self):
        summaries = {}
        for workers, (code, summary, stderr, references) in self.rolled_back.items():
            with self.subTest(workers=workers):
                self.assertEqual(code, 0, (summary, stderr))
                self.assertEqual(summary["state"], "rolled_back")
                self.assertEqual(summary["failed"], 0)
                self.assertGreater(summary["removed"], 200)
                summaries[workers] = {
                    key: summary[key] for key in ("removed", "restored", "archived", "failed")
                }
                self.assertEqual(references, [], "every reference went with its record")
        self.assertEqual(summaries[1], summaries[2])


class TestWorkUnits(TransactionCase):
    """How a run is cut into units, and the workers' scheduled jobs."""

    def test_the_history_resources_are_one_unit_that_waits_for_the_visits(self):
        cut = {unit.leader: unit for unit in units.units_of()}
        self.assertEqual(
            cut["treatment_notes"].members, ("treatment_notes", "communications", "patient_forms")
        )
        self.assertNotIn("communications", cut)
        self.assertNotIn("patient_forms", cut)
        self.assertTrue(
            {"patients", "practitioners", "individual_appointments", "attendees"}
            <= cut["treatment_notes"].depends
        )
        self.assertEqual(cut["patients"].depends, {"businesses", "contacts"})
        self.assertEqual(len(cut), len(graph.GRAPH) - 2)

    def test_ready_units_follow_the_graph(self):
        cut = units.units_of()
        first = {unit.leader for unit in units.ready_units(cut, set())}
        self.assertEqual(
            first, {"businesses", "practitioners", "billable_items", "products", "contacts"}
        )
        reference = {"businesses", "practitioners", "billable_items", "products", "contacts"}
        after = {unit.leader for unit in units.ready_units(cut, reference)}
        self.assertEqual(after, {"appointment_types", "patients"})
        everything = set(graph.names())
        self.assertEqual(units.ready_units(cut, everything), [])
        self.assertTrue(units.all_done(cut, everything))
        self.assertFalse(units.all_done(cut, everything - {"patient_forms"}))
        # a selection cuts only what it needs
        selected = {unit.leader for unit in units.units_of(["patient_attachments"])}
        self.assertEqual(selected, {"businesses", "contacts", "patients", "patient_attachments"})

    def test_the_number_of_workers_is_the_number_of_active_worker_jobs(self):
        Run = self.env["cliniko.migration.run"]
        first = self.env.ref("cliniko_crm_migration.ir_cron_cliniko_process_runs")
        self.assertEqual(Run._cliniko_worker_crons().filtered("active"), first)
        three = Run._cliniko_set_workers(3)
        self.assertEqual(len(three), 3)
        self.assertEqual(three[0], first)
        self.assertTrue(all(three.mapped("active")))
        self.assertEqual(three[2].cron_name, "Cliniko Migration: work on queued runs (worker 3)")
        self.assertEqual(three.mapped("code"), ["model._cron_process_runs()"] * 3)
        one = Run._cliniko_set_workers(1)
        self.assertEqual(one, first)
        self.assertEqual(Run._cliniko_worker_crons().filtered("active"), first)
        self.assertEqual(len(Run._cliniko_worker_crons()), 3, "the others rest, archived")
        again = Run._cliniko_set_workers(2)
        self.assertEqual(again, three[:2], "the resting ones come back, none is added")
        self.assertEqual(
            self.env["ir.config_parameter"].get_param("cliniko_crm_migration.workers"), "2"
        )
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search_count([("cron_id", "in", three.ids)])
        Run._cliniko_wake_workers()
        self.assertEqual(Trigger.search_count([("cron_id", "in", three.ids)]), before + 2)
