"""Bad input and a bad network: clear errors, nothing lost, the run goes on where it can."""

from urllib.parse import parse_qs

from ..cliniko_api.client import RATE_LIMIT_MARGIN
from ..migration import runner as runner_module
from ..tools.cliniko_sandbox import SteppingClock
from .common import ClinikoSandboxCase


class TestBadKey(ClinikoSandboxCase):
    def test_bad_key_fails_the_run_with_a_clear_error_and_writes_nothing(self):
        wrong_key = "wrongkeywrongkey-au1"
        connection = self.env["cliniko.connection"].create(
            {
                "name": "Wrong key",
                "api_key": wrong_key,
                "base_url": self.sandbox.base_url,
                "contact_email": "tests@example.com",
            }
        )
        partners = self.env["res.partner"].with_context(active_test=False).search_count([])
        run = self.migrate(connection)
        self.assertEqual(run.state, "failed")
        self.assertIn("API key", run.error_message)
        self.assertNotIn(wrong_key, run.error_message)
        self.assertNotIn(wrong_key, run.log or "")
        self.assertEqual(
            self.env["res.partner"].with_context(active_test=False).search_count([]), partners
        )
        self.assertFalse(self.patient_leads())
        self.assertFalse(run.audit_ids)


class TestManyPages(ClinikoSandboxCase):
    sandbox_options = {"seed": 2, "patients": 14}
    page_size = 5  # a small clinic on small pages: many pages without many patients

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, cliniko_page_size=cls.page_size))
        cls.migration = cls.start_run()

    def test_pagination_across_many_pages_migrates_every_patient_once(self):
        run = self.migration
        listed = [
            p
            for p in self.sandbox.clinic.resources["patients"].values()
            if not self.sandbox.clinic.get("patients", p["id"]).get("deleted_at")
        ]
        self.assertGreater(len(listed), 2 * self.page_size, "needs more than two pages")
        counts = run.summary()["resources"]["patients"]
        self.assertEqual(counts["fetched"], len(listed))
        page_requests = [
            r
            for r in self.sandbox.requests_log
            if r["path"].endswith("/patients")
            and r["status"] == 200
            and parse_qs(r["query"]).get("per_page") == [str(self.page_size)]
        ]
        self.assertGreaterEqual(len(page_requests), 3)
        ids = self.migrated_partners().mapped("cliniko_patient_id")
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(len(ids), counts["created"])


class TestRateLimited(ClinikoSandboxCase):
    """The sandbox allows 2 requests per 2 s; it and the run's client share a stepping clock, so
    the run waits out every 429 as Cliniko asks without waiting for real."""

    sandbox_options = {"seed": 3, "patients": 20, "rate_limit": 2, "rate_window": 2.0}

    @classmethod
    def setUpClass(cls):
        cls.clock = SteppingClock()
        cls.sandbox_options = dict(cls.sandbox_options, clock=cls.clock.time)
        super().setUpClass()

    def test_a_rate_limited_run_waits_finishes_and_logs_the_waits(self):
        self.connection.per_minute = 1000  # let the server's limit, not ours, do the limiting
        run = self.env["cliniko.migration.run"].create(
            {
                "connection_id": self.connection.id,
                "unmatched_practitioners": "unassigned",
                "cliniko_accept_proposed_map": True,
            }
        )
        # small pages so the run needs more requests than one window allows
        runner = runner_module.MigrationRunner(run)
        runner.page_size = 10
        # The client the runner would make, on the shared clock (the runner's own wait log).
        runner._client = self.connection._get_client(
            on_wait=runner._on_wait, clock=self.clock.time, sleep=self.clock.sleep
        )
        runner.execute()
        self.assertEqual(run.state, "done", run.error_message)
        limited = [r for r in self.sandbox.requests_log if r["status"] == 429]
        self.assertTrue(limited)
        self.assertIn("429", run.log)
        self.assertIn("Waited", run.log)
        self.assertCountersAddUp(run)
        # One wait per 429, each until the window Cliniko named is over (plus the margin),
        # never longer than one window: nothing is lost to sleeping longer than asked. (The
        # page reader's thread and the worker's may both meet a 429 in one window: the one
        # that sleeps second finds the shared clock past the reset and waits the margin only.)
        self.assertEqual(len(self.clock.sleeps), len(limited))
        for seconds in self.clock.sleeps:
            self.assertGreaterEqual(seconds, RATE_LIMIT_MARGIN)
            self.assertLessEqual(seconds, 2.0 + 1 + RATE_LIMIT_MARGIN)


class TestServerErrors(ClinikoSandboxCase):
    """Runs of the patients (and what they need): the failures hit the patients' pages."""

    sandbox_options = {"seed": 4, "patients": 30}

    def test_a_server_error_in_the_middle_of_a_run_is_retried(self):
        start = len(self.sandbox.requests_log)
        self.sandbox.fail_next(count=2, status=500, path_contains="/patients")
        run = self.migrate(resources="patients")
        self.assertEqual(run.state, "done", run.error_message)
        self.assertEqual(
            [
                r["status"]
                for r in self.sandbox.requests_log[start:]
                if r["path"].endswith("/patients")
            ][:3],
            [500, 500, 200],
        )
        self.assertIn("retry", run.log)
        self.assertEqual(
            self.migrated_partners().mapped("cliniko_patient_id").__len__(),
            run.summary()["resources"]["patients"]["created"],
        )

    def test_a_dropped_connection_is_retried(self):
        self.sandbox.fail_next(count=1, status=0, path_contains="/patients")
        run = self.migrate(resources="patients")
        self.assertEqual(run.state, "done", run.error_message)
        self.assertIn("retry", run.log)
