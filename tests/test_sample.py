"""The sample migration: a covering choice of patients, only their data, a field-level diff,
then keep (the full run carries on without duplicates) or roll back."""

import json

from odoo.exceptions import UserError, ValidationError

from ..migration import sample
from .common import ClinikoSandboxCase

COVERED = (("appointment_type_id", "type"), ("practitioner_id", "practitioner"))


class TestSample(ClinikoSandboxCase):
    """One sample run of 8 patients in ``setUpClass``; tests that keep or roll it back do so
    inside their own savepoint."""

    sandbox_options = {"seed": 3, "patients": 30}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sample_migration = cls.start_run(run_type="sample", sample_size=8)

    def clinic(self):
        return self.sandbox.clinic.resources

    def coverage(self, patient_ids=None):
        """What the clinic's (not deleted) appointments cover, for these patients or all."""
        covered = set()
        for appointment in self.clinic()["individual_appointments"].values():
            if appointment.get("deleted_at") or appointment.get("patient_id") not in (
                patient_ids or self.clinic()["patients"]
            ):
                continue
            covered.add(("type", appointment.get("appointment_type_id")))
            covered.add(("practitioner", appointment.get("practitioner_id")))
            covered.add(("location", appointment.get("business_id")))
        for group in self.clinic()["group_appointments"].values():
            if group.get("deleted_at"):
                continue
            if not set(group.get("patient_ids") or []) & set(
                patient_ids or self.clinic()["patients"]
            ):
                continue
            covered.add(("type", group.get("appointment_type_id")))
            covered.add(("practitioner", group.get("practitioner_id")))
            covered.add(("location", group.get("business_id")))
        return {entry for entry in covered if entry[1]}

    def sample_run(self):
        run = self.sample_migration
        self.assertEqual(run.state, "done", run.error_message)
        return run

    def test_the_sample_covers_every_appointment_type_practitioner_and_location(self):
        client = self.connection._get_client()
        patients, covered = sample.read_candidates(client)
        chosen = sample.choose(patients, covered, 8)
        self.assertEqual(len(chosen), 8)
        self.assertEqual(self.coverage(set(chosen)), self.coverage())
        self.assertEqual(chosen, sample.choose(patients, covered, 8), "deterministic")

    def test_the_greedy_choice_takes_the_widest_patients_first_then_fills_up(self):
        covers = {"a": {1}, "b": {1, 2, 3}, "c": {4}, "d": set(), "e": {2}}
        self.assertEqual(sample.choose(list("abcde"), covers, 2), ["b", "c"])
        self.assertEqual(sample.choose(list("abcde"), covers, 4), ["a", "b", "c", "d"])

    def test_the_sample_size_is_validated(self):
        with self.assertRaises(ValidationError):
            self.env["cliniko.migration.run"].create(
                {"connection_id": self.connection.id, "run_type": "sample", "sample_size": 0}
            )
        run = self.env["cliniko.migration.run"].create(
            {"connection_id": self.connection.id, "run_type": "sample"}
        )
        self.assertEqual(run.sample_size, 200)

    def test_only_the_sample_patients_and_their_records_are_migrated(self):
        run = self.sample_run()
        chosen = set(json.loads(run.sample_patient_ids))
        self.assertEqual(len(chosen), 8)
        self.assertEqual(set(self.migrated_partners().mapped("cliniko_patient_id")), chosen)
        counters = run.summary()["resources"]
        self.assertEqual(counters["patients"]["fetched"], 8)
        self.assertCountersAddUp(run)
        visits = self.env["crm.lead"].search(
            [("cliniko_lead_kind", "!=", "patient"), ("cliniko_connection_id", "!=", False)]
        )
        self.assertTrue(visits)
        self.assertTrue(set(visits.partner_id.mapped("cliniko_patient_id")) <= chosen)
        expected = [
            a
            for a in self.clinic()["individual_appointments"].values()
            if a.get("patient_id") in chosen
        ]
        self.assertEqual(counters["individual_appointments"]["fetched"], len(expected))
        # reference data is migrated whole
        self.assertEqual(
            counters["appointment_types"]["fetched"], len(self.clinic()["appointment_types"])
        )
        invoices = self.env["cliniko.invoice"].with_context(active_test=False).search([])
        self.assertTrue(set(invoices.partner_id.mapped("cliniko_patient_id")) <= chosen)

    def test_the_diff_lists_source_expected_and_actual_with_mismatches_first(self):
        run = self.sample_run()
        summary = run.cliniko_sample_summary()
        self.assertEqual(summary["diff"]["mismatches"], 0)
        self.assertGreater(summary["diff"]["fields"], summary["diff"]["records"])
        email = run.sample_diff_ids.filtered(
            lambda line: (
                line.field_name == "email"
                and line.res_model == "res.partner"
                and line.resource == "patients"
                and line.actual
            )
        )[:1]
        self.assertEqual(email.source_path, "patients.email")
        self.assertEqual(email.expected, email.actual)
        self.assertTrue(email.source_value)
        partner = self.env["res.partner"].browse(email.res_id)
        partner.city = "Edited in Odoo"
        run.action_build_sample_diff()
        first = run.sample_diff_ids[0]
        self.assertFalse(first.match)
        self.assertEqual((first.res_id, first.field_name), (partner.id, "city"))
        self.assertEqual(first.actual, "Edited in Odoo")
        self.assertEqual(run.cliniko_sample_summary()["diff"]["mismatches"], 1)

    def test_the_diff_checks_visits_history_files_and_invoices_against_clinikos_records(self):
        run = self.sample_run()
        if not run.sample_diff_ids:
            run.action_build_sample_diff()
        ruled = run.sample_diff_ids.filtered(lambda line: line.basis == "cliniko")
        wanted = {
            "patients": {"name", "cliniko_date_of_birth", "phone"},
            "individual_appointments": {"stage_id", "user_id", "cliniko_ends_at"},
            "treatment_notes": {"date", "body"},
            "invoices": {"number", "total_amount", "status"},
        }
        for resource, names in wanted.items():
            lines = ruled.filtered(lambda line, r=resource: line.resource == r)
            self.assertLessEqual(names, set(lines.mapped("field_name")), resource)
            self.assertTrue(all(lines.mapped("match")), resource)
        stage = ruled.filtered(lambda line: line.field_name == "stage_id")[:1]
        lead = self.env["crm.lead"].browse(stage.res_id)
        self.assertEqual(stage.expected, lead.stage_id.display_name)
        # a sample not verified yet prints its diff; its sign-off waits for a verification
        data = run._cliniko_signoff_data()
        self.assertEqual((data["kind"], data["mismatches"]), ("Sample diff", []))
        self.assertIn("individual_appointments", [row["resource"] for row in data["summary"]])
        with self.assertRaises(UserError):
            run.action_acknowledge_signoff()

    def test_keeping_the_sample_the_full_run_carries_on_without_duplicates(self):
        run = self.sample_run()
        action = run.action_keep_sample()
        full = self.env["cliniko.migration.run"].browse(action["res_id"])
        self.assertEqual((full.run_type, full.state), ("full", "draft"))
        self.assertEqual(full.field_map_id, run.field_map_id)
        full.unmatched_practitioners = "unassigned"
        full.with_context(cliniko_run_now=True).action_start()
        self.assertEqual(full.state, "done", full.error_message)
        partners = self.migrated_partners()
        ids = partners.mapped("cliniko_patient_id")
        self.assertEqual(len(ids), len(set(ids)), "a patient migrated twice")
        migratable = {
            pid
            for pid, p in self.clinic()["patients"].items()
            if not p.get("deleted_at")
            and not p.get("merged_at")
            and (p.get("first_name") or p.get("last_name"))
        }
        self.assertEqual(set(ids), migratable)
        self.assertEqual(len(self.patient_leads()), len(migratable))
        unchanged = full.summary()["resources"]["patients"]["unchanged"]
        self.assertGreaterEqual(unchanged, 8, "the sample's patients were found up to date")

    def test_rolling_back_the_sample_removes_what_it_wrote(self):
        run = self.sample_run()
        self.assertTrue(self.migrated_partners())
        run.action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertFalse(self.migrated_partners())
        self.assertFalse(self.patient_leads())
