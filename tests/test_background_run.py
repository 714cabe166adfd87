"""The full run in the background: queued by the web client, worked on by the scheduler in
batches of pages, each committed on its own, resumable without duplicates; progress; pause,
resume and cancel."""

from urllib.parse import parse_qs

from odoo.exceptions import UserError

from .common import ClinikoSandboxCase, outside_runs

TOUCHED_MODELS = ("res.partner", "crm.lead", "cliniko.external.ref", "mail.message")
COUNTERS = ("fetched", "created", "updated", "unchanged", "skipped", "failed")


class _Undo(Exception):
    """Raised to roll a savepoint back."""


class BackgroundCase(ClinikoSandboxCase):
    sandbox_options = {"seed": 5, "patients": 12}
    page_size = 5

    def row_counts(self):
        return {
            model: self.env[model].with_context(active_test=False).search_count(outside_runs(model))
            for model in TOUCHED_MODELS
        }

    def new_run(self, **values):
        values.setdefault("unmatched_practitioners", "unassigned")
        return (
            self.env["cliniko.migration.run"]
            .with_context(cliniko_accept_proposed_map=True)
            .create(dict({"connection_id": self.connection.id}, **values))
        )

    def queue(self, **values):
        run = self.new_run(**values)
        run.with_context(cliniko_background=True).action_start()
        return run

    def batch(self, pages=1):
        """One call of the scheduled job's method, as the scheduler makes it."""
        Run = self.env["cliniko.migration.run"].with_context(
            cliniko_batch_pages=pages, cliniko_page_size=self.page_size
        )
        result = Run._cron_process_runs()
        self.env.invalidate_all()
        return result

    def run_to_the_end(self, run, pages=1, limit=500):
        batches = 0
        while run.state in ("queued", "running") and batches < limit:
            self.batch(pages)
            batches += 1
        return batches

    def synchronous_result(self):
        """What a run in one go gives (rolled back afterwards): made once per class, on the
        first call, since the sandbox's clinic does not change."""
        cls = type(self)
        if "_synchronous_result" not in cls.__dict__:
            cls._synchronous_result = self._run_in_one_go()
        return cls._synchronous_result

    def _run_in_one_go(self):
        try:
            with self.env.cr.savepoint():
                run = self.new_run()
                run.with_context(
                    cliniko_run_now=True, cliniko_page_size=self.page_size
                ).action_start()
                self.assertEqual(run.state, "done", run.error_message)
                result = (run.summary()["resources"], self.row_counts())
                raise _Undo
        except _Undo:
            pass
        self.env.invalidate_all()
        return result

    def patient_line(self, run):
        return run.resource_ids.filtered(lambda line: line.resource == "patients")

    def assertNoDuplicateBindings(self):
        refs = self.env["cliniko.external.ref"].search([])
        keys = [(ref.resource, ref.cliniko_id) for ref in refs]
        self.assertEqual(len(keys), len(set(keys)), "a Cliniko record is bound twice")


class TestBackgroundRun(BackgroundCase):
    def test_starting_from_the_web_client_queues_the_run_for_the_scheduler(self):
        run = self.queue()
        self.assertEqual(run.state, "queued")
        self.assertTrue(run.background)
        self.assertFalse(run.resource_ids, "nothing is migrated inside the request")
        cron = self.env.ref("cliniko_crm_migration.ir_cron_cliniko_process_runs")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]))

    def test_the_scheduler_migrates_in_several_batches_what_a_synchronous_run_does(self):
        expected_resources, expected_rows = self.synchronous_result()
        before = self.row_counts()
        self.assertNotEqual(before, expected_rows)
        run = self.queue()
        batches = self.run_to_the_end(run, pages=2)
        self.assertEqual(run.state, "done", run.error_message)
        self.assertGreater(batches, 3)
        self.assertEqual(run.summary()["resources"], expected_resources)
        self.assertEqual(self.row_counts(), expected_rows)
        self.assertNoDuplicateBindings()
        self.assertCountersAddUp(run)
        self.assertEqual(run.progress, 100.0)

    def test_a_batch_stops_after_its_page_budget_with_the_cursor_committed(self):
        run = self.queue()
        self.assertFalse(self.batch(pages=1))
        self.assertEqual(run.state, "running")
        self.assertEqual(sum(run.resource_ids.mapped("pages_done")), 1)
        while not self.patient_line(run).pages_done:
            self.batch(pages=1)
        line = self.patient_line(run)
        self.assertEqual(line.pages_done, 1)
        self.assertFalse(line.done)
        self.assertIn("/patients", line.cursor)
        self.assertIn("page=2", line.cursor)
        self.assertEqual(line.fetched, self.page_size)

    def test_an_interrupted_run_resumes_without_duplicates_and_its_counters_add_up(self):
        expected_resources, expected_rows = self.synchronous_result()
        run = self.queue()
        while self.patient_line(run).pages_done < 2:
            self.batch(pages=1)
        # A batch dies before its commit (time limit, restart): its page is lost, not half
        # kept; the next batch, in a new process, reads that page again.
        line = self.patient_line(run)
        done_before = (line.pages_done, line.fetched, line.cursor)
        try:
            with self.env.cr.savepoint():
                self.batch(pages=1)
                self.assertEqual(self.patient_line(run).pages_done, 3)
                raise _Undo
        except _Undo:
            pass
        self.env.invalidate_all()
        line = self.patient_line(run)
        self.assertEqual((line.pages_done, line.fetched, line.cursor), done_before)
        log_start = len(self.sandbox.requests_log)
        self.run_to_the_end(run, pages=3)
        self.assertEqual(run.state, "done", run.error_message)
        self.assertEqual(run.summary()["resources"], expected_resources)
        self.assertEqual(self.row_counts(), expected_rows)
        self.assertNoDuplicateBindings()
        self.assertCountersAddUp(run)
        # resumed at the stored cursor: only the lost page (3) and those after it are read
        queries = [
            parse_qs(entry["query"])
            for entry in self.sandbox.requests_log[log_start:]
            if entry["path"].endswith("/patients")
        ]
        pages_read = [int(q.get("page", ["1"])[0]) for q in queries if q.get("per_page") != ["1"]]
        self.assertEqual(pages_read, list(range(3, 3 + len(pages_read))))
        self.assertTrue(pages_read)

    def test_progress_shows_the_total_percent_and_rate_of_each_resource(self):
        run = self.queue()
        while self.patient_line(run).pages_done < 1:
            self.batch(pages=1)
        line = self.patient_line(run)
        total = self.connection._get_client().count("/patients", params=[("q[]", "archived_at:*")])
        self.assertEqual(line.total, total)
        self.assertAlmostEqual(line.progress, 100.0 * self.page_size / total, places=3)
        self.assertGreater(line.rate, 0)
        self.assertTrue(line.time_left)
        self.assertGreater(run.progress, 0)
        self.assertLess(run.progress, 100)
        self.run_to_the_end(run, pages=5)
        self.assertEqual(self.patient_line(run).progress, 100.0)
        self.assertFalse(self.patient_line(run).time_left)

    def test_the_scheduled_action_processes_the_run_with_progress_commits(self):
        self.env["ir.config_parameter"].sudo().set_param("cliniko_crm_migration.batch_pages", "2")
        run = self.queue()
        cron = self.env.ref("cliniko_crm_migration.ir_cron_cliniko_process_runs")
        with self.enter_registry_test_mode():
            for _attempt in range(20):
                cron.method_direct_trigger()
                if run.state not in ("queued", "running"):
                    break
        self.env.invalidate_all()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertCountersAddUp(run)
        progress = self.env["ir.cron.progress"].search([("cron_id", "=", cron.id)])
        self.assertGreater(sum(progress.mapped("done")), 0)
        self.assertNoDuplicateBindings()


class TestPauseResumeCancel(BackgroundCase):
    def test_a_paused_run_is_left_alone_by_the_scheduler_and_resume_carries_on(self):
        expected_resources, _rows = self.synchronous_result()
        run = self.queue()
        self.batch(pages=2)
        run.action_pause()
        self.assertEqual(run.state, "paused")
        pages = sum(run.resource_ids.mapped("pages_done"))
        self.batch(pages=2)
        self.assertEqual(sum(run.resource_ids.mapped("pages_done")), pages)
        run.with_context(cliniko_background=True).action_resume()
        self.assertEqual(run.state, "queued")
        self.run_to_the_end(run, pages=3)
        self.assertEqual(run.state, "done", run.error_message)
        self.assertEqual(run.summary()["resources"], expected_resources)
        self.assertCountersAddUp(run)

    def test_a_pause_asked_during_a_page_stops_the_run_after_that_page(self):
        run = self.new_run()
        run.with_context(cliniko_background=True).action_start()
        self.batch(pages=1)
        # the person's pause lands while the scheduler works: it finishes its page and stops
        run.write({"state": "paused"})
        self.assertTrue(self.batch(pages=50))
        self.assertEqual(run.state, "paused")
        self.assertEqual(sum(run.resource_ids.mapped("pages_done")), 1)

    def test_a_cancelled_run_stops_for_good_and_can_be_rolled_back(self):
        before = self.row_counts()
        run = self.queue()
        while self.patient_line(run).pages_done < 1:
            self.batch(pages=1)
        run.action_cancel()
        self.assertEqual(run.state, "cancelled")
        self.assertTrue(run.finished_at)
        pages = sum(run.resource_ids.mapped("pages_done"))
        self.batch(pages=5)
        self.assertEqual(sum(run.resource_ids.mapped("pages_done")), pages)
        self.assertNotEqual(self.row_counts(), before, "what the run wrote stays")
        run.action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual(self.row_counts(), before)

    def test_refusals(self):
        done = self.new_run()
        done.with_context(cliniko_run_now=True).action_start()
        self.assertEqual(done.state, "done")
        for action in ("action_resume", "action_pause", "action_cancel", "action_start"):
            with self.subTest(action=action), self.assertRaises(UserError):
                getattr(done, action)()
        draft = self.new_run()
        for action in ("action_resume", "action_pause", "action_cancel", "action_rollback"):
            with self.subTest(action=action), self.assertRaises(UserError):
                getattr(draft, action)()
        queued = self.queue()
        with self.assertRaises(UserError):
            queued.action_rollback()
        with self.assertRaises(UserError):
            queued.action_resume()
        with self.assertRaises(UserError):
            queued.action_start()
        queued.action_cancel()
        with self.assertRaises(UserError):
            queued.action_resume()

    def test_a_run_waiting_for_practitioner_decisions_leaves_the_queue_until_started_again(self):
        run = self.queue(unmatched_practitioners=False)
        self.run_to_the_end(run, pages=10)
        self.assertEqual(run.state, "blocked", run.error_message)
        self.assertIn("practitioner", run.error_message)
        undecided = run._cliniko_undecided_practitioners()
        self.assertTrue(undecided)
        undecided.write({"decision": "unassigned"})
        run.with_context(cliniko_background=True).action_start()
        self.assertEqual(run.state, "queued")
        self.run_to_the_end(run, pages=10)
        self.assertEqual(run.state, "done", run.error_message)
        self.assertCountersAddUp(run)
        self.assertNoDuplicateBindings()
