"""Bad input and a bad network: clear errors, nothing lost, the run goes on where it can."""

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
    sandbox_options = {"seed": 2, "patients": 230}

    def test_pagination_across_many_pages_migrates_every_patient_once(self):
        run = self.migrate()
        listed = [
            p
            for p in self.sandbox.clinic.resources["patients"].values()
            if not self.sandbox.clinic.get("patients", p["id"]).get("deleted_at")
        ]
        self.assertGreater(len(listed), 200, "needs more than two pages of 100")
        counts = run.summary()["resources"]["patients"]
        self.assertEqual(counts["fetched"], len(listed))
        page_requests = [
            r
            for r in self.sandbox.requests_log
            if r["path"].endswith("/patients") and r["status"] == 200
        ]
        self.assertGreaterEqual(len(page_requests), 3)
        ids = self.migrated_partners().mapped("cliniko_patient_id")
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(len(ids), counts["created"])


class TestRateLimited(ClinikoSandboxCase):
    sandbox_options = {"seed": 3, "patients": 60, "rate_limit": 2, "rate_window": 2.0}

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
        from ..migration import runner as runner_module

        runner = runner_module.MigrationRunner(run)
        runner.page_size = 10
        runner.execute()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertTrue(any(r["status"] == 429 for r in self.sandbox.requests_log))
        self.assertIn("429", run.log)
        self.assertIn("Waited", run.log)
        self.assertCountersAddUp(run)


class TestServerErrors(ClinikoSandboxCase):
    sandbox_options = {"seed": 4, "patients": 30}

    def test_a_server_error_in_the_middle_of_a_run_is_retried(self):
        start = len(self.sandbox.requests_log)
        self.sandbox.fail_next(count=2, status=500, path_contains="/patients")
        run = self.migrate()
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
        run = self.migrate()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertIn("retry", run.log)
