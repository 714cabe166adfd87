"""The field map: proposed offline, confirmed by the admin, enforced and honoured by runs."""

from odoo.exceptions import UserError

from ..migration.patients import custom_field_answer, iter_custom_fields
from ..migration.runner import MigrationRunner
from .common import ClinikoSandboxCase, outside_runs

MOVED = ("res.partner", "crm.lead", "cliniko.external.ref", "cliniko.location", "mail.message")


class TestFieldMap(ClinikoSandboxCase):
    """Each test sets up its own map; its run moves only the patients (and what they need):
    the fields these tests map are the patients' and their leads'."""

    sandbox_options = {"seed": 1, "patients": 30}

    def propose(self):
        return self.env["cliniko.field.map"].cliniko_propose(self.connection)

    def line(self, field_map, source_path):
        found = field_map.line_ids.filtered(lambda line: line.source_path == source_path)
        self.assertEqual(len(found), 1, source_path)
        return found

    def custom_line(self, field_map, label):
        found = field_map.line_ids.filtered(
            lambda line: line.is_custom and line.source_label.endswith(label)
        )
        self.assertEqual(len(found), 1, label)
        return found

    def counts(self):
        return {
            model: self.env[model].with_context(active_test=False).search_count(outside_runs(model))
            for model in MOVED
        }

    def patients_with_custom(self, label):
        """{patient id: answer} of the sandbox patients answering the custom field ``label``."""
        result = {}
        for pid in self.patients_in_cliniko():
            patient = self.sandbox.clinic.get("patients", pid)
            for _section, field in iter_custom_fields(patient.get("custom_fields")):
                if field.get("name") == label and custom_field_answer(field):
                    result[pid] = custom_field_answer(field)
        return result

    def test_the_proposal_is_deterministic(self):
        def shape(field_map):
            return [
                (
                    line.source_path,
                    line.target_kind,
                    line.target_model,
                    line.target_field,
                    line.confidence,
                    line.reason,
                    line.sample_profile,
                )
                for line in field_map.line_ids
            ]

        first, second = self.propose(), self.propose()
        self.assertEqual(shape(first), shape(second))
        self.assertEqual(first.state, "draft")

    def test_standard_fields_start_from_the_importers_default_map(self):
        field_map = self.propose()
        email = self.line(field_map, "patients.email")
        self.assertEqual((email.target_kind, email.target_model), ("odoo", "res.partner"))
        self.assertEqual(email.target_field, "email")
        self.assertEqual(email.confidence, 100)
        self.assertIn("looks like email", email.sample_profile)
        self.assertTrue(self.line(field_map, "patients.(pipeline)").create_only)
        self.assertTrue(self.line(field_map, "invoices.total_amount").required)

    def test_custom_patient_fields_are_proposed_with_confidence_and_reason(self):
        field_map = self.propose()
        custom = field_map.line_ids.filtered("is_custom")
        self.assertTrue(
            all(line.source_path.startswith("patients.custom_fields.") for line in custom)
        )
        policy = self.custom_line(field_map, "Policy number")
        self.assertEqual(policy.target_kind, "odoo")
        self.assertEqual(
            (policy.target_model, policy.target_field), ("crm.lead", "cliniko_policy_number")
        )
        self.assertGreaterEqual(policy.confidence, 70)
        self.assertIn("similar", policy.reason)
        heard = self.custom_line(field_map, "How did you hear about us")
        self.assertEqual(heard.target_kind, "keep")
        self.assertIn("no Odoo field", heard.reason)
        if self.patients_with_custom("GP consent date"):
            gp_date = self.custom_line(field_map, "GP consent date")
            # a date custom field never lands on the date of birth by a weak likeness
            self.assertNotEqual(gp_date.target_field, "cliniko_date_of_birth")
            self.assertIn("date", gp_date.sample_profile)

    def test_a_run_without_a_confirmed_map_refuses_to_start_and_moves_nothing(self):
        self.propose()  # a draft map is not enough
        before = self.counts()
        run = self.env["cliniko.migration.run"].create(
            {"connection_id": self.connection.id, "unmatched_practitioners": "unassigned"}
        )
        self.assertFalse(run.field_map_id)
        with self.assertRaisesRegex(UserError, "field map"):
            run.action_start()
        self.assertEqual(run.state, "draft")
        self.assertEqual(self.counts(), before)

    def test_the_runner_refuses_too_when_called_without_the_model_check(self):
        draft = self.propose()
        before = self.counts()
        run = self.env["cliniko.migration.run"].create(
            {
                "connection_id": self.connection.id,
                "unmatched_practitioners": "unassigned",
                "field_map_id": draft.id,
            }
        )
        MigrationRunner(run).execute()
        self.assertEqual(run.state, "failed")
        self.assertIn("not confirmed", run.error_message)
        self.assertEqual(self.counts(), before)

    def test_a_confirmed_map_is_stored_with_the_run_and_reused_by_the_next(self):
        field_map = self.propose()
        field_map.action_confirm()
        self.assertEqual(field_map.confirmed_by_id, self.env.user)
        self.assertTrue(field_map.confirmed_at)
        first = self.migrate(resources="patients")
        self.assertEqual(first.state, "done", first.error_message)
        self.assertEqual(first.field_map_id, field_map)
        second = self.env["cliniko.migration.run"].create({"connection_id": self.connection.id})
        self.assertEqual(second.field_map_id, field_map)
        self.assertEqual(self.env["cliniko.field.map"].search_count([]), 1)

    def test_a_confirmed_map_cannot_be_edited(self):
        field_map = self.propose()
        field_map.action_confirm()
        with self.assertRaises(UserError):
            self.line(field_map, "patients.email").target_kind = "skip"

    def test_a_required_field_cannot_be_skipped(self):
        field_map = self.propose()
        with self.assertRaises(Exception):  # noqa: B017 - ValidationError from the constraint
            self.line(field_map, "patients.first_name").target_kind = "skip"

    def test_a_skipped_standard_field_is_not_written(self):
        field_map = self.propose()
        self.line(field_map, "patients.email").target_kind = "skip"
        self.line(field_map, "patients.city").target_kind = "skip"
        field_map.action_confirm()
        with_email = [p for p in self.patients_in_cliniko().values() if p.get("email")]
        self.assertTrue(with_email)
        run = self.migrate(resources="patients")
        self.assertEqual(run.state, "done", run.error_message)
        partners = self.migrated_partners()
        self.assertTrue(partners)
        self.assertFalse(any(partners.mapped("email")))
        self.assertFalse(any(partners.mapped("city")))
        self.assertFalse(any(self.patient_leads().mapped("email_from")))
        self.assertTrue(any(partners.mapped("zip")), "other fields are still written")

    def test_a_skipped_custom_field_is_left_out_of_the_custom_fields_section(self):
        answers = self.patients_with_custom("Policy number")
        self.assertTrue(answers)
        field_map = self.propose()
        policy = self.custom_line(field_map, "Policy number")
        token = policy.source_path.rsplit(".", 1)[1]
        policy.target_kind = "skip"
        field_map.action_confirm()
        self.migrate(resources="patients")
        for lead in self.patient_leads().filtered(lambda lead: lead.cliniko_patient_id in answers):
            tokens = {
                field.get("token") for _s, field in iter_custom_fields(lead.cliniko_custom_fields)
            }
            self.assertNotIn(token, tokens)
            self.assertNotIn(answers[lead.cliniko_patient_id], str(lead.cliniko_custom_fields_html))

    def test_a_custom_field_mapped_to_an_odoo_field_is_written_there(self):
        answers = self.patients_with_custom("How did you hear about us")
        self.assertTrue(answers)
        field_map = self.propose()
        heard = self.custom_line(field_map, "How did you hear about us")
        heard.write({"target_kind": "odoo", "target_model": "crm.lead", "target_field": "referred"})
        field_map.action_confirm()
        self.migrate(resources="patients")
        leads = self.patient_leads()
        for lead in leads:
            with self.subTest(patient=lead.cliniko_patient_id):
                self.assertEqual(lead.referred or None, answers.get(lead.cliniko_patient_id))
        # kept in the section too: nothing of the clinic's record is lost
        some = leads.filtered(lambda lead: lead.cliniko_patient_id in answers)[:1]
        self.assertIn(answers[some.cliniko_patient_id], str(some.cliniko_custom_fields_html))

    def test_a_custom_field_cannot_be_confirmed_onto_a_contact_field_everyone_reads(self):
        field_map = self.propose()
        heard = self.custom_line(field_map, "How did you hear about us")
        heard.write({"target_kind": "odoo", "target_model": "res.partner", "target_field": "ref"})
        with self.assertRaisesRegex(UserError, "every internal user reads"):
            field_map.action_confirm()
        self.assertEqual(field_map.state, "draft")
        heard.write({"target_model": "crm.lead", "target_field": "no_such_field"})
        with self.assertRaisesRegex(UserError, "crm.lead.no_such_field does not exist"):
            field_map.action_confirm()
        heard.write({"target_kind": "odoo", "target_model": "crm.lead", "target_field": "referred"})
        field_map.action_confirm()
        self.assertEqual(field_map.state, "confirmed")

    def test_a_custom_field_kept_in_the_section_is_written_nowhere_else(self):
        answers = self.patients_with_custom("How did you hear about us")
        field_map = self.propose()
        self.assertEqual(
            self.custom_line(field_map, "How did you hear about us").target_kind, "keep"
        )
        field_map.action_confirm()
        self.migrate(resources="patients")
        leads = self.patient_leads().filtered(lambda lead: lead.cliniko_patient_id in answers)
        self.assertTrue(leads)
        self.assertFalse(any(leads.mapped("referred")))
