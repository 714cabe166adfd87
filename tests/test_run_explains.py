"""A run that explains itself: its chatter says what happened to it, the admin who started it
gets an activity when it needs them, its counters add up with one meaning each, its skips and
failures are grouped by reason with the patients concerned, and its log shows the waits,
retries and warnings it met."""

import json
import re

from markupsafe import escape

from odoo.tests import HttpCase, tagged

from ..migration.runner import MigrationRunner
from ..models.cliniko_connection import SANDBOX_PARAM
from ..models.cliniko_migration_run import LOG_MAX_LINES
from ..tools.cliniko_sandbox import ClinikoSandbox, SteppingClock
from .common import ClinikoSandboxCase

OUTCOMES = ("created", "updated", "unchanged", "skipped", "failed")
HOSTILE_NAME = "<img src=x onerror=alert(1)>Ann"


def notes(run):
    """The run's own chatter notes (what it said about itself), oldest first."""
    return run.message_ids.filtered(lambda m: m.subtype_id == run.env.ref("mail.mt_note")).sorted(
        "id"
    )


def admin_env(env):
    return env(user=env.ref("base.user_admin"))


class TestHostileRunExplainsItself(ClinikoSandboxCase):
    """One run against a hostile sandbox: a list refused, malformed and merged patients, a
    429 storm and server errors (waited out on a stepping clock, no real waiting)."""

    sandbox_options = {"seed": 11, "patients": 16}

    @classmethod
    def setUpClass(cls):
        cls.clock = SteppingClock()
        cls.sandbox_options = dict(cls.sandbox_options, clock=cls.clock.time)
        super().setUpClass()
        sandbox = cls.sandbox
        patients = sandbox.clinic.resources["patients"]
        sandbox.refuse("medical_alerts", 403)
        # An appointment pointing at another host fails; its patient has a hostile name.
        appointment = next(
            a
            for a in sorted(
                sandbox.clinic.resources["individual_appointments"].values(),
                key=lambda a: int(a["id"]),
            )
            if not a.get("deleted_at")
            and a["patient_id"] in patients
            and not patients[a["patient_id"]].get("deleted_at")
            and not patients[a["patient_id"]].get("merged_at")
        )
        cls.planted = sandbox.plant("individual_appointments", "foreign_link", appointment["id"])
        patients[appointment["patient_id"]]["first_name"] = HOSTILE_NAME
        patients[appointment["patient_id"]]["last_name"] = "Smith"
        sandbox.fail_next(3, 429, path_contains="/contacts?")
        sandbox.fail_next(2, 503, path_contains="/patients?")
        run = (
            cls.env["cliniko.migration.run"]
            .with_context(cliniko_accept_proposed_map=True)
            .create({"connection_id": cls.connection.id, "unmatched_practitioners": "unassigned"})
        )
        runner = run._cliniko_runner()
        runner._client = cls.connection._get_client(
            on_wait=runner._on_wait, clock=cls.clock.time, sleep=cls.clock.sleep
        )
        runner._client.remember_first_pages()
        runner.execute()
        cls.migration = run.with_context(cliniko_accept_proposed_map=False)

    def test_the_run_ends_done(self):
        self.assertEqual(self.migration.state, "done", self.migration.error_message)

    def test_its_chatter_says_it_started_and_finished_with_its_totals(self):
        said = notes(self.migration)
        bodies = [message.body for message in said]
        self.assertIn("Run started.", bodies[0])
        self.assertIn("Run finished.", bodies[-1])
        lines = self.migration.resource_ids
        self.assertIn("{:,} records read".format(sum(lines.mapped("fetched"))), bodies[-1])
        self.assertIn("{:,} failed".format(sum(lines.mapped("failed"))), bodies[-1])

    def test_its_chatter_is_internal_notes_to_nobody(self):
        for message in notes(self.migration):
            self.assertEqual(message.message_type, "notification")
            self.assertTrue(message.is_internal or message.subtype_id.internal)
            self.assertFalse(message.partner_ids, "a note addressed to someone")
            self.assertFalse(message.notification_ids, "a note that notified someone")
        self.assertFalse(
            self.env["mail.mail"].search([("model", "=", "cliniko.migration.run")]),
            "the run e-mailed someone",
        )
        self.assertFalse(self.migration.message_follower_ids, "nobody follows a run")

    def test_a_finished_run_leaves_nobody_a_todo(self):
        self.assertFalse(self.migration.activity_ids)

    def test_every_counter_line_adds_up_with_its_outcomes(self):
        for line in self.migration.resource_ids:
            self.assertEqual(
                line.fetched,
                sum(line[name] for name in OUTCOMES),
                "counters of %s do not add up" % line.resource,
            )

    def test_counters_match_the_audit_lines_of_each_outcome(self):
        Audit = self.env["cliniko.audit.log"]
        for line in self.migration.resource_ids.filtered(lambda line: not line.unavailable):
            domain = [
                ("run_id", "=", self.migration.id),
                ("resource", "=", line.resource),
                ("is_rollback", "=", False),
            ]
            failed = Audit.search(domain + [("action", "=", "fail")])
            self.assertEqual(len(failed), line.failed, line.resource)
            skipped = Audit.search(domain + [("action", "=", "skip"), ("unchanged", "=", False)])
            self.assertEqual(len(set(skipped.mapped("cliniko_id"))), line.skipped, line.resource)

    def test_total_is_what_cliniko_listed_or_empty(self):
        lines = {line.resource: line for line in self.migration.resource_ids}
        self.assertEqual(lines["medical_alerts"].total, 0, "a refused list has no total")
        self.assertTrue(lines["medical_alerts"].unavailable)
        # invoices: the invoices list and the deleted invoices list, both counted
        deleted = [
            i for i in self.sandbox.clinic.resources["invoices"].values() if i.get("deleted_at")
        ]
        self.assertTrue(deleted, "the clinic has a deleted invoice")
        self.assertEqual(lines["invoices"].total, lines["invoices"].fetched)
        self.assertEqual(len(lines["invoices"].list_totals), 2)
        for name in ("patients", "contacts", "individual_appointments", "communications"):
            self.assertEqual(lines[name].total, lines[name].fetched, name)

    def test_a_failure_is_listed_by_reason_with_its_patient_named_and_escaped(self):
        rows = self.migration._cliniko_skip_fail_reasons()
        failed = [
            row
            for row in rows
            if row["resource"] == "individual_appointments" and row["action"] == "fail"
        ]
        hostile = [row for row in failed if "another host" in row["reason"]]
        self.assertEqual(len(hostile), 1, failed)
        self.assertEqual(hostile[0]["count"], 1)
        self.assertEqual(hostile[0]["examples"], ["%s Smith" % HOSTILE_NAME])
        self.assertEqual(
            self.env["cliniko.audit.log"]
            .search([("run_id", "=", self.migration.id), ("cliniko_id", "=", self.planted)])
            .patient_name,
            "%s Smith" % HOSTILE_NAME,
        )
        html = str(self.migration.skip_fail_html)
        self.assertNotIn("<img", html)
        self.assertIn(str(escape("%s Smith" % HOSTILE_NAME)), html)
        self.assertIn("Appointments", html)

    def test_a_skipped_patient_is_listed_by_reason_with_its_name(self):
        merged = [
            row
            for row in self.migration._cliniko_skip_fail_reasons()
            if row["resource"] == "patients" and row["action"] == "skip"
        ]
        self.assertEqual([row["reason"] for row in merged], ["merged into Cliniko patient …"])
        line = self.env["cliniko.audit.log"].search(
            [
                ("run_id", "=", self.migration.id),
                ("resource", "=", "patients"),
                ("action", "=", "skip"),
            ]
        )
        source = self.patients_in_cliniko()[line.cliniko_id]
        name = "%s %s" % (source["first_name"], source["last_name"])
        self.assertEqual(line.patient_name, name)
        self.assertEqual(merged[0]["examples"], [name])

    def test_reasons_add_up_to_the_skipped_and_failed_counters(self):
        rows = self.migration._cliniko_skip_fail_reasons()
        for line in self.migration.resource_ids.filtered(lambda line: not line.unavailable):
            for action, counter in (("skip", "skipped"), ("fail", "failed")):
                listed = sum(
                    row["count"]
                    for row in rows
                    if row["resource"] == line.resource and row["action"] == action
                )
                self.assertEqual(listed, line[counter], "%s %s" % (line.resource, counter))

    def test_attendees_of_individual_appointments_are_one_reason_not_a_mystery(self):
        line = self.migration.resource_ids.filtered(lambda line: line.resource == "attendees")
        rows = [
            row
            for row in self.migration._cliniko_skip_fail_reasons()
            if row["resource"] == "attendees" and row["action"] == "skip"
        ]
        reasons = {row["reason"]: row["count"] for row in rows}
        self.assertIn("migrated with its individual appointment", reasons)
        self.assertEqual(sum(reasons.values()), line.skipped)
        self.assertIn("Group attendances", str(self.migration.skip_fail_html))

    def test_reasons_group_alike_messages_whatever_ids_they_name(self):
        rows = self.migration._cliniko_skip_fail_reasons()
        keys = [(row["resource"], row["action"], row["reason"]) for row in rows]
        self.assertEqual(len(keys), len(set(keys)), "one row per resource, outcome and reason")
        self.assertFalse([key for key in keys if re.search(r"\d{4,}", key[2])], keys)

    def test_the_log_shows_the_waits_retries_and_warnings(self):
        log = self.migration.log
        self.assertIn("Waited 3 times", log, "three 429s in a row share one line")
        self.assertIn("rate limited by Cliniko (429)", log)
        self.assertIn("retry after HTTP 503", log)
        self.assertIn("Medical alerts: not available to this key", log)
        self.assertIn("Started", log.splitlines()[0])
        self.assertIn("Finished: ", log.splitlines()[-1])

    def test_the_log_never_holds_a_patient_name(self):
        self.assertNotIn("Smith", self.migration.log)


class TestRerunCountsUnchanged(ClinikoSandboxCase):
    """A second run of the same clinic: what did not change is unchanged, not skipped."""

    sandbox_options = {"seed": 12, "patients": 10}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.first = cls.start_run(resources="patients")
        cls.second = cls.start_run(resources="patients")

    def test_what_did_not_change_counts_as_unchanged(self):
        first, second = (
            run.resource_ids.filtered(lambda line: line.resource == "patients")
            for run in (self.first, self.second)
        )
        self.assertTrue(first.created)
        self.assertEqual(first.unchanged, 0)
        self.assertEqual(second.created, 0)
        self.assertEqual(second.unchanged, first.created)
        # the deleted and merged patients are skipped for their reasons, both times
        self.assertEqual(second.skipped, first.skipped)
        self.assertEqual(second.fetched, sum(second[name] for name in OUTCOMES))

    def test_unchanged_records_are_not_listed_as_skips(self):
        rows = self.second._cliniko_skip_fail_reasons()
        self.assertNotIn("up to date", [row["reason"] for row in rows])
        self.assertTrue(
            self.env["cliniko.audit.log"].search_count(
                [("run_id", "=", self.second.id), ("unchanged", "=", True)]
            )
        )


class TestBlockedRunAsksItsAdmin(ClinikoSandboxCase):
    """The admin starts a full run; unmatched practitioners pause it for decisions."""

    sandbox_options = {"seed": 13, "patients": 8}
    default_unmatched_practitioners = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.env.ref("base.user_admin")
        env = admin_env(cls.env)
        run = (
            env["cliniko.migration.run"]
            .with_context(cliniko_accept_proposed_map=True, cliniko_run_now=True)
            .create({"connection_id": cls.connection.id})
        )
        run.action_start()
        cls.migration = run.with_context(cliniko_accept_proposed_map=False)

    def test_the_run_is_blocked_and_says_why(self):
        self.assertEqual(self.migration.state, "blocked")
        last = notes(self.migration)[-1]
        self.assertIn("needs decisions", last.body)
        self.assertIn("practitioner(s) have no Odoo user", last.body)

    def test_the_admin_who_started_it_gets_a_todo(self):
        self.assertEqual(self.migration.started_by_id, self.admin)
        activity = self.migration.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.admin)
        self.assertEqual(activity.activity_type_id, self.env.ref("mail.mail_activity_data_todo"))
        self.assertIn("decisions", activity.summary)

    def test_deciding_and_starting_again_marks_the_todo_done(self):
        run = self.migration
        run._cliniko_undecided_practitioners().write({"decision": "unassigned"})
        run.with_context(cliniko_run_now=True).action_start()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertFalse(run.activity_ids, "the todo is still open")
        bodies = [message.body for message in notes(run)]
        self.assertTrue(any("Run resumed" in body for body in bodies))
        self.assertIn("Run finished.", bodies[-1])
        done = run.message_ids.filtered(lambda m: m.mail_activity_type_id)
        self.assertTrue(done, "the done todo is in the chatter")


class TestFailedRunAsksItsAdmin(ClinikoSandboxCase):
    """The admin starts a run with a key Cliniko refuses."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.env.ref("base.user_admin")
        cls.connection.sudo().api_key = "wrongkeywrongkey-au1"
        env = admin_env(cls.env)
        run = (
            env["cliniko.migration.run"]
            .with_context(cliniko_accept_proposed_map=True, cliniko_run_now=True)
            .create({"connection_id": cls.connection.id, "unmatched_practitioners": "unassigned"})
        )
        run.action_start()
        cls.migration = run

    def test_the_chatter_says_it_failed_with_the_reason(self):
        self.assertEqual(self.migration.state, "failed")
        last = notes(self.migration)[-1]
        self.assertIn("Run failed.", last.body)
        self.assertIn("API key", last.body)
        self.assertNotIn("wrongkeywrongkey", last.body)

    def test_the_admin_gets_a_todo_saying_why(self):
        activity = self.migration.activity_ids
        self.assertEqual(activity.user_id, self.admin)
        self.assertIn("failed", activity.summary)
        self.assertIn("API key", str(activity.note))

    def test_rolling_back_the_failed_run_closes_the_todo(self):
        run = self.migration
        run.action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertFalse(run.activity_ids)
        self.assertIn("Run rolled back.", notes(run)[-1].body)


class TestBackgroundRunSaysItOnce(ClinikoSandboxCase):
    """A run worked on by the scheduler in many batches of one page, each committed."""

    sandbox_options = {"seed": 14, "patients": 8}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        run = (
            admin_env(cls.env)["cliniko.migration.run"]
            .with_context(cliniko_accept_proposed_map=True)
            .create({"connection_id": cls.connection.id, "unmatched_practitioners": "unassigned"})
        )
        run.with_context(cliniko_background=True).action_start()
        Run = cls.env["cliniko.migration.run"].with_context(
            cliniko_batch_pages=1, cliniko_page_size=5
        )
        cls.batches = 0
        while run.state in ("queued", "running") and cls.batches < 500:
            Run._cron_process_runs()
            cls.env.invalidate_all()
            cls.batches += 1
        cls.migration = run

    def test_its_chatter_says_started_and_finished_once_whatever_the_batches(self):
        self.assertEqual(self.migration.state, "done", self.migration.error_message)
        self.assertGreater(self.batches, 3)
        bodies = [message.body for message in notes(self.migration)]
        self.assertEqual(len(bodies), 2, bodies)
        self.assertIn("Run started.", bodies[0])
        self.assertIn("Run finished.", bodies[1])
        self.assertEqual(self.migration.started_by_id, self.env.ref("base.user_admin"))
        self.assertFalse(self.migration.activity_ids)
        log = self.migration.log.splitlines()
        self.assertIn("Queued", log[0])
        self.assertIn("Started", log[1])


class TestRunLogIsBounded(ClinikoSandboxCase):
    """The log of a run that waits a lot (no migration: the runner's wait hook alone)."""

    def test_repeated_waits_share_a_line_and_other_waits_get_their_own(self):
        run = self.env["cliniko.migration.run"].create({"connection_id": self.connection.id})
        runner = MigrationRunner(run)
        for _ in range(5):
            runner._on_wait("rate limited by Cliniko (429)", 2.0)
        runner._on_wait("retry after HTTP 503", 1.0)
        runner._on_wait("rate limited by Cliniko (429)", 2.0)
        lines = run.log.splitlines()
        self.assertEqual(len(lines), 3, lines)
        self.assertIn("Waited 5 times, 10.0 s in all: rate limited by Cliniko (429)", lines[0])
        self.assertIn("Waited 1.0 s: retry after HTTP 503", lines[1])
        self.assertIn("Waited 2.0 s: rate limited by Cliniko (429)", lines[2])

    def test_only_the_last_lines_are_kept_and_the_first_says_how_many_went(self):
        run = self.env["cliniko.migration.run"].create({"connection_id": self.connection.id})
        for number in range(LOG_MAX_LINES + 25):
            run._log("line %d" % number)
        lines = run.log.splitlines()
        self.assertEqual(len(lines), LOG_MAX_LINES + 1)
        self.assertEqual(lines[0], "(25 earlier lines not shown)")
        self.assertTrue(lines[-1].endswith("line %d" % (LOG_MAX_LINES + 24)))
        run._log("one more")
        self.assertEqual(run.log.splitlines()[0], "(26 earlier lines not shown)")




@tagged("post_install", "-at_install")
class TestRunFormInBrowser(HttpCase):
    """A finished run's form in a real browser: chatter, reasons (names escaped), Log tab."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = ClinikoSandbox(seed=15, patients=10, rate_limit=0).start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.env["ir.config_parameter"].set_param(SANDBOX_PARAM, "True")
        patients = cls.sandbox.clinic.resources["patients"]
        merged = next(p for p in patients.values() if p.get("merged_at"))
        merged["first_name"], merged["last_name"] = HOSTILE_NAME, "Smith"
        connection = cls.env["cliniko.connection"].create(
            {
                "name": "Browser clinic",
                "api_key": cls.sandbox.api_key,
                "base_url": cls.sandbox.base_url,
                "contact_email": "tests@example.com",
            }
        )
        run = (
            cls.env["cliniko.migration.run"]
            .with_context(cliniko_accept_proposed_map=True, cliniko_run_now=True)
            .create({"connection_id": connection.id, "unmatched_practitioners": "unassigned"})
        )
        run.action_start()
        cls.migration = run

    def test_the_form_shows_chatter_reasons_and_log(self):
        self.assertEqual(self.migration.state, "done", self.migration.error_message)
        hostile = json.dumps("%s Smith" % HOSTILE_NAME)
        code = """
            const fail = (why) => console.error(why);
            const chatter = document.querySelector('.o-mail-Chatter');
            const reasons = document.querySelector('.o_field_widget[name=skip_fail_html]');
            if (!chatter.innerText.includes('Run finished.')) { fail('no finished note'); }
            else if (!reasons || !reasons.querySelector('table')) { fail('no reasons table'); }
            else if (reasons.querySelector('img')) { fail('a name was rendered as HTML'); }
            else if (!reasons.innerText.includes(%s)) { fail('the merged patient is not named'); }
            else {
                document.querySelector('.o_notebook a[name=log]').click();
                setTimeout(() => {
                    const log = document.querySelector('.o_field_widget[name=log]');
                    if (log && log.innerText.includes('Finished: ')) {
                        console.log('test successful');
                    } else { fail('the Log tab does not show the log'); }
                }, 500);
            }
        """ % hostile
        self.browser_js(
            "/odoo/action-cliniko_crm_migration.action_cliniko_migration_run/%s"
            % self.migration.id,
            code,
            ready="!!document.querySelector('.o-mail-Chatter .o-mail-Message')",
            login="admin",
        )
