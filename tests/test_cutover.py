"""The cutover window, the final sync's reconciliation, and the lock between runs."""

from odoo import api
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from ..migration.runner import MigrationRunner
from .delta_common import DeltaCase


class TestCutover(DeltaCase):
    def test_the_first_delta_records_when_delta_sync_started(self):
        self.assertFalse(self.connection.delta_started_at)
        run, _summary = self.delta()
        self.assertEqual(self.connection.delta_started_at, run.delta_watermark)
        self.delta()
        self.assertEqual(self.connection.delta_started_at, run.delta_watermark, "the first one")

    def test_switching_cliniko_off_is_dated_and_stops_the_schedule(self):
        self.connection.delta_enabled = True
        self.connection.action_switch_off_cliniko()
        self.assertTrue(self.connection.cliniko_switched_off_at)
        self.assertFalse(self.connection.delta_enabled)
        self.assertFalse(self.connection.delta_next_at)

    def test_the_final_sync_stores_a_reconciliation_report_on_its_run(self):
        summary = self.connection.cliniko_delta_sync(final=True)
        run = self.env["cliniko.migration.run"].browse(summary["run_id"])
        self.assertEqual(run.state, "done", run.error_message)
        self.assertTrue(run.is_final_sync)
        self.assertEqual(self.connection.final_run_id, run)
        rows = {row["resource"]: row for row in summary["reconciliation"]}
        patients = rows["patients"]
        in_cliniko = [
            p for p in self.clinic.resources["patients"].values() if not p.get("deleted_at")
        ]
        self.assertEqual(patients["cliniko"], len(in_cliniko))
        refs = self.env["cliniko.external.ref"].search_count(
            [("connection_id", "=", self.connection.id), ("resource", "=", "patients")]
        )
        self.assertEqual(patients["references"], refs)
        self.assertEqual(patients["odoo"], refs)
        self.assertIn("In Cliniko", run.reconciliation_html)

    def test_a_delta_whose_process_died_is_superseded_by_the_next(self):
        # Its process ended in the middle (nobody holds its worker lock): it is not running.
        dead = self.env["cliniko.migration.run"].create(
            {"connection_id": self.connection.id, "run_type": "delta"}
        )
        dead.write({"state": "running"})
        self.assertTrue(dead._cliniko_is_interrupted())
        summary = self.connection.cliniko_delta_sync()
        self.assertEqual(summary["state"], "done", summary["error"])
        self.assertEqual(dead.state, "failed")
        self.assertIn("Interrupted", dead.error_message)

    def test_a_second_run_is_refused_while_one_runs_on_the_connection(self):
        running = self.env["cliniko.migration.run"].create(
            {"connection_id": self.connection.id, "run_type": "delta"}
        )
        running.write({"state": "running"})
        # ... and alive: its worker (here, this process) holds the run's worker lock.
        worker = MigrationRunner(running)
        self.assertTrue(worker._take_worker_lock())
        self.addCleanup(worker._release_worker_lock)
        second = self.env["cliniko.migration.run"].create(
            {"connection_id": self.connection.id, "unmatched_practitioners": "unassigned"}
        )
        with self.assertRaisesRegex(UserError, "still running"):
            second.action_start()
        self.assertEqual(second.state, "draft")
        summary = self.connection.cliniko_delta_sync()
        self.assertEqual(summary["state"], "refused")
        self.assertIn("still running", summary["error"])


@tagged("post_install", "-at_install")
class TestLockAcrossTransactions(TransactionCase):
    """Two database transactions (two cursors) start a run of the same connection at once."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            connection = env["cliniko.connection"].create(
                {"name": "Lock test", "api_key": "x-au1", "contact_email": "t@example.com"}
            )
            Run = env["cliniko.migration.run"]
            values = {"connection_id": connection.id, "cliniko_accept_proposed_map": True}
            self.ids = (connection.id, Run.create(values).id, Run.create(values).id)
        self.addCleanup(self._clean)

    def _clean(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env["cliniko.migration.run"].browse(self.ids[1:]).unlink()
            env["cliniko.connection"].browse(self.ids[0]).unlink()

    def test_the_second_start_is_refused_while_the_first_holds_the_connection(self):
        _connection_id, first_id, second_id = self.ids
        with self.registry.cursor() as cr_a, self.registry.cursor() as cr_b:
            env_a = api.Environment(cr_a, api.SUPERUSER_ID, {})
            env_b = api.Environment(cr_b, api.SUPERUSER_ID, {})
            first = env_a["cliniko.migration.run"].browse(first_id)
            first._cliniko_check_startable()  # takes the connection's row lock
            first.write({"state": "running"})
            worker = MigrationRunner(first)  # the first run's process works on it
            self.assertTrue(worker._take_worker_lock())
            env_a.flush_all()
            second = env_b["cliniko.migration.run"].browse(second_id)
            with self.assertRaisesRegex(UserError, "starting right now"):
                second._cliniko_check_startable()
            cr_b.rollback()
            cr_a.commit()  # the first run is running, its lock released
            with self.assertRaisesRegex(UserError, "still running"):
                env_b["cliniko.migration.run"].browse(second_id)._cliniko_check_startable()
            cr_b.rollback()
            first.write({"state": "done"})
            worker._release_worker_lock()
            cr_a.commit()
            env_b["cliniko.migration.run"].browse(second_id)._cliniko_check_startable()
            cr_b.rollback()
