"""Pipelined reads (issue 12, item 2) change no outcome.

The runner reads the next page of a list in a thread of its own while it writes the current
one (``cliniko_api/pages.py``); the context key ``cliniko_read_ahead=0`` turns that off (read,
then write, in turns, in the worker's thread). On the same clinic, both ways give:

- the same records, references, audit lines and counters, and the same rollback;
- on an error Cliniko gives for the second page of the patients, read in the reader's thread
  while the first page is written: the same failed run (401) or the same resource listed as
  unavailable (403), with the first page kept and its cursor, and the same next run;
- no reader thread left behind once the run stops: at its end, when it fails, and when a
  scheduled batch ends in the middle of a list.
"""

import threading
from collections import Counter

from ..tools.cliniko_sandbox import ClinikoSandbox
from .common import ClinikoSandboxCase

PAGE_SIZE = 3  # every list spans pages, so every resource is read ahead


class _Undo(Exception):
    """Raised to roll a savepoint back."""


def reader_threads():
    return [t for t in threading.enumerate() if t.name.startswith("cliniko-pages-")]


class PageRefusingSandbox(ClinikoSandbox):
    """The sandbox, answering ``refused_status`` on the second page of the patients while
    ``refused_status`` is set."""

    refused_status = None

    def _answer(self, handler, method, path, query):
        if self.refused_status and path == "/v1/patients" and "page=2" in query:
            message = {401: "The API key has been revoked.", 403: "You do not have permission."}
            return self._json(self.refused_status, {"message": message[self.refused_status]})
        return super()._answer(handler, method, path, query)


class PipelineCase(ClinikoSandboxCase):
    sandbox_options = {"seed": 3, "patients": 14}

    @classmethod
    def outcome(cls, run):
        """What a run did, without database ids: counters, audit lines, and every reference
        with the name of the record it points to."""
        refs = (
            cls.env["cliniko.external.ref"]
            .sudo()
            .with_context(active_test=False)
            .search([("connection_id", "=", cls.connection.id)])
        )
        references = Counter(
            (
                ref.resource,
                ref.cliniko_id,
                ref.res_model,
                cls.target_name(ref),
            )
            for ref in refs
        )
        audit = Counter(
            (line.action, line.resource, line.cliniko_id, line.res_model, line.message)
            for line in run.audit_ids.sudo()
        )
        return {
            "state": run.state,
            "error": run.error_message or False,
            "counters": run.summary()["resources"],
            "references": references,
            "audit": audit,
        }

    @classmethod
    def target_name(cls, ref):
        model = cls.env[ref.res_model].sudo().with_context(active_test=False)
        return model.browse(ref.res_id).display_name

    @classmethod
    def in_a_savepoint(cls, work):
        """``work()``'s result, with everything it wrote undone afterwards."""
        result = None
        try:
            with cls.env.cr.savepoint():
                result = work()
                raise _Undo
        except _Undo:
            pass
        cls.env.invalidate_all()
        return result

    @classmethod
    def start(cls, read_ahead, **values):
        saved = cls.env
        context = dict(cls.env.context, cliniko_read_ahead=read_ahead, cliniko_page_size=PAGE_SIZE)
        cls.env = cls.env(context=context)
        try:
            return cls.start_run(**values)
        finally:
            cls.env = saved


class TestPipelinedReadsChangeNoOutcome(PipelineCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # records Cliniko serves malformed, so that some fail (listed with their reason)
        cls.sandbox.plant("individual_appointments", "foreign_link")
        cls.sandbox.plant("contacts", "missing_key")
        cls.results = {
            ahead: cls.in_a_savepoint(lambda ahead=ahead: cls.migrate_and_undo(ahead))
            for ahead in (0, 2)
        }

    @classmethod
    def migrate_and_undo(cls, read_ahead):
        run = cls.start(read_ahead)
        outcome = cls.outcome(run)
        outcome["threads_after_run"] = reader_threads()
        run.action_rollback()
        summary = run.cliniko_rollback_summary()
        outcome["rollback"] = {
            key: value for key, value in summary.items() if key not in ("run_id", "kept")
        }
        outcome["references_after_rollback"] = cls.outcome(run)["references"]
        return outcome

    def test_the_runs_are_done_and_migrated_something_of_every_kind(self):
        for read_ahead, result in self.results.items():
            self.assertEqual(result["state"], "done", (read_ahead, result["error"]))
        counters = self.results[2]["counters"]
        self.assertGreater(counters["patients"]["created"], PAGE_SIZE)
        self.assertTrue(any(line["failed"] for line in counters.values()))

    def test_same_counters(self):
        self.assertEqual(self.results[2]["counters"], self.results[0]["counters"])

    def test_same_references_to_the_same_records(self):
        self.assertTrue(self.results[0]["references"])
        self.assertEqual(self.results[2]["references"], self.results[0]["references"])

    def test_same_audit_lines(self):
        self.assertEqual(self.results[2]["audit"], self.results[0]["audit"])

    def test_same_rollback(self):
        self.assertTrue(self.results[0]["rollback"]["removed"])
        self.assertEqual(self.results[2]["rollback"], self.results[0]["rollback"])
        for result in self.results.values():
            self.assertFalse(result["references_after_rollback"])

    def test_no_reader_thread_outlives_the_run(self):
        for result in self.results.values():
            self.assertEqual(result["threads_after_run"], [])


class RefusedPageCase(PipelineCase):
    sandbox_class = PageRefusingSandbox
    refused_status = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.results = {
            ahead: cls.in_a_savepoint(lambda ahead=ahead: cls.fail_and_run_again(ahead))
            for ahead in (0, 2)
        }

    @classmethod
    def fail_and_run_again(cls, read_ahead):
        cls.sandbox.refused_status = cls.refused_status
        try:
            run = cls.start(read_ahead, resources="patients")
        finally:
            cls.sandbox.refused_status = None
        line = run.resource_ids.filtered(lambda line: line.resource == "patients")
        result = cls.outcome(run)
        result.update(
            threads=reader_threads(),
            pages_done=line.pages_done,
            cursor=line.cursor,
            unavailable=line.unavailable,
        )
        # a new run migrates the rest (the first page's records are up to date)
        result["again"] = cls.outcome(cls.start(read_ahead, resources="patients"))
        return result


class TestAnErrorOnPageTwoFailsTheRunAsBefore(RefusedPageCase):
    refused_status = 401

    def test_the_run_fails_after_the_first_page_both_ways(self):
        for read_ahead, result in self.results.items():
            self.assertEqual(result["state"], "failed", read_ahead)
            self.assertIn("rejected the API key", result["error"])
            self.assertEqual(result["pages_done"], 1)
            self.assertIn("page=2", result["cursor"])

    def test_same_failure_same_cursor_same_counters(self):
        for key in ("error", "counters", "references", "audit", "cursor", "pages_done"):
            self.assertEqual(self.results[2][key], self.results[0][key], key)

    def test_the_next_run_migrates_the_rest_the_same_way(self):
        again = {read_ahead: result["again"] for read_ahead, result in self.results.items()}
        self.assertEqual(again[2]["state"], "done")
        self.assertTrue(again[2]["counters"]["patients"]["created"])
        for key in ("state", "counters", "references", "audit"):
            self.assertEqual(again[2][key], again[0][key], key)

    def test_no_reader_thread_outlives_the_failure(self):
        for result in self.results.values():
            self.assertEqual(result["threads"], [])


class TestAPageRefusedListsTheResourceAsBefore(RefusedPageCase):
    refused_status = 403

    def test_the_patients_are_listed_as_unavailable_both_ways(self):
        for read_ahead, result in self.results.items():
            self.assertEqual(result["state"], "done", read_ahead)
            self.assertIn("403", result["unavailable"])
            self.assertEqual(result["pages_done"], 1)

    def test_same_listing_same_counters(self):
        for key in ("counters", "references", "audit", "unavailable", "pages_done"):
            self.assertEqual(self.results[2][key], self.results[0][key], key)


class TestABatchReadsNoPageItDoesNotWrite(PipelineCase):
    """Background batches of two pages, read ahead: each batch stops its reader, asks
    Cliniko for no page it does not write, and the next batch starts at the cursor committed
    with the last page written (that page's next link)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        run = (
            cls.env["cliniko.migration.run"]
            .with_context(cliniko_accept_proposed_map=True)
            .create(
                {
                    "connection_id": cls.connection.id,
                    "resources": "patients",
                    "unmatched_practitioners": "unassigned",
                }
            )
        )
        run.with_context(cliniko_background=True).action_start()
        Run = cls.env["cliniko.migration.run"].with_context(
            cliniko_batch_pages=2, cliniko_page_size=PAGE_SIZE, cliniko_read_ahead=2
        )
        cls.after_batches = []
        log = cls.sandbox.requests_log
        while run.state in ("queued", "running") and len(cls.after_batches) < 50:
            start = len(log)
            Run._cron_process_runs()
            cls.env.invalidate_all()
            line = run.resource_ids.filtered(lambda line: line.resource == "patients")
            cls.after_batches.append(
                {
                    "threads": reader_threads(),
                    "pages": [
                        r["query"]
                        for r in log[start:]
                        if r["path"] == "/v1/patients" and "per_page=%d" % PAGE_SIZE in r["query"]
                    ],
                    "cursor": line.cursor,
                    "state": run.state,
                }
            )
        cls.run_ = run

    def test_the_run_ends_over_several_batches(self):
        self.assertEqual(self.run_.state, "done", self.run_.error_message)
        self.assertGreater(len(self.after_batches), 2)

    def test_no_reader_thread_outlives_a_batch(self):
        for batch in self.after_batches:
            self.assertEqual(batch["threads"], [])

    def test_a_batch_asks_for_the_pages_it_writes_only(self):
        for batch in self.after_batches:
            self.assertLessEqual(len(batch["pages"]), 2)

    def test_each_page_of_the_list_is_asked_once(self):
        asked = [query for batch in self.after_batches for query in batch["pages"]]
        self.assertEqual(len(asked), len(set(asked)), asked)

    def test_each_batch_starts_at_the_cursor_the_last_committed(self):
        for before, after in zip(self.after_batches, self.after_batches[1:], strict=False):
            if before["cursor"] and after["pages"]:
                self.assertIn(after["pages"][0], before["cursor"])
