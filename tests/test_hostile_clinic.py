"""A hostile clinic: what a real Cliniko account throws at a run, all in one run.

A list the key's user may not read (403), an endpoint the account does not have (404),
malformed records in many resources, a file whose download fails and one far larger than
announced, random 5xx answers, a burst of 429s and dropped connections. The run must end
``done`` with warnings; every record is accounted for (fetched = created + updated + skipped +
failed), every failure is listed with its reason, no other record goes missing, a re-run
creates nothing and a rollback puts every touched table back.

A second, clean clinic checks the requests a whole run makes against the minimum it needs:
one request per page of each list (per_page=100), one per file, no count-only request.
"""

import json
import logging
import math
import re
from collections import Counter
from urllib.parse import parse_qsl

from odoo.tests import tagged

from ..migration import graph
from ..tools.cliniko_sandbox import SteppingClock
from .common import ClinikoSandboxCase, outside_runs
from .test_full_clinic import TOUCHED_MODELS

# (resource, kind) planted; each becomes one malformed record of that resource. Every resource
# the run reads has at least one (test_every_resource_read_has_a_planted_record checks it).
PLANTS = (
    ("patients", "number_for_string"),
    ("patients", "object_for_list"),
    ("patients", "bad_date"),
    ("contacts", "missing_key"),
    ("individual_appointments", "null_link"),
    ("individual_appointments", "foreign_link"),
    ("individual_appointments", "bad_date"),
    ("attendees", "null_link"),
    ("treatment_notes", "bad_date"),
    ("treatment_notes", "foreign_link"),
    ("communications", "missing_key"),
    ("patient_forms", "number_for_string"),
    ("patient_attachments", "null_link"),
    ("patient_cases", "missing_key"),
    ("referral_sources", "null_link"),
    ("invoices", "bad_date"),
    ("invoice_items", "null_link"),
    ("businesses", "number_for_string"),
    ("appointment_types", "object_for_list"),
    ("practitioners", "number_for_string"),
    ("billable_items", "foreign_link"),
    ("products", "missing_key"),
)
# Lists the run reads only to look things up (no audit line of their own): planted too, the run
# must carry on past them.
LOOKUP_PLANTS = (
    ("users", "number_for_string"),
    ("taxes", "missing_key"),
    ("concession_types", "object_for_list"),
    ("referral_source_types", "bad_date"),
)
FORBIDDEN, MISSING = "medical_alerts", "group_appointments"
_logger = logging.getLogger(__name__)
STORM = 4  # consecutive 429s on one request


def row_counts(env):
    return {
        model: env[model].sudo().with_context(active_test=False).search_count(outside_runs(model))
        for model in TOUCHED_MODELS
    }


@tagged("post_install", "-at_install")
class TestHostileClinic(ClinikoSandboxCase):
    sandbox_options = {"seed": 7, "patients": 12, "fault_rate": 0.10, "drop_rate": 0.02}

    @classmethod
    def setUpClass(cls):
        # The sandbox and the run's client share a stepping clock: 429 waits and 5xx backoffs
        # are waited out as asked, without real waiting.
        cls.clock = SteppingClock()
        cls.sandbox_options = dict(cls.sandbox_options, clock=cls.clock.time)
        super().setUpClass()
        sandbox = cls.sandbox
        clinic = sandbox.clinic
        for number, patient_id in enumerate(sorted(clinic.resources["patients"])[-2:]):
            clinic.add_attachment(patient_id, "scan-%d.pdf" % number, "application/pdf", b"%PDF")
        sandbox.refuse(FORBIDDEN, 403)
        sandbox.refuse(MISSING, 404)
        cls.planted = {}
        for resource, kind in PLANTS:
            cls.planted[(resource, sandbox.plant(resource, kind))] = kind
        cls.lookup_planted = {
            (resource, sandbox.plant(resource, kind)): kind for resource, kind in LOOKUP_PLANTS
        }
        cls.broken = {sandbox.break_file(how="fail"): "fail"}
        cls.broken[sandbox.break_file(how="oversized")] = "oversized"
        # A 429 storm (Cliniko's own answer, with X-RateLimit-Reset): several in a row on one
        # request, and a window of 40 requests per 10 s on top; forced 5xx and drops.
        sandbox.rate_limit, sandbox.rate_window = 40, 10.0
        sandbox.fail_next(STORM, 429, path_contains="/individual_appointments?")
        sandbox.fail_next(2, 503, path_contains="/patients?")
        sandbox.fail_next(1, 0, path_contains="/invoices?")
        sandbox.fail_next(1, 502, path_contains="/content")
        cls.before = row_counts(cls.env)
        cls.migration_run = cls.run_on_the_clock()
        cls.log = list(sandbox.requests_log)
        cls.figures = cls.record_figures()

    @classmethod
    def run_on_the_clock(cls):
        """A run like start_run's, its client on the stepping clock."""
        run = (
            cls.env["cliniko.migration.run"]
            .with_context(cliniko_accept_proposed_map=True, cliniko_run_now=True)
            .create({"connection_id": cls.connection.id, "unmatched_practitioners": "unassigned"})
        )
        runner = run._cliniko_runner()
        runner._client = cls.connection._get_client(
            on_wait=runner._on_wait, clock=cls.clock.time, sleep=cls.clock.sleep
        )
        runner._client.remember_first_pages()
        runner.execute()
        return run.with_context(cliniko_accept_proposed_map=False, cliniko_run_now=False)

    @classmethod
    def record_figures(cls):
        """The scenario's figures, logged for the lead to quote: records, counters, failures
        by reason, requests made against the minimum (one per page read, two per file)."""
        run = cls.migration_run
        lines = run.resource_ids
        statuses = Counter(entry["status"] for entry in cls.log)
        # A read the run needs: a 200 (or the content link's 302), or the file host's answer
        # whatever it is (an expired link's 403 is the one attempt a broken file gets).
        good = Counter(
            (e["path"], e["query"])
            for e in cls.log
            if e["status"] in (200, 302) or e["path"].startswith("/files/")
        )
        downloads = sum(1 for (path, _q) in good if path.endswith("/content"))
        pages = sum(
            1
            for (path, _q) in good
            if not path.startswith("/files/") and not path.endswith("/content")
        )
        failures = Counter()
        for line in cls.env["cliniko.audit.log"].search(
            [("run_id", "=", run.id), ("action", "=", "fail")]
        ):
            reason = re.sub(r"\d+", "N", (line.message or "").split(":", 1)[0])[:70]
            failures["%s: %s" % (line.resource, reason)] += 1
        figures = {
            "records": sum(len(v) for v in cls.sandbox.clinic.resources.values()),
            "planted": len(cls.planted) + len(cls.lookup_planted),
            "fetched": sum(lines.mapped("fetched")),
            "created": sum(lines.mapped("created")),
            "updated": sum(lines.mapped("updated")),
            "unchanged": sum(lines.mapped("unchanged")),
            "skipped": sum(lines.mapped("skipped")),
            "failed": sum(lines.mapped("failed")),
            "failures_by_reason": dict(sorted(failures.items())),
            "requests_made": len(cls.log),
            "requests_by_status": dict(statuses),
            "requests_minimum": pages + 2 * downloads,
            "requests_answered": sum(good.values()),
            "read_twice": sum(n - 1 for n in good.values()),
            "requests_hostile": len(cls.log) - sum(good.values()),
            "fake_seconds_waited": round(sum(cls.clock.sleeps), 1),
        }
        _logger.info("hostile clinic figures: %s", json.dumps(figures, sort_keys=True))
        print("HOSTILE CLINIC FIGURES", json.dumps(figures, sort_keys=True))  # for the lead
        return figures

    # -- helpers -------------------------------------------------------------------------------
    def lines(self, **domain):
        Log = self.env["cliniko.audit.log"]
        found = Log.search([("run_id", "=", self.migration_run.id), ("is_rollback", "=", False)])
        for key, value in domain.items():
            found = found.filtered(lambda line, key=key, value=value: line[key] == value)
        return found

    def served_ids(self, resource):
        """The ids the run's read of ``resource`` is served (the graph's filters)."""
        store = self.sandbox.clinic.resources[resource]
        lifecycle = set(graph.get(resource).list_filters)
        return {
            rid
            for rid, record in store.items()
            if not (record.get("deleted_at") and "deleted_at:*" not in lifecycle)
            and not (record.get("cancelled_at") and "cancelled_at:*" not in lifecycle)
        }

    # -- the run -------------------------------------------------------------------------------
    def test_run_ends_done_with_the_refused_resources_as_warnings(self):
        run = self.migration_run
        self.assertEqual(run.state, "done", run.error_message or run.log)
        lines = {line.resource: line for line in run.resource_ids}
        self.assertIn("permission", lines[FORBIDDEN].unavailable)
        self.assertIn("404", lines[MISSING].unavailable)
        self.assertEqual(
            {name for name, line in lines.items() if line.unavailable}, {FORBIDDEN, MISSING}
        )
        summary = run.summary()
        self.assertEqual(summary["state"], "done")
        self.assertEqual(len(summary["warnings"]), 2, summary["warnings"])
        self.assertIn("unavailable", summary["resources"][FORBIDDEN])
        self.assertNotIn("unavailable", summary["resources"]["patients"])
        self.assertIn("Medical alerts not available", run.warning_message)
        unavailable = self.lines(action="skip", cliniko_id=False)
        self.assertEqual(set(unavailable.mapped("resource")), {FORBIDDEN, MISSING})
        self.assertTrue(all(m.startswith("unavailable: ") for m in unavailable.mapped("message")))
        # The hostility really happened.
        statuses = Counter(entry["status"] for entry in self.log)
        self.assertGreater(statuses[429], 0, "no 429 storm")
        self.assertGreater(statuses[0], 0, "no dropped connection")
        self.assertGreater(statuses[503] + statuses[500] + statuses[502], 0, "no 5xx")
        in_a_row = longest = 0
        for entry in self.log:
            in_a_row = in_a_row + 1 if entry["status"] == 429 else 0
            longest = max(longest, in_a_row)
        self.assertGreaterEqual(longest, STORM, "no storm of 429s in a row")
        self.assertGreaterEqual(statuses[500], 0.05 * len(self.log), "not 10 %% 5xx")

    def test_requests_beyond_the_minimum_are_the_hostile_answers_only(self):
        """Every page and file is read once; the requests beyond that are the refusals, the
        429s, the 5xx and the drops, each retried once its wait is over."""
        figures = self.figures
        self.assertEqual(figures["read_twice"], 0, figures)
        self.assertEqual(figures["requests_answered"], figures["requests_minimum"], figures)
        by_status = figures["requests_by_status"]
        hostile = sum(n for status, n in by_status.items() if status >= 400 or status == 0)
        broken_file_answers = sum(
            1 for e in self.log if e["path"].startswith("/files/") and e["status"] >= 400
        )
        self.assertEqual(figures["requests_hostile"], hostile - broken_file_answers, figures)
        self.assertEqual(
            figures["requests_made"], figures["requests_minimum"] + figures["requests_hostile"]
        )

    def test_every_resource_read_has_a_planted_record(self):
        read = {
            entry["path"].split("/")[2]
            for entry in self.log
            if entry["path"].startswith("/v1/") and entry["status"] == 200
        }
        planted = {resource for (resource, _id) in [*self.planted, *self.lookup_planted]}
        # /bookings is the sandbox's view of the appointments and attendees, planted there.
        self.assertFalse(
            read - planted - {"user", "settings", "bookings"}, "read but nothing planted"
        )
        self.assertFalse(planted - read, "planted but never read")

    def test_counters_add_up_and_every_failure_has_its_reason(self):
        self.assertCountersAddUp(self.migration_run)
        for line in self.migration_run.resource_ids:
            with self.subTest(resource=line.resource):
                logged = self.lines(resource=line.resource).filtered("cliniko_id")
                failed = logged.filtered(lambda log: log.action == "fail")
                self.assertEqual(len(failed), line.failed)
                self.assertTrue(all(failed.mapped("message")), "a failure without its reason")

    def test_every_planted_record_is_failed_with_its_reason_or_migrated(self):
        outcomes = {}
        for (resource, record_id), kind in self.planted.items():
            logged = self.lines(resource=resource, cliniko_id=record_id)
            self.assertTrue(logged, "%s %s (%s) has no audit line" % (resource, record_id, kind))
            outcomes[(resource, kind)] = set(logged.mapped("action"))
            if "fail" in outcomes[(resource, kind)]:
                self.assertTrue(logged.filtered(lambda line: line.action == "fail").message)
            if resource == "patients" and kind in ("object_for_list", "bad_date"):
                # a bad phone list or birth date costs that value, not the patient and its history
                self.assertNotIn("fail", outcomes[(resource, kind)])
                expected = "phone numbers" if kind == "object_for_list" else "date of birth"
                self.assertIn(expected, " ".join(filter(None, logged.mapped("message"))))
            elif resource == "attendees":
                # the planted attendee is an individual appointment's: migrated with it
                self.assertEqual(outcomes[(resource, kind)], {"skip"}, (resource, kind))
            elif kind in ("foreign_link", "null_link") and resource != "patient_attachments":
                self.assertEqual(outcomes[(resource, kind)], {"fail"}, (resource, kind))
        for attachment_id, how in self.broken.items():
            logged = self.lines(resource="patient_attachments", cliniko_id=attachment_id)
            self.assertEqual(logged.mapped("action"), ["fail"], how)
            self.assertIn("download" if how == "fail" else "size", logged.message)

    def test_no_other_record_goes_missing(self):
        """Every record Cliniko served has an outcome; failures other than the planted ones
        are records whose patient, booking or invoice did not make it, and say so."""
        planted_ids = {record_id for (_resource, record_id) in self.planted} | set(self.broken)
        for line in self.migration_run.resource_ids:
            if line.unavailable or line.resource in ("practitioners", "referral_sources"):
                continue
            with self.subTest(resource=line.resource):
                logged = self.lines(resource=line.resource).filtered("cliniko_id")
                seen = set(logged.mapped("cliniko_id"))
                missing = self.served_ids(line.resource) - seen
                self.assertFalse(missing, "served but never accounted for")
                for failure in logged.filtered(lambda log: log.action == "fail"):
                    if failure.cliniko_id in planted_ids:
                        continue
                    self.assertRegex(
                        failure.message,
                        r"(?i)patient|booking|appointment|invoice|group|class|session",
                        "an unplanted record failed: %s" % failure.message,
                    )

    def test_a_rerun_creates_nothing_and_a_rollback_restores_every_table(self):
        again = self.run_on_the_clock()
        self.assertEqual(again.state, "done", again.error_message or again.log)
        self.assertCountersAddUp(again)
        self.assertEqual(sum(again.resource_ids.mapped("created")), 0)
        again.action_rollback()
        self.migration_run.action_rollback()
        self.assertEqual(row_counts(self.env), self.before)


@tagged("post_install", "-at_install")
class TestRequestsAgainstTheMinimum(ClinikoSandboxCase):
    """A whole run's requests, as the sandbox recorded them, against what the clinic needs."""

    sandbox_options = {"seed": 4, "patients": 6}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.migration_run = cls.start_run()
        cls.log = list(cls.sandbox.requests_log)

    def test_every_list_request_asks_100_per_page_and_none_only_counts(self):
        run = self.migration_run
        self.assertEqual(run.state, "done", run.error_message or run.log)
        lists = [e for e in self.log if not e["path"].startswith("/files/")]
        for entry in lists:
            params = dict(parse_qsl(entry["query"]))
            if entry["path"].rstrip("/").split("/")[-1].isdigit() or entry["path"] in (
                "/v1/user",
                "/v1/settings",
            ):
                continue  # a single record
            if entry["path"].endswith("/content"):
                continue
            with self.subTest(path=entry["path"]):
                self.assertEqual(params.get("per_page"), "100", entry)

    def test_requests_made_are_the_minimum(self):
        """One request per page of each distinct read, one per file (its content link and the
        file host it redirects to); nothing read twice, no count-only request."""
        reads = Counter()
        for entry in self.log:
            if entry["status"] != 200 and entry["status"] != 302:
                continue
            reads[(entry["path"], entry["query"])] += 1
        repeated = {key: n for key, n in reads.items() if n > 1}
        files = len(self.sandbox.clinic.files)
        pages = sum(
            1
            for (path, _query) in reads
            if not path.startswith("/files/") and not path.endswith("/content")
        )
        downloads = sum(1 for (path, _query) in reads if path.endswith("/content"))
        minimum = pages + 2 * downloads
        made = sum(reads.values())
        self.assertFalse(repeated, "read twice: %s" % repeated)
        self.assertLessEqual(downloads, files)
        self.assertEqual(made, minimum)
        # Each distinct list was read in as many pages as its total needs, no more.
        by_list = Counter()
        totals = {}
        for entry in self.log:
            if entry["status"] != 200 or entry["path"].startswith("/files/"):
                continue
            params = [(k, v) for k, v in parse_qsl(entry["query"]) if k != "page"]
            by_list[(entry["path"], tuple(params))] += 1
            totals.setdefault((entry["path"], tuple(params)), entry.get("total"))
        for key, count in by_list.items():
            total = totals.get(key)
            if total is not None:
                with self.subTest(list=key[0]):
                    self.assertEqual(count, max(1, math.ceil(total / 100)), key)
