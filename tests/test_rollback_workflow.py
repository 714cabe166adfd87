"""One-click rollback: the confirmation dialog and its counts, records a person changed after
the run kept and listed, what the run made (messages, files, events, placeholder users)
removed, safe twice, batched with a per-record fallback."""

import copy

from odoo.exceptions import UserError
from odoo.tests import new_test_user

from .common import ClinikoSandboxCase, outside_runs

TOUCHED_MODELS = ("res.partner", "crm.lead", "cliniko.external.ref", "mail.message")


class RollbackCase(ClinikoSandboxCase):
    """One run in ``setUpClass`` (``cls.migration``; the row counts before it: ``cls.before``);
    each test rolls it back inside its own savepoint."""

    run_values = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.before = cls.row_counts()
        cls.migration = cls.start_run(**cls.run_values)
        assert cls.migration.state == "done", cls.migration.error_message

    @classmethod
    def row_counts(cls):
        return {
            model: cls.env[model].with_context(active_test=False).search_count(outside_runs(model))
            for model in TOUCHED_MODELS
        }

    def change_in_cliniko(self, pid, **values):
        """Change a patient in the sandbox for this test only (the class's run must keep
        matching the clinic for the tests after this one)."""
        record = self.patients_in_cliniko()[pid]
        saved = copy.deepcopy(record)

        def put_back():
            record.clear()
            record.update(saved)
            self.sandbox.clinic.touch()

        self.addCleanup(put_back)
        self.sandbox.clinic.tick(60)
        self.sandbox.clinic.update("patients", pid, **values)

    def dialog(self, run):
        action = run.action_open_rollback_wizard()
        self.assertEqual(action["res_model"], "cliniko.rollback.wizard")
        self.assertEqual(action["target"], "new")
        return self.env["cliniko.rollback.wizard"].with_context(**action["context"]).create({})

    def created_lines(self, run, model=None):
        return run.audit_ids.filtered(
            lambda line: (
                not line.is_rollback
                and line.action == "create"
                and (model is None or line.res_model == model)
            )
        )

    def some_patient_lead(self):
        return self.patient_leads().filtered("partner_id").sorted("id")[0]


class TestRollbackDialog(RollbackCase):
    def test_the_dialog_counts_per_resource_what_will_be_removed_and_restored(self):
        run = self.migration
        wizard = self.dialog(run)
        created = self.created_lines(run)
        self.assertEqual(wizard.remove_count, len(created))
        self.assertEqual(wizard.keep_count, 0)
        counts = wizard.rollback_counts()["resources"]
        self.assertEqual(
            counts["patients"]["remove"],
            len(created.filtered(lambda line: line.resource == "patients")),
        )
        self.assertIn("Patients", wizard.summary)
        self.assertIn("Safe to run twice", wizard.summary)

    def test_the_dialog_of_an_update_run_counts_what_will_be_restored(self):
        pid = next(
            pid
            for pid, patient in sorted(self.patients_in_cliniko().items())
            if not patient.get("deleted_at") and not patient.get("archived_at")
        )
        self.change_in_cliniko(pid, city="Bendigo")
        update_run = self.migrate(resources="patients")
        wizard = self.dialog(update_run)
        updates = update_run.audit_ids.filtered(
            lambda line: not line.is_rollback and line.action == "update"
        )
        self.assertTrue(updates)
        self.assertEqual(wizard.restore_count, len(updates))
        self.assertEqual(wizard.remove_count, len(self.created_lines(update_run)))

    def test_confirming_the_dialog_rolls_the_run_back(self):
        before = self.before
        run = self.migration
        self.assertNotEqual(self.row_counts(), before)
        action = self.dialog(run).action_confirm()
        self.assertEqual(action["res_id"], run.id)
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual(self.row_counts(), before)
        summary = run.cliniko_rollback_summary()
        self.assertEqual(summary["removed"], len(self.created_lines(run)))
        self.assertEqual(summary["kept"], [])
        self.assertEqual(summary["failed"], 0)

    def test_running_it_twice_is_harmless(self):
        before = self.before
        run = self.migration
        self.dialog(run).action_confirm()
        lines = len(run.audit_ids)
        summary = run.cliniko_rollback_summary()
        wizard = self.dialog(run)
        self.assertEqual(wizard.remove_count, 0)
        wizard.action_confirm()
        self.assertEqual(len(run.audit_ids), lines)
        self.assertEqual(run.cliniko_rollback_summary(), summary)
        self.assertEqual(self.row_counts(), before)

    def test_a_running_run_cannot_be_rolled_back(self):
        run = self.env["cliniko.migration.run"].create(
            {"connection_id": self.connection.id, "unmatched_practitioners": "unassigned"}
        )
        run.with_context(cliniko_accept_proposed_map=True, cliniko_background=True).action_start()
        self.assertEqual(run.state, "queued")
        with self.assertRaises(UserError):
            run.action_open_rollback_wizard()


class TestKeptRecords(RollbackCase):
    def test_a_lead_a_salesman_edited_after_the_run_is_kept_and_listed(self):
        run = self.migration
        salesman = new_test_user(
            self.env,
            login="cliniko_rollback_sales",
            # Patient leads are for clinical users only (issue 11).
            groups="sales_team.group_sale_salesman,cliniko_crm_migration.group_cliniko_clinical",
        )
        run_messages = self.env["mail.message"].browse(
            self.created_lines(run, "mail.message").mapped("res_id")
        )
        lead = next(
            lead
            for lead in self.patient_leads().filtered("partner_id").sorted("id")
            if run_messages.filtered(
                lambda m, lead=lead: m.model == "crm.lead" and m.res_id == lead.id
            )
        )
        partner = lead.partner_id
        lead_messages = run_messages.filtered(
            lambda m: m.model == "crm.lead" and m.res_id == lead.id
        )
        lead.with_user(salesman).write({"description": "<p>Called back, wants a booking</p>"})
        other_leads = self.patient_leads() - lead
        wizard = self.dialog(run)
        self.assertGreaterEqual(wizard.keep_count, 2)  # the lead, and its partner
        self.assertIn(salesman.name, wizard.summary)
        wizard.action_confirm()
        self.assertEqual(run.state, "rolled_back")
        self.assertTrue(lead.exists())
        self.assertIn("Called back", lead.description)
        self.assertTrue(partner.exists(), "the kept lead keeps its partner")
        self.assertEqual(lead.partner_id, partner)
        self.assertFalse(other_leads.exists())
        kept = run.cliniko_rollback_summary()["kept"]
        self.assertIn(lead.id, [entry["id"] for entry in kept if entry["model"] == "crm.lead"])
        reason = next(
            entry["reason"]
            for entry in kept
            if entry["model"] == "crm.lead" and entry["id"] == lead.id
        )
        self.assertIn(salesman.name, reason)
        self.assertIn(
            partner.id, [entry["id"] for entry in kept if entry["model"] == "res.partner"]
        )
        self.assertEqual(run.rollback_kept_count, len(kept))
        self.assertIn(lead.id, run.rollback_kept_ids.mapped("res_id"))
        # what the run posted on the kept lead's chatter still goes
        self.assertTrue(lead_messages)
        self.assertFalse(lead_messages.exists())

    def test_a_record_only_the_run_touched_is_not_kept(self):
        run = self.migration
        runner_kept = run.cliniko_rollback_summary()["kept"]
        self.assertEqual(runner_kept, [])
        self.assertEqual(self.dialog(run).keep_count, 0)


class TestWhatTheRunMadeIsRemoved(RollbackCase):
    default_unmatched_practitioners = "placeholder"

    def test_messages_attachments_events_and_placeholder_users_are_removed(self):
        run = self.migration
        made = {
            model: self.created_lines(run, model)
            for model in ("mail.message", "ir.attachment", "calendar.event", "res.users")
        }
        for model, lines in made.items():
            with self.subTest(model=model):
                self.assertTrue(lines, "the sandbox run made no %s" % model)
        run.action_rollback()
        summary = run.cliniko_rollback_summary()
        self.assertEqual(summary["failed"], 0)
        for model, lines in made.items():
            with self.subTest(model=model):
                records = (
                    self.env[model].with_context(active_test=False).browse(lines.mapped("res_id"))
                )
                left = records.exists()
                if model == "res.users":
                    # a user still referenced elsewhere is archived instead
                    self.assertFalse(left.filtered("active"))
                else:
                    self.assertFalse(left)

    def test_a_record_still_used_elsewhere_is_archived_and_the_others_removed(self):
        run = self.migration
        partners = self.env["res.partner"].browse(
            self.created_lines(run, "res.partner").mapped("res_id")
        )
        used = partners.sorted("id")[0]
        # a calendar filter someone made on a migrated partner (partner_id is
        # ondelete=restrict): that partner cannot be removed
        self.env["calendar.filters"].create({"user_id": self.env.user.id, "partner_id": used.id})
        run.action_rollback()
        self.assertTrue(used.exists())
        self.assertFalse(used.active)
        self.assertFalse((partners - used).exists())
        line = run.audit_ids.filtered(
            lambda a: a.is_rollback and a.res_model == "res.partner" and a.res_id == used.id
        )
        self.assertIn("archived", line.message)


class TestSampleRollback(RollbackCase):
    run_values = {"run_type": "sample", "sample_size": 5}

    def test_a_sample_run_rolls_back_to_nothing(self):
        before = self.before
        run = self.migration
        self.assertEqual(run.state, "done", run.error_message)
        self.assertNotEqual(self.row_counts(), before)
        wizard = self.dialog(run)
        self.assertEqual(wizard.remove_count, len(self.created_lines(run)))
        wizard.action_confirm()
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual(self.row_counts(), before)
