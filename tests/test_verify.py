"""Verification: counts reconcile per resource, every migrated field is read back and compared,
and the run is verified only when every mismatch is acknowledged."""

from odoo.exceptions import UserError

from .common import ClinikoSandboxCase


class TestVerify(ClinikoSandboxCase):
    """One run in ``setUpClass``; each test edits and verifies inside its own savepoint."""

    sandbox_options = {"seed": 1, "patients": 12}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.migration = cls.start_run()

    def run_done(self):
        run = self.migration
        self.assertEqual(run.state, "done", run.error_message)
        return run

    def test_a_clean_run_verifies(self):
        run = self.run_done()
        report = run.cliniko_verify()
        bad = run.verification_resource_ids.filtered(lambda line: not line.reconciled)
        self.assertFalse(bad, bad.mapped(lambda line: (line.resource, line.problems)))
        self.assertEqual(report["mismatches"], 0)
        self.assertTrue(report["verified"])
        self.assertTrue(run.verified)
        patients = report["resources"]["patients"]
        fetched = run.summary()["resources"]["patients"]["fetched"]
        self.assertEqual(patients["cliniko"], fetched)
        self.assertEqual(patients["references"], patients["odoo"])
        self.assertEqual(patients["references"], len(self.migrated_partners()))

    def test_an_odoo_edit_of_a_migrated_lead_is_a_mismatch_until_acknowledged(self):
        run = self.run_done()
        lead = self.patient_leads().filtered("cliniko_first_name")[:1]
        original = lead.cliniko_first_name
        lead.cliniko_first_name = "Changed in Odoo"
        report = run.cliniko_verify()
        self.assertEqual(report["mismatches"], 1)
        self.assertFalse(report["verified"])
        mismatch = run.verification_mismatch_ids
        self.assertEqual(
            (mismatch.resource, mismatch.res_model, mismatch.res_id, mismatch.field_name),
            ("patients", "crm.lead", lead.id, "cliniko_first_name"),
        )
        self.assertEqual(mismatch.cliniko_id, lead.cliniko_patient_id)
        self.assertEqual((mismatch.expected, mismatch.actual), (original, "Changed in Odoo"))
        self.assertEqual(mismatch.record_ref, lead)
        self.assertFalse(run.verified)
        mismatch.acknowledged = True
        self.assertTrue(run.verified)

    def test_fixing_the_record_and_verifying_again_clears_the_mismatch(self):
        run = self.run_done()
        partner = self.migrated_partners().filtered("city")[:1]
        city = partner.city
        partner.city = "Elsewhere"
        self.assertFalse(run.cliniko_verify()["verified"])
        partner.city = city
        self.assertTrue(run.cliniko_verify()["verified"])
        self.assertFalse(run.verification_mismatch_ids)

    def test_a_failed_record_shows_in_the_reconciliation_with_its_reason(self):
        run = self.run_done()
        orphan = self.sandbox.clinic.edge_cases["orphan_appointment"]
        run.cliniko_verify()
        line = run.verification_resource_ids.filtered(
            lambda line: line.resource == "individual_appointments"
        )
        self.assertGreaterEqual(line.failed, 1)
        self.assertIn(str(orphan), line.failures)
        self.assertIn("not migrated", line.failures)
        self.assertTrue(line.reconciled, "a failed record is accounted for, not lost")

    def test_a_reference_to_a_removed_record_does_not_reconcile(self):
        run = self.run_done()
        location = self.env["cliniko.location"].with_context(active_test=False).search([])[:1]
        location.unlink()
        report = run.cliniko_verify()
        line = run.verification_resource_ids.filtered(lambda line: line.resource == "businesses")
        self.assertFalse(line.reconciled)
        self.assertIn("no longer exist", line.problems)
        self.assertEqual(
            report["resources"]["businesses"]["references"],
            report["resources"]["businesses"]["odoo"] + 1,
        )
        self.assertFalse(report["verified"])

    def test_a_draft_run_cannot_be_verified(self):
        run = self.env["cliniko.migration.run"].create({"connection_id": self.connection.id})
        with self.assertRaises(UserError):
            run.cliniko_verify()
