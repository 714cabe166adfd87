"""Verify and Roll Back from the web client are queued like runs: the scheduler's job
(``_cron_process_runs``) carries them out with the same result as the synchronous path (the
command line's); each asks first; a job that fails records why and leaves the run as it was;
every committed page of a run is told to the forms open on it (the bus)."""

import json

from lxml import etree

from odoo.addons.bus.models.bus import channel_with_db, json_dump
from odoo.exceptions import UserError
from odoo.tests import new_test_user

from ..migration.locks import worker_alive
from ..models.cliniko_migration_run_jobs import JOB_ATTEMPTS, PROGRESS_NOTIFICATION
from .common import ClinikoSandboxCase, outside_runs

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
