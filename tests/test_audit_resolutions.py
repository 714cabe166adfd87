"""What the admin resolved in the pre-migration audit changes what the run does."""

from odoo.tests import tagged

from .common import ClinikoSandboxCase


@tagged("post_install", "-at_install")
class TestAuditResolutions(ClinikoSandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # One audit for the class; each test resolves its finding inside its own savepoint.
        cls.pid = cls.sandbox.clinic.edge_cases["regular_patient"]
        patient = cls.sandbox.clinic.resources["patients"][cls.pid]
        cls.existing = cls.env["res.partner"].create(
            {"name": "Already In Odoo", "email": patient["email"].strip()}
        )
        audit = cls.env["cliniko.source.audit"].cliniko_run_for(cls.connection)
        cls.finding = audit.finding_ids.filtered(lambda f: f.kind == "patient_in_odoo")

    def setUp(self):
        super().setUp()
        self.assertIn(self.pid, self.finding.record_ids.mapped("cliniko_id"))

    def binding(self):
        return self.env["cliniko.external.ref"].search(
            [("resource", "=", "patients"), ("cliniko_id", "=", self.pid)]
        )

    def test_merge_updates_the_existing_contact_instead_of_creating_one(self):
        self.finding.resolution = "merge"
        run = self.migrate(resources="patients")
        self.assertEqual(run.state, "done", run.error_message)
        self.assertEqual(self.binding().res_id, self.existing.id)
        self.assertEqual(self.existing.cliniko_patient_id, self.pid)
        self.assertNotEqual(self.existing.name, "Already In Odoo", "Cliniko's name is written")
        lead = self.patient_leads().filtered(lambda lead: lead.partner_id == self.existing)
        self.assertEqual(len(lead), 1)
        self.assertFalse(
            self.migrated_partners().filtered(
                lambda p: p.cliniko_patient_id == self.pid and p != self.existing
            ),
            "no second contact for the merged patient",
        )
        self.assertCountersAddUp(run)
        run.action_rollback()
        self.assertTrue(self.existing.exists())
        self.assertEqual(self.existing.name, "Already In Odoo")
        self.assertFalse(self.existing.cliniko_patient_id)
        self.assertFalse(self.binding())
        self.assertFalse(lead.exists())

    def test_ignore_leaves_the_existing_contact_alone(self):
        self.finding.resolution = "ignore"
        self.migrate(resources="patients")
        self.assertNotEqual(self.binding().res_id, self.existing.id)
        self.assertEqual(self.existing.name, "Already In Odoo")
        self.assertFalse(self.existing.cliniko_patient_id)
