"""Final Sync from the connection's form: the run is queued (never worked on inside the web
request), and once the scheduler has carried it out its reconciliation report is stored on
it, as the command line's ``delta --final`` stores it."""

from odoo.tests import tagged

from .delta_common import DeltaCase


@tagged("post_install", "-at_install")
class TestFinalSyncFromTheForm(DeltaCase):
    sandbox_options = {"seed": 1, "patients": 8}

    def test_the_queued_final_sync_stores_its_reconciliation_when_the_scheduler_ends_it(self):
        self.connection.delta_enabled = True
        connection = self.connection.with_context(cliniko_background=True)
        action = connection.action_final_sync()
        self.assertFalse(self.connection.delta_enabled, "the scheduled delta syncs stop")
        run = self.env["cliniko.migration.run"].browse(action["res_id"])
        self.assertEqual(run.state, "queued")
        self.assertTrue(run.is_final_sync)
        self.assertEqual(self.connection.final_run_id, run)
        self.assertFalse(run.reconciliation)
        Run = self.env["cliniko.migration.run"]
        for _batch in range(50):
            if run.state not in ("queued", "running"):
                break
            Run._cron_process_runs()
            self.env.invalidate_all()
        self.assertEqual(run.state, "done", run.error_message or run.log)
        report = {row["resource"]: row for row in run.reconciliation}
        self.assertIn("patients", report)
        patients = self.clinic.resources["patients"].values()
        listed = [patient for patient in patients if not patient.get("deleted_at")]
        self.assertEqual(report["patients"]["cliniko"], len(listed))
        self.assertIn("<td>Patients</td>", run.reconciliation_html)
