"""Live progress in a real browser (an Odoo tour in headless Chromium): the form of a queued
run is open while the scheduler works on it page by page in another thread, and the form
follows it to its end through the bus, without Refresh or reload; then a verification asked
from the form, queued, shows its progress bar and step, then its report once the scheduler
has done it."""

import threading
import time

from odoo import SUPERUSER_ID, api
from odoo.addons.bus.models.bus import channel_with_db, dispatch, hashable
from odoo.tests import HttpCase, tagged

from .common import ClinikoSandboxCase

WATCH_TIMEOUT = 60  # seconds the scheduler thread waits for the form to listen


@tagged("post_install", "-at_install")
class TestLiveProgressTour(HttpCase, ClinikoSandboxCase):
    sandbox_options = {"seed": 4, "patients": 6}

    def scheduler(self, run_id, report):
        """The cron worker's part: once the browser listens on the run's channel (it may read
        the run), one page per batch, a second apart, each batch in a transaction of its
        own, as the scheduler runs them."""
        try:
            run = self.env["cliniko.migration.run"].browse(run_id)
            channel = hashable(channel_with_db(self.env.cr.dbname, run))
            deadline = time.monotonic() + WATCH_TIMEOUT
            while channel not in dispatch._channels_to_ws:
                if time.monotonic() > deadline:
                    report["error"] = "the form never listened on the run's channel"
                    return
                time.sleep(0.2)
            report["watched"] = True
            for _batch in range(100):
                time.sleep(1.0)  # time for the form to show the last page
                with self.registry.cursor() as cr:
                    env = api.Environment(
                        cr, SUPERUSER_ID, {"cliniko_batch_pages": 1, "cliniko_page_size": 2}
                    )
                    env["cliniko.migration.run"]._cron_process_runs()
                    state = env["cliniko.migration.run"].browse(run_id).state
                report["batches"] = report.get("batches", 0) + 1
                if state not in ("queued", "running"):
                    break
            # then the tour asks for a verification: the scheduler's job carries it out
            deadline = time.monotonic() + WATCH_TIMEOUT
            while time.monotonic() < deadline:
                time.sleep(0.5)
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    if env["cliniko.migration.run"].browse(run_id).job_state == "queued":
                        time.sleep(1.0)
                        env["cliniko.migration.run"]._cron_process_runs()
                        report["verified"] = True
                        return
            report["error"] = "no verification was queued"
        except Exception as error:  # noqa: BLE001 - reported to the test's thread
            report["error"] = repr(error)

    def test_the_run_form_follows_a_background_run_without_refresh(self):
        run = self.queue_run(resources="patients")
        self.assertEqual(run.state, "queued")
        report = {}
        worker = threading.Thread(target=self.scheduler, args=(run.id, report), daemon=True)
        worker.start()
        try:
            self.start_tour(
                "/odoo/action-cliniko_crm_migration.action_cliniko_migration_run/%s" % run.id,
                "cliniko_live_progress",
                login="admin",
                timeout=180,
            )
        finally:
            worker.join(timeout=120)
        self.assertFalse(report.get("error"), report)
        self.assertTrue(report.get("watched"))
        self.assertGreater(report.get("batches", 0), 2, "the run advanced in several batches")
        self.env.invalidate_all()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertTrue(report.get("verified"))
        self.assertEqual((run.job_kind, run.job_state), ("verify", "done"), run.job_error)
        self.assertTrue(run.verified_at)
