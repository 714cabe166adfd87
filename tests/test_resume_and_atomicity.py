"""Nothing half-written, and resuming without re-reading (issue 9, items 5 and 8).

- An error from the API in the middle of a page (the key revoked while a page of files is
  downloaded) fails the run with nothing of that page kept: no file without its binding and
  audit line; the next run creates each file once.
- A worker killed with ``kill -9`` in the middle of a page of files, whose download then
  fails: after ``cliniko resume`` there is no duplicate and no record without its binding or
  audit line (a real odoo-bin process on a database of its own).
- A background run worked on one page per batch, every batch a new runner as the scheduler
  makes them: no list page is asked twice, practitioners (two lists) and patient details
  (with their ``/deleted`` list) included; the merged history pass asks again only the page
  a stream stood in the middle of, and every record is read into the counters once.
"""

import json
import os
import signal
import subprocess
import threading
from collections import Counter
from urllib.parse import parse_qsl

from odoo.sql_db import db_connect
from odoo.tests import BaseCase, tagged

from ..migration.history import HISTORY_RESOURCES
from ..tools.cliniko_sandbox import ClinikoSandbox
from .common import ClinikoSandboxCase, odoo_command, spare_database

# Records the migration wrote without their binding, and bindings without an audit line in the
# run that wrote them (all must be empty).
UNAUDITED_BINDINGS = """
    SELECT ref.resource, ref.cliniko_id FROM cliniko_external_ref ref
    WHERE ref.connection_id = %(connection)s AND NOT EXISTS (
        SELECT 1 FROM cliniko_audit_log line
        WHERE line.run_id = ref.run_id AND line.resource = ref.resource
        AND line.cliniko_id = ref.cliniko_id AND line.is_rollback IS NOT TRUE)
"""
UNBOUND_FILES = """
    SELECT att.id FROM ir_attachment att
    WHERE att.cliniko_sha256 IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM cliniko_external_ref ref WHERE ref.res_model = 'ir.attachment'
        AND ref.res_id = att.id AND ref.resource = 'patient_attachments')
"""
UNAUDITED_MESSAGES = """
    SELECT message.id FROM mail_message message
    WHERE message.message_id LIKE '<cliniko.%%@migration.invalid>' AND NOT EXISTS (
        SELECT 1 FROM cliniko_audit_log line WHERE line.res_model = 'mail.message'
        AND line.res_id = message.id AND line.is_rollback IS NOT TRUE)
"""
FILES_BY_CLINIKO_ID = """
    SELECT ref.cliniko_id, count(*) FROM ir_attachment att
    JOIN cliniko_external_ref ref ON ref.res_model = 'ir.attachment' AND ref.res_id = att.id
    WHERE ref.connection_id = %(connection)s AND ref.resource = 'patient_attachments'
    GROUP BY ref.cliniko_id
"""


class ControlledSandbox(ClinikoSandbox):
    """The sandbox with two controls over an attachment's content link: answer 401 (the key
    revoked in the middle of the run), or hold the request until released (so the worker can
    be killed while it waits for that file)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.revoked_content = set()
        self.held_content = None
        self.holding = threading.Event()
        self.release = threading.Event()

    def _answer(self, handler, method, path, query):
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[1:4:2] == ["patient_attachments", "content"]:
            if parts[2] in self.revoked_content:
                return self._json(401, {"message": "The API key has been revoked."})
            if parts[2] == self.held_content:
                self.holding.set()
                self.release.wait(120)
        return super()._answer(handler, method, path, query)


def add_files(clinic, count=3):
    """``count`` files on a patient, in the order Cliniko lists them."""
    patient = next(
        pid
        for pid, patient in sorted(clinic.resources["patients"].items(), key=lambda p: int(p[0]))
        if not any(patient.get(key) for key in ("deleted_at", "merged_at", "archived_at"))
    )
    ids = [
        clinic.add_attachment(patient, "scan-%s.txt" % n, "text/plain", b"scan %d\n" % n)["id"]
        for n in range(count)
    ]
    clinic.touch()
    store = clinic.resources["patient_attachments"]
    # in the order the list serves them (creation time, then id)
    return sorted(ids, key=lambda rid: (store[rid].get("created_at") or "", int(rid)))


class TestAnApiErrorInTheMiddleOfAPage(ClinikoSandboxCase):
    sandbox_options = {"seed": 5, "patients": 4}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sandbox = cls.sandbox = ControlledSandbox(seed=5, patients=4, rate_limit=0).start()
        cls.addClassCleanup(sandbox.stop)
        cls.connection.write({"base_url": sandbox.base_url, "api_key": sandbox.api_key})
        cls.files = add_files(sandbox.clinic)
        # The last file of the page: the two before it are stored when the key is refused.
        sandbox.revoked_content.add(cls.files[-1])
        cls.failed_run = cls.start_run(resources="patient_attachments")
        cls.after_failure = cls.findings()
        sandbox.revoked_content.clear()
        cls.next_run = cls.start_run(resources="patient_attachments")
        cls.after_next_run = cls.findings()

    @classmethod
    def findings(cls):
        cls.env.flush_all()
        cr = cls.env.cr
        found = {}
        for name, query in (
            ("unaudited bindings", UNAUDITED_BINDINGS),
            ("unbound files", UNBOUND_FILES),
            ("unaudited messages", UNAUDITED_MESSAGES),
            ("files", FILES_BY_CLINIKO_ID),
        ):
            cr.execute(query, {"connection": cls.connection.id})
            found[name] = cr.fetchall()
        return found

    def test_the_run_fails_with_the_refusal_in_plain_words(self):
        self.assertEqual(self.failed_run.state, "failed")
        self.assertIn("401", self.failed_run.error_message)

    def test_nothing_of_the_page_is_kept_and_what_is_kept_is_bound_and_audited(self):
        found = self.after_failure
        self.assertEqual(found["files"], [], "the files stored before the refusal are undone")
        self.assertEqual(found["unbound files"], [])
        self.assertEqual(found["unaudited bindings"], [])
        self.assertEqual(found["unaudited messages"], [])
        lines = self.failed_run.audit_ids.filtered(
            lambda line: line.resource == "patient_attachments"
        )
        self.assertFalse(lines, "no audit line of the undone page")
        # the pages committed before it (the patients) are whole
        patients = self.failed_run.resource_ids.filtered(lambda line: line.resource == "patients")
        self.assertTrue(patients.done)
        self.assertGreater(patients.created, 0)

    def test_the_next_run_creates_each_file_once(self):
        self.assertEqual(self.next_run.state, "done", self.next_run.error_message)
        found = self.after_next_run
        self.assertEqual(dict(found["files"]), dict.fromkeys(self.files, 1))
        self.assertEqual(found["unbound files"], [])
        self.assertEqual(found["unaudited bindings"], [])
        line = self.next_run.resource_ids.filtered(
            lambda line: line.resource == "patient_attachments"
        )
        self.assertEqual((line.fetched, line.created, line.failed), (3, 3, 0))


@tagged("post_install", "-at_install")
class TestAWorkerKilledInTheMiddleOfAPage(BaseCase):
    """``kill -9`` of the process working on a run while it downloads the last file of a page;
    that file's download then fails; ``cliniko resume`` ends the run."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = spare_database(cls)
        sandbox = cls.sandbox = ControlledSandbox(seed=9, patients=4, rate_limit=0).start()
        cls.addClassCleanup(sandbox.stop)
        cls.addClassCleanup(sandbox.release.set)
        cls.files = add_files(sandbox.clinic)
        sandbox.held_content = cls.files[-1]
        process = subprocess.Popen(  # noqa: S603 - our own odoo-bin
            odoo_command(
                ["cliniko", "migrate", "--api-key", sandbox.api_key]
                + ["--base-url", sandbox.base_url, "--contact-email", "kill@example.com"]
                + ["--resources", "treatment_notes,patient_attachments"]
                + ["--accept-proposed-map", "--unmatched-practitioners", "unassigned"]
                + ["--json", "-d", cls.db, "--log-level=warn"]
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        cls.addClassCleanup(lambda: process.poll() is None and process.kill())
        cls.reached_the_file = sandbox.holding.wait(300)
        cls.alive_at_the_file = process.poll() is None
        # The two files before it are stored in the worker's transaction, not committed.
        cls.at_the_kill = cls.findings()
        cls.run_id = cls.query(
            "SELECT run.id FROM cliniko_migration_run run JOIN cliniko_connection con"
            " ON con.id = run.connection_id WHERE con.base_url = %s",
            (sandbox.base_url,),
        )
        cls.run_id = cls.run_id[0][0] if cls.run_id else None
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        cls.state_after_kill = cls.query(
            "SELECT state FROM cliniko_migration_run WHERE id = %s", (cls.run_id,)
        )
        sandbox.held_content = None
        sandbox.release.set()
        cls.broken = sandbox.break_file(cls.files[-1], how="fail")
        cls.resumed = subprocess.run(
            odoo_command(
                ["cliniko", "resume", "--run", str(cls.run_id), "--json", "-d", cls.db]
                + ["--log-level=warn"]
            ),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        cls.after_resume = cls.findings()

    @classmethod
    def query(cls, sql, params=()):
        with db_connect(cls.db).cursor() as cr:
            cr.execute(sql, params)
            return cr.fetchall()

    @classmethod
    def findings(cls):
        connection = cls.query(
            "SELECT id FROM cliniko_connection WHERE base_url = %s", (cls.sandbox.base_url,)
        )
        params = {"connection": connection[0][0] if connection else 0}
        return {
            "unaudited bindings": cls.query(UNAUDITED_BINDINGS, params),
            "unbound files": cls.query(UNBOUND_FILES, params),
            "unaudited messages": cls.query(UNAUDITED_MESSAGES, params),
            "files": cls.query(FILES_BY_CLINIKO_ID, params),
        }

    def test_the_worker_was_killed_while_it_downloaded_the_file(self):
        self.assertTrue(self.reached_the_file, "the run never reached the held file")
        self.assertTrue(self.alive_at_the_file)
        self.assertEqual(self.state_after_kill, [("running",)])

    def test_what_the_killed_worker_committed_is_bound_and_audited(self):
        found = self.at_the_kill
        self.assertEqual(found["files"], [], "the page of files was not committed")
        self.assertEqual(found["unbound files"], [])
        self.assertEqual(found["unaudited bindings"], [])
        self.assertEqual(found["unaudited messages"], [])

    def test_after_resume_no_duplicate_and_no_unaudited_record(self):
        result = self.resumed
        self.assertEqual(result.returncode, 0, result.stdout[-2000:] + result.stderr[-3000:])
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertEqual(summary["state"], "done")
        found = self.after_resume
        self.assertEqual(dict(found["files"]), dict.fromkeys(self.files[:-1], 1))
        self.assertEqual(found["unbound files"], [])
        self.assertEqual(found["unaudited bindings"], [])
        self.assertEqual(found["unaudited messages"], [])
        files = summary["resources"]["patient_attachments"]
        self.assertEqual((files["fetched"], files["created"], files["failed"]), (3, 2, 1))
        notes = summary["resources"]["treatment_notes"]
        self.assertGreater(notes["created"], 0)
        duplicated_notes = self.query(
            "SELECT message_id FROM mail_message WHERE message_id LIKE '<cliniko.%%'"
            " GROUP BY message_id HAVING count(*) > 1"
        )
        self.assertEqual(duplicated_notes, [])
        reasons = self.query(
            "SELECT message FROM cliniko_audit_log WHERE run_id = %s AND action = 'fail'"
            " AND resource = 'patient_attachments' AND cliniko_id = %s",
            (self.run_id, self.broken),
        )
        self.assertEqual(len(reasons), 1)
        self.assertIn("could not be downloaded", reasons[0][0])


class TestResumeWithoutRereading(ClinikoSandboxCase):
    """One page per batch, each batch a new runner (as the scheduler works), page size 2."""

    sandbox_options = {"seed": 5, "patients": 6}
    page_size = 2

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        run = (
            cls.env["cliniko.migration.run"]
            .with_context(cliniko_accept_proposed_map=True)
            .create({"connection_id": cls.connection.id, "unmatched_practitioners": "unassigned"})
        )
        run.with_context(cliniko_background=True).action_start()
        start = len(cls.sandbox.requests_log)
        Run = cls.env["cliniko.migration.run"].with_context(
            cliniko_batch_pages=1, cliniko_page_size=cls.page_size
        )
        cls.batches = 0
        # which resource each batch ended in
        cls.stops = Counter()
        while run.state in ("queued", "running") and cls.batches < 400:
            Run._cron_process_runs()
            cls.env.invalidate_all()
            cls.batches += 1
            open_lines = run.resource_ids.filtered(lambda line: not line.done)
            if open_lines:
                cls.stops[open_lines.sorted("sequence")[0].resource] += 1
        cls.migration_run = run
        cls.requests = [
            entry
            for entry in cls.sandbox.requests_log[start:]
            if entry["method"] == "GET" and entry["status"] == 200
        ]

    @classmethod
    def list_pages(cls):
        """``{(path, query): times asked}`` of the importers' own list pages (without the
        lookups a page makes by id, and the small lists read once per batch)."""
        asked = Counter()
        for entry in cls.requests:
            query = parse_qsl(entry["query"], keep_blank_values=True)
            if not any(key == "sort" for key, _value in query) and not entry["path"].endswith(
                "/deleted"
            ):
                continue  # a lookup (by id, or a small list), not a page of a resource
            asked[(entry["path"], tuple(sorted(query)))] += 1
        return asked

    def test_the_run_ends_in_many_batches(self):
        self.assertEqual(self.migration_run.state, "done", self.migration_run.error_message)
        self.assertGreater(self.batches, 20)
        self.assertCountersAddUp(self.migration_run)

    def test_no_page_is_asked_twice_but_the_history_page_a_stream_stood_in(self):
        asked = self.list_pages()
        history_paths = {"/v1/%s" % name for name in HISTORY_RESOURCES}
        twice = {key: times for key, times in asked.items() if times > 1}
        self.assertEqual(
            {key: times for key, times in twice.items() if key[0] not in history_paths}, {}
        )
        # practitioners (two lists) and the lists read with their /deleted list are there
        paths = {path for path, _query in asked}
        self.assertIn("/v1/practitioners/inactive", paths)
        self.assertTrue(any(path.endswith("/deleted") for path in paths))
        # The merged history pass: a page is asked again only when a batch stopped while a
        # stream stood in the middle of it: once per stream and stop at most.
        history_stops = sum(self.stops[name] for name in HISTORY_RESOURCES)
        again = sum(times - 1 for key, times in twice.items() if key[0] in history_paths)
        self.assertLessEqual(again, history_stops * len(HISTORY_RESOURCES))

    def test_the_clinics_country_is_read_once_not_in_every_batch(self):
        region_reads = [
            entry
            for entry in self.requests
            if entry["path"] == "/v1/businesses" and "sort=" not in entry["query"]
        ]
        self.assertLessEqual(len(region_reads), 1)
        self.assertTrue(self.migration_run.clinic_country_code)

    def test_every_record_is_read_into_the_counters_once(self):
        totals, first_pages = Counter(), {}
        for entry in self.requests:
            query = dict(parse_qsl(entry["query"]))
            if (
                entry["total"] is not None
                and query.get("page", "1") == "1"
                and ("sort" in query or entry["path"].endswith("/deleted"))
            ):
                first_pages[entry["path"]] = entry["total"]
        for path, total in first_pages.items():
            totals[path.split("/")[2]] += total
        for line in self.migration_run.resource_ids.filtered(lambda line: not line.unavailable):
            if line.resource not in totals:
                continue
            audited = {
                audit.cliniko_id
                for audit in self.migration_run.audit_ids
                if audit.resource == line.resource and audit.cliniko_id
            }
            self.assertEqual(line.fetched, totals[line.resource], line.resource)
            self.assertEqual(line.fetched, len(audited), line.resource)
