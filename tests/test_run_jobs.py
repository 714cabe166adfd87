"""Verify and Roll Back from the web client are queued like runs: the scheduler's job
(``_cron_process_runs``) carries them out with the same result as the synchronous path (the
command line's); each asks first; a job that fails records why and leaves the run as it was;
every committed page of a run is told to the forms open on it (the bus); a job's progress
(percentage and named step) is told as it advances, committed apart from the job outside tests
(``TestJobProgressOutsideTests``: odoo-bin shell on a database of its own)."""

import json
import re
import subprocess

from lxml import etree

from odoo.addons.bus.models.bus import channel_with_db, json_dump
from odoo.exceptions import UserError
from odoo.sql_db import db_connect
from odoo.tests import BaseCase, new_test_user, tagged

from ..migration import graph
from ..migration.locks import worker_alive
from ..migration.rollback import RunRollback
from ..migration.verify import SIGNED_OFF
from ..models.cliniko_migration_run_jobs import JOB_ATTEMPTS, PROGRESS_NOTIFICATION
from ..tools.cliniko_sandbox import ClinikoSandbox
from .common import ClinikoSandboxCase, odoo_command, outside_runs, spare_database

TOUCHED_MODELS = ("res.partner", "crm.lead", "cliniko.external.ref", "mail.message")


class _Undo(Exception):
    """Raised to roll a savepoint back after reading what it did."""


class JobCase(ClinikoSandboxCase):
    sandbox_options = {"seed": 1, "patients": 8}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.before = cls.row_counts()
        cls.migration = cls.start_run()
        assert cls.migration.state == "done", cls.migration.error_message

    @classmethod
    def row_counts(cls):
        return {
            model: cls.env[model].with_context(active_test=False).search_count(outside_runs(model))
            for model in TOUCHED_MODELS
        }

    def from_the_web_client(self, run):
        """The run as a button of the form calls it (queued, as inside a web request)."""
        return run.with_context(cliniko_background=True)

    def scheduler(self, run, limit=20):
        """Call the scheduled job until the run's job has ended; return how many calls."""
        Run = self.env["cliniko.migration.run"]
        for calls in range(1, limit + 1):
            Run._cron_process_runs()
            self.env.invalidate_all()
            if run.job_state not in ("queued", "running"):
                return calls
        raise AssertionError("the job did not end: %s" % run.log)

    def bus_ids(self, run):
        self.env.cr.flush()  # the bus rows are written when the transaction commits
        channel = json_dump(channel_with_db(self.env.cr.dbname, run))
        return self.env["bus.bus"].sudo().search([("channel", "=", channel)], order="id")

    def told(self, run, since):
        """``(job_state, percent, step)`` of each notification of the job's progress on the
        run's channel that came after the bus rows ``since``: what the open forms were told,
        in order."""
        told = []
        for line in self.bus_ids(run) - since:
            payload = json.loads(line.message)["payload"]
            if "job_progress" in payload:
                told.append((payload["job_state"], payload["job_progress"], payload["job_step"]))
        return told

    def running_steps(self, told):
        """The steps told while the job worked."""
        return [step for state, _percent, step in told if state == "running"]

    def assertProgressedInSteps(self, told, last_step):
        """Percentages never go back, several lie strictly between 0 and 100, 100 comes at
        the end with ``last_step``; each step while the job worked is named."""
        percents = [percent for _state, percent, _step in told]
        self.assertEqual(percents, sorted(percents), told)
        middle = {percent for percent in percents if 0 < percent < 100}
        self.assertGreaterEqual(len(middle), 3, told)
        self.assertEqual(told[-1], ("running", 100.0, last_step))
        self.assertTrue(all(step for state, _percent, step in told if state == "running"))

    def verification(self, run):
        rows = run.verification_resource_ids.sorted("sequence")
        return {
            "resources": rows.mapped(
                lambda line: (
                    line.resource,
                    line.cliniko_count,
                    line.reference_count,
                    line.odoo_count,
                    line.failed,
                    line.reconciled,
                )
            ),
            "mismatches": sorted(
                run.verification_mismatch_ids.mapped(
                    lambda line: (line.resource, line.cliniko_id, line.field_name, line.actual)
                )
            ),
            "verified": run.verified,
        }


class TestQueuedVerify(JobCase):
    def test_verify_from_the_form_is_queued_and_the_scheduler_verifies_as_the_cli_does(self):
        run = self.migration
        lead = self.patient_leads().filtered("cliniko_first_name")[:1]
        lead.cliniko_first_name = "Changed in Odoo"  # one mismatch to find
        self.from_the_web_client(run).action_verify()
        self.assertEqual((run.job_kind, run.job_state), ("verify", "queued"))
        self.assertEqual(run.job_user_id, self.env.user)
        self.assertFalse(run.verified_at, "nothing is verified inside the request")
        self.assertFalse(run.verification_resource_ids)
        self.scheduler(run)
        self.assertEqual(run.job_state, "done", run.job_error)
        self.assertTrue(run.job_started_at and run.job_finished_at)
        self.assertTrue(run.verified_at)
        queued = self.verification(run)
        self.assertEqual(len(queued["mismatches"]), 1)
        self.assertFalse(queued["verified"])
        self.assertIn("patients", [row[0] for row in queued["resources"]])
        # the command line's path, on the same data: the same report
        run.cliniko_verify()
        self.assertEqual(self.verification(run), queued)
        self.assertFalse(worker_alive(self.env.cr, run.id), "the worker lock is released")

    def test_the_verification_tells_its_progress_resource_by_resource_up_to_100(self):
        run = self.migration
        seen = self.bus_ids(run)
        self.from_the_web_client(run).action_verify()
        self.assertEqual((run.job_progress, run.job_step), (0.0, "Waiting for the scheduler"))
        self.scheduler(run)
        self.assertEqual(run.job_state, "done", run.job_error)
        self.assertEqual((run.job_progress, run.job_step), (100.0, "Verified"))
        told = self.told(run, seen)
        self.assertEqual(told[0], ("queued", 0.0, "Waiting for the scheduler"))
        self.assertProgressedInSteps(told, "Verified")
        # each resource counted, then each one compared, in load order, numbered out of all
        resources = graph.load_order(run._selected_resources())
        compared = [r for r in resources if r.compared or r.name in SIGNED_OFF]
        total = len(resources) + len(compared)
        expected = [
            "Counting %s (%s of %s)" % (r.label.lower(), n, total)
            for n, r in enumerate(resources, 1)
        ] + [
            "Comparing %s (%s of %s)" % (r.label.lower(), len(resources) + n, total)
            for n, r in enumerate(compared, 1)
        ]
        steps = self.running_steps(told)
        self.assertEqual(steps[0], "Starting")
        self.assertEqual(steps[1:-2], expected)
        self.assertEqual(steps[-2:], ["Storing the report", "Verified"])
        # patients weigh what the run migrated of them: comparing them moves the bar most
        at = {step: percent for _state, percent, step in told}
        patients = len(resources) + [r.name for r in compared].index("patients")
        moved = at[expected[patients + 1]] - at[expected[patients]]
        self.assertGreater(moved, at[expected[1]] - at[expected[0]], told)

    def test_a_verification_failing_midway_keeps_its_progress_where_it_stopped(self):
        run = self.migration
        self.sandbox.refuse("invoices")  # the key may no longer read invoices
        self.addCleanup(self.sandbox.refused.pop, "invoices")
        seen = self.bus_ids(run)
        self.from_the_web_client(run).action_verify()
        self.scheduler(run)
        self.assertEqual(run.job_state, "failed")
        self.assertIn("permission", run.job_error)
        self.assertFalse(run.verified_at, "the run is as it was")
        self.assertRegex(run.job_step, r"^Comparing invoices \(\d+ of \d+\)$")
        self.assertGreater(run.job_progress, 0)
        self.assertLess(run.job_progress, 100)
        # the open forms heard where it stopped (with the failure)
        self.assertEqual(
            self.told(run, seen)[-1], ("failed", run.job_progress, run.job_step)
        )
        form = self.env["cliniko.migration.run"].get_views([(False, "form")])["views"]["form"]
        stopped = etree.fromstring(form["arch"]).find(".//div[@name='cliniko_job_stopped']")
        self.assertEqual(
            [field.get("name") for field in stopped.iter("field")], ["job_progress", "job_step"]
        )

    def test_nothing_else_starts_on_the_run_while_its_job_waits(self):
        run = self.migration
        self.from_the_web_client(run).action_verify()
        with self.assertRaises(UserError):
            self.from_the_web_client(run).action_verify()
        with self.assertRaises(UserError):
            run.action_open_rollback_wizard()
        with self.assertRaises(UserError):
            run.action_rollback()
        run.action_cancel_job()
        self.assertEqual(run.job_state, "cancelled")
        self.scheduler_leaves_alone(run)
        self.assertFalse(run.verified_at)
        run.action_open_rollback_wizard()  # free again

    def scheduler_leaves_alone(self, run):
        self.env["cliniko.migration.run"]._cron_process_runs()
        self.env.invalidate_all()
        self.assertEqual(run.job_state, "cancelled")

    def test_a_failing_verification_says_why_and_leaves_the_run_as_it_was(self):
        run = self.migration
        self.from_the_web_client(run).action_verify()
        self.connection.sudo().api_key = False  # the key was removed meanwhile
        self.scheduler(run)
        self.assertEqual(run.job_state, "failed")
        self.assertIn("has no API key", run.job_error)
        self.assertEqual(run.state, "done")
        self.assertFalse(run.verified_at)
        self.assertIn("Verification failed", run.log)
        self.assertFalse(worker_alive(self.env.cr, run.id))
        # and it may be asked again once the key is back
        self.connection.sudo().api_key = self.sandbox.api_key
        self.from_the_web_client(run).action_verify()
        self.scheduler(run)
        self.assertEqual(run.job_state, "done", run.job_error)
        self.assertTrue(run.verified_at)

    def test_a_job_whose_worker_died_is_taken_up_again_then_given_up_with_its_reason(self):
        run = self.migration
        self.from_the_web_client(run).action_verify()
        # its worker died in the middle: running, nobody holds the lock
        run.write({"job_state": "running", "job_attempts": 1})
        self.assertFalse(worker_alive(self.env.cr, run.id))
        self.scheduler(run)
        self.assertEqual(run.job_state, "done", run.job_error)
        self.assertEqual(run.job_attempts, 2)
        self.from_the_web_client(run).action_verify()
        run.write({"job_state": "running", "job_attempts": JOB_ATTEMPTS})
        self.scheduler(run)
        self.assertEqual(run.job_state, "failed")
        self.assertIn("Interrupted %s times" % JOB_ATTEMPTS, run.job_error)
        self.assertEqual(run.state, "done")


class TestQueuedRollback(JobCase):
    def test_the_rollback_dialog_queues_and_the_scheduler_undoes_what_the_cli_would(self):
        run = self.migration
        # what the synchronous rollback (the command line's) does, then undone
        try:
            with self.env.cr.savepoint():
                run.action_rollback()
                synchronous = (run.cliniko_rollback_summary(), self.row_counts())
                raise _Undo
        except _Undo:
            pass
        self.env.invalidate_all()
        self.assertEqual(run.state, "done")
        self.assertEqual(synchronous[1], self.before)
        wizard = (
            self.env["cliniko.rollback.wizard"]
            .with_context(**run.action_open_rollback_wizard()["context"])
            .create({})
        )
        self.assertTrue(wizard.remove_count)
        self.from_the_web_client(wizard).action_confirm()
        self.assertEqual((run.job_kind, run.job_state), ("rollback", "queued"))
        self.assertEqual(run.state, "done", "nothing is rolled back inside the request")
        self.assertNotEqual(self.row_counts(), self.before)
        with self.assertRaises(UserError):
            self.from_the_web_client(run).action_verify()
        self.scheduler(run)
        self.assertEqual(run.job_state, "done", run.job_error)
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual((run.cliniko_rollback_summary(), self.row_counts()), synchronous)
        self.assertFalse(worker_alive(self.env.cr, run.id))

    def test_the_rollback_tells_its_progress_resource_by_resource_and_batch_by_batch(self):
        run = self.migration
        self.patch(RunRollback, "unlink_batch", 3)  # a few patients: batches of three
        audit = self.env["cliniko.audit.log"].search(
            [
                ("run_id", "=", run.id),
                ("is_rollback", "=", False),
                ("action", "in", ("create", "update")),
            ]
        )
        self.assertGreater(len(audit.filtered(lambda line: line.resource == "patients")), 3)
        seen = self.bus_ids(run)
        self.from_the_web_client(run).action_rollback()
        self.scheduler(run)
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual((run.job_progress, run.job_step), (100.0, "Rolled back"))
        told = self.told(run, seen)
        self.assertProgressedInSteps(told, "Rolled back")
        steps = self.running_steps(told)
        self.assertEqual(steps[:2], ["Starting", "Checking what people changed since the run"])
        self.assertEqual(steps[-2:], ["Writing the rollback's audit", "Rolled back"])
        # the resources in rollback order (dependents first), each numbered out of all
        order = [r.name for r in graph.rollback_order()]
        names = sorted(set(audit.mapped("resource")), key=order.index)
        resource_steps = [step for step in steps[2:-2] if "removed" not in step]
        self.assertEqual(
            resource_steps,
            [
                "Rolling back %s (%s of %s)" % (graph.get(name).label.lower(), n, len(names))
                for n, name in enumerate(names, 1)
            ],
        )
        batch = re.compile(
            r"^Rolling back patients \(%s of %s\), 3 of \d+ removed$"
            % (names.index("patients") + 1, len(names))
        )
        self.assertTrue([step for step in steps if batch.match(step)], steps)


class TestLiveProgressNotifications(ClinikoSandboxCase):
    sandbox_options = {"seed": 2, "patients": 6}

    def notifications(self, run):
        self.env.cr.flush()  # the bus rows are written when the transaction commits
        channel = json_dump(channel_with_db(self.env.cr.dbname, run))
        return self.env["bus.bus"].sudo().search([("channel", "=", channel)])

    def test_each_committed_page_of_a_background_run_is_told_on_the_runs_channel(self):
        run = self.queue_run(resources="patients")
        self.assertEqual(run.state, "queued")
        Run = self.env["cliniko.migration.run"].with_context(
            cliniko_batch_pages=1, cliniko_page_size=2
        )
        seen = len(self.notifications(run))
        for _batch in range(30):
            if run.state not in ("queued", "running"):
                break
            pages = sum(run.resource_ids.mapped("pages_done"))
            Run._cron_process_runs()
            self.env.invalidate_all()
            now = len(self.notifications(run))
            self.assertGreaterEqual(now - seen, sum(run.resource_ids.mapped("pages_done")) - pages)
            self.assertGreater(now, seen, "a batch that committed nothing new said nothing")
            seen = now
        self.assertEqual(run.state, "done", run.error_message)
        self.assertGreater(sum(run.resource_ids.mapped("pages_done")), 1)
        last = self.notifications(run).sorted("id")[-1]
        message = json.loads(last.message)
        self.assertEqual(message["type"], PROGRESS_NOTIFICATION)
        self.assertEqual(message["payload"]["run_id"], run.id)
        self.assertEqual(message["payload"]["state"], "done")

    def test_only_users_who_may_read_the_run_hear_it(self):
        run = self.env["cliniko.migration.run"].create({"connection_id": self.connection.id})
        channel = "cliniko.migration.run_%d" % run.id
        Websocket = self.env["ir.websocket"]
        manager = new_test_user(
            self.env,
            login="cliniko_bus_manager",
            groups="base.group_user,cliniko_crm_migration.group_cliniko_manager",
        )
        salesman = new_test_user(
            self.env, login="cliniko_bus_sales", groups="sales_team.group_sale_salesman"
        )
        self.assertEqual(Websocket.with_user(manager)._cliniko_run_channels([channel]), run)
        self.assertFalse(Websocket.with_user(salesman)._cliniko_run_channels([channel]))
        missing = "cliniko.migration.run_%d" % (run.id + 1000)
        self.assertFalse(Websocket.with_user(manager)._cliniko_run_channels([missing]))


class TestConfirmations(ClinikoSandboxCase):
    sandbox_options = {"seed": 2, "patients": 1}

    def arch(self, model):
        view = self.env[model].get_views([(False, "form")])["views"]["form"]["arch"]
        return etree.fromstring(view)

    def test_each_heavy_action_says_what_it_will_do_before_it_is_queued(self):
        header = self.arch("cliniko.migration.run").find(".//header")
        buttons = {button.get("name"): button for button in header.iter("button")}
        self.assertIn("reads Cliniko again", buttons["action_verify"].get("confirm"))
        self.assertNotIn("action_refresh", buttons, "the form follows the run by itself")
        # Roll Back opens its dialog (counts of what is removed, restored, kept): last, red
        names = [button.get("name") for button in header.iter("button")]
        self.assertEqual(names[-1], "action_open_rollback_wizard")
        self.assertIn("danger", buttons["action_open_rollback_wizard"].get("class"))
        wizard = self.arch("cliniko.rollback.wizard")
        self.assertIn("queued for the scheduler", "".join(wizard.itertext()))
        self.assertIsNotNone(wizard.find(".//field[@name='remove_count']"))
        final = self.arch("cliniko.connection").find(".//button[@name='action_final_sync']")
        self.assertIn("scheduled delta syncs stop", final.get("confirm"))
        self.assertIn("reconciliation", final.get("confirm"))
        self.assertIn("danger", final.get("class"))
        sheet = self.arch("cliniko.migration.run").find(".//sheet")
        self.assertIsNotNone(sheet.find(".//widget[@name='cliniko_run_live']"))
        # the job's progress bar and step, shown only while the job waits or works
        job = sheet.find(".//div[@name='cliniko_job']")
        self.assertEqual(job.get("invisible"), "job_state not in ('queued', 'running')")
        bar = job.find(".//div[@name='cliniko_job_progress']")
        self.assertEqual(
            [(f.get("name"), f.get("widget")) for f in bar.iter("field")],
            [("job_progress", "progressbar"), ("job_step", None)],
        )


SCRIPT = """
import json
from odoo.addons.cliniko_crm_migration.migration.rollback import RunRollback

RunRollback.unlink_batch = 3
connection = env["cliniko.connection"].create(
    {"name": "Sandbox", "api_key": %(key)r, "base_url": %(url)r, "contact_email": "t@example.com"}
)
Run = env["cliniko.migration.run"]
run = Run.with_context(cliniko_accept_proposed_map=True, cliniko_run_now=True).create(
    {"connection_id": connection.id, "unmatched_practitioners": "unassigned"}
)
run.action_start()
env.cr.commit()
run = run.with_context(cliniko_run_now=False)
for kind in ("verify", "rollback"):
    web = run.with_context(cliniko_background=True)
    web.action_verify() if kind == "verify" else web.action_rollback()
    env.cr.commit()
    Run._cron_process_runs()
    env.cr.commit()
    env.invalidate_all()
    print("RESULT " + json.dumps([run.id, kind, run.job_state, run.job_error, run.state]))
"""


@tagged("post_install", "-at_install")
class TestJobProgressOutsideTests(BaseCase):
    """Outside tests (odoo-bin shell on a database of its own), the progress is committed
    step by step apart from the job's transaction, and the job still ends well: nothing here
    runs in a test's transaction."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = spare_database(cls)
        cls.sandbox = ClinikoSandbox(seed=1, patients=8, rate_limit=0).start()
        cls.addClassCleanup(cls.sandbox.stop)
        script = SCRIPT % {"key": cls.sandbox.api_key, "url": cls.sandbox.base_url}
        cls.shell = subprocess.run(
            odoo_command(["shell", "-d", cls.db, "--no-http"]),
            input=script,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def test_each_step_is_committed_and_told_while_the_job_works(self):
        self.assertEqual(self.shell.returncode, 0, self.shell.stderr[-3000:])
        results = [
            json.loads(line[len("RESULT ") :])
            for line in self.shell.stdout.splitlines()
            if line.startswith("RESULT ")
        ]
        self.assertEqual(len(results), 2, self.shell.stdout[-2000:] + self.shell.stderr[-3000:])
        run_id = results[0][0]
        self.assertEqual(results[0][1:], ["verify", "done", False, "done"])
        self.assertEqual(results[1][1:], ["rollback", "done", False, "rolled_back"])
        self.assertNotIn("progress not stored", self.shell.stderr)
        # another session reads what the forms were told: committed as the job went
        with db_connect(self.db).cursor() as cr:
            # xmin: the transaction that wrote the row
            cr.execute("SELECT xmin::text, message FROM bus_bus ORDER BY id")
            rows = [(xmin, json.loads(message)["payload"]) for xmin, message in cr.fetchall()]
            cr.execute(
                "SELECT progress, step FROM cliniko_migration_job_progress WHERE run_id = %s",
                [run_id],
            )
            stored = cr.fetchall()
        self.assertEqual(stored, [(100.0, "Rolled back")])
        told, transactions = [], []
        for xmin, p in rows:
            if isinstance(p, dict) and p.get("run_id") == run_id and "job_progress" in p:
                told.append((p["job_state"], p["job_progress"], p["job_step"]))
                transactions.append(xmin)
        # each step was committed on its own, not with the job's transaction at its end
        self.assertEqual(len(set(transactions)), len(transactions), told)
        for last_step, first_steps in (
            ("Verified", ["Counting locations (1 of "]),
            ("Rolled back", ["Checking what people changed", "Rolling back invoice items (1 of "]),
        ):
            end = told.index(("running", 100.0, last_step))
            job, told = told[: end + 1], told[end + 1 :]
            self.assertEqual(
                job[:2],
                [("queued", 0.0, "Waiting for the scheduler"), ("running", 0.0, "Starting")],
            )
            for expected, (_state, _percent, step) in zip(first_steps, job[2:], strict=False):
                self.assertTrue(step.startswith(expected), job)
            percents = [percent for _state, percent, _step in job]
            self.assertEqual(percents, sorted(percents), job)
            self.assertGreaterEqual(len({p for p in percents if 0 < p < 100}), 3, job)
        self.assertFalse(told, "nothing told after the rollback's end")
