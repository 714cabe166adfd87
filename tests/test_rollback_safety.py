"""Rollback is safe against live work: refused while a worker holds the run."""

from odoo.exceptions import UserError
from odoo.sql_db import db_connect
from odoo.tests import tagged

from ..migration.locks import WORKER_LOCK_NAMESPACE
from .common import ClinikoSandboxCase


@tagged("post_install", "-at_install")
class TestRollbackAgainstALiveWorker(ClinikoSandboxCase):
    sandbox_options = {"seed": 2, "patients": 4}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.migration_run = cls.start_run(resources="patients")

    def test_a_paused_run_whose_worker_is_alive_is_not_rolled_back(self):
        run = self.migration_run
        self.assertEqual(run.state, "done", run.error_message)
        run.write({"state": "paused"})  # paused by a person; its worker finishes its page
        created = self.patient_leads()
        self.assertTrue(created)
        # The worker: another database session (not the test's) holding the run's worker lock.
        with db_connect(self.env.cr.dbname).cursor() as worker:
            worker.execute("SELECT pg_advisory_lock(%s, %s)", (WORKER_LOCK_NAMESPACE, run.id))
            try:
                with self.assertRaisesRegex(UserError, "worker is still on this run"):
                    run.action_rollback()
                with self.assertRaises(UserError):
                    run.action_open_rollback_wizard()
            finally:
                worker.execute("SELECT pg_advisory_unlock(%s, %s)", (WORKER_LOCK_NAMESPACE, run.id))
        self.assertEqual(run.state, "paused")
        self.assertEqual(self.patient_leads(), created, "the refused rollback removed something")
        run.action_rollback()  # the worker is gone: now it goes
        self.assertEqual(run.state, "rolled_back")
        self.assertFalse(self.patient_leads())


@tagged("post_install", "-at_install")
class TestRollbackKeepsWhatPeopleBuiltOn(ClinikoSandboxCase):
    sandbox_options = {"seed": 2, "patients": 4}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.migration_run = cls.start_run(resources="patients")
        cls.staff = cls.env["res.users"].create(
            {
                "name": "Front desk",
                "login": "front-desk@example.com",
                "group_ids": [(4, cls.env.ref("base.group_user").id)],
            }
        )

    def test_a_lead_with_a_staff_note_is_kept_with_its_note(self):
        run = self.migration_run
        leads = self.patient_leads()
        noted = leads[0]
        note = (
            noted.with_user(self.staff)
            .sudo()
            .message_post(body="Called back about the invoice", message_type="comment")
        )
        run.action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertTrue(noted.exists(), "the lead a person wrote a note on was removed")
        self.assertTrue(note.exists(), "the staff note went with the lead")
        self.assertEqual(self.patient_leads(), noted, "only the lead people built on stays")
        self.assertTrue(noted.partner_id.exists(), "the kept lead lost its partner")
        kept = run.rollback_kept_ids.filtered(lambda line: line.res_id == noted.id)
        self.assertIn("a message by Front desk", kept.message)
