"""The whole admin workflow in a real browser (an Odoo tour in headless Chromium): connect,
audit, resolve practitioners, confirm the map, migrate a sample in the background, read its
progress and diff, verify and roll back (each queued for the scheduler)."""

from odoo.tests import HttpCase, tagged

from ..models.cliniko_connection import SANDBOX_PARAM
from ..tools.cliniko_sandbox import ClinikoSandbox

API_KEY = "cliniko-tour-key-au1"  # the key the tour types (static/tests/tours/)


@tagged("post_install", "-at_install")
class TestWorkflowTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = ClinikoSandbox(seed=3, patients=12, api_key=API_KEY).start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.env["ir.config_parameter"].set_param(SANDBOX_PARAM, "True")

    def scheduler_ends_the_job(self, run):
        for _call in range(10):
            self.env.invalidate_all()
            if run.job_state not in ("queued", "running"):
                break
            self.env["cliniko.migration.run"]._cron_process_runs()
        self.assertEqual(run.job_state, "done", run.job_error)

    def form_url(self, action, record):
        return "/odoo/action-cliniko_crm_migration.%s/%s" % (action, record.id)

    def test_the_workflow_from_connection_to_rollback(self):
        connection = self.env["cliniko.connection"].create(
            {
                "name": "Tour clinic",
                "contact_email": "tour@example.com",
                "base_url": self.sandbox.base_url,
            }
        )
        self.start_tour(
            self.form_url("action_cliniko_connection", connection),
            "cliniko_workflow_connect",
            login="admin",
        )
        self.assertEqual(connection.shard, "au1")
        self.assertTrue(connection.resource_count_ids)
        audit = self.env["cliniko.source.audit"].search([("connection_id", "=", connection.id)])
        self.assertEqual(audit.state, "done")

        run = self.env["cliniko.migration.run"].create(
            {
                "connection_id": connection.id,
                "run_type": "sample",
                "sample_size": 5,
                "unmatched_practitioners": "unassigned",
            }
        )
        self.start_tour(
            self.form_url("action_cliniko_migration_run", run),
            "cliniko_workflow_sample",
            login="admin",
        )
        self.assertEqual(run.state, "queued", "the web request must not run the migration")
        self.assertEqual(run.field_map_id.state, "confirmed")
        self.assertFalse(
            self.env["crm.lead"].search_count([("cliniko_lead_kind", "=", "patient")]),
            "nothing moves before the scheduler works on the run",
        )
        # The scheduler's job, batch after batch, as the cron worker would call it.
        Run = self.env["cliniko.migration.run"].with_context(cliniko_batch_pages=2)
        for _batch in range(200):
            if run.state not in ("queued", "running"):
                break
            Run._cron_process_runs()
        self.assertEqual(run.state, "done", run.log)
        self.assertTrue(run.sample_diff_ids)

        self.start_tour(
            self.form_url("action_cliniko_migration_run", run),
            "cliniko_workflow_review",
            login="admin",
        )
        self.assertEqual((run.job_kind, run.job_state), ("verify", "queued"))
        self.assertFalse(run.verified_at, "the web request must not verify")
        self.scheduler_ends_the_job(run)
        self.assertTrue(run.verified_at)

        self.start_tour(
            self.form_url("action_cliniko_migration_run", run),
            "cliniko_workflow_rollback",
            login="admin",
        )
        self.assertEqual((run.job_kind, run.job_state), ("rollback", "queued"))
        self.assertEqual(run.state, "done", "the web request must not roll back")
        self.scheduler_ends_the_job(run)
        self.assertEqual(run.state, "rolled_back")
        undone = run.audit_ids.filtered("is_rollback")
        self.assertTrue(undone)
        self.assertEqual(
            undone.create_uid, self.env.ref("base.user_admin"), "done as the admin who asked"
        )
        self.assertFalse(
            self.env["crm.lead"]
            .with_context(active_test=False)
            .search_count([("cliniko_lead_kind", "=", "patient")])
        )
