"""Step 2, the pre-migration audit: it finds, by id, the edge cases the sandbox plants, keeps the
records concerned, and prints them as a checklist."""

import copy

from odoo.exceptions import ValidationError

from .common import ClinikoSandboxCase


class TestSourceAudit(ClinikoSandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clinic = cls.sandbox.clinic
        cls.edge = cls.clinic.edge_cases
        cls.patients = cls.clinic.resources["patients"]
        # An Odoo contact that already has a patient's e-mail (typed differently).
        regular = cls.patients[cls.edge["regular_patient"]]
        cls.existing = cls.env["res.partner"].create(
            {"name": "Already Here", "email": regular["email"].strip().upper()}
        )
        # Two patients with the same name and date of birth (for this class only).
        first, second = cls.edge["duplicate_email"]
        cls.name_dob_pair = (first, second)
        original = copy.deepcopy(cls.patients[second])
        cls.addClassCleanup(cls.patients.__setitem__, second, original)
        cls.patients[second] = dict(
            original,
            first_name=cls.patients[first]["first_name"].upper(),
            last_name=" %s " % cls.patients[first]["last_name"],
            date_of_birth=cls.patients[first]["date_of_birth"] or "1980-01-01",
        )
        if not cls.patients[first]["date_of_birth"]:
            original_first = copy.deepcopy(cls.patients[first])
            cls.addClassCleanup(cls.patients.__setitem__, first, original_first)
            cls.patients[first] = dict(original_first, date_of_birth="1980-01-01")
        cls.audit = cls.env["cliniko.source.audit"].cliniko_run_for(cls.connection)

    def concerned(self, kind):
        finding = self.audit.finding_ids.filtered(lambda f: f.kind == kind)
        return {line.cliniko_id: line for line in finding.record_ids}

    # -- the planted edge cases, found by id --------------------------------------------------
    def test_the_audit_runs_to_the_end(self):
        self.assertEqual(self.audit.state, "done", self.audit.error_message)
        self.assertGreater(self.audit.patient_count, 0)

    def test_duplicate_patients_by_email_are_found(self):
        self.assertLessEqual(
            set(self.edge["duplicate_email"]), set(self.concerned("duplicate_email"))
        )

    def test_duplicate_patients_by_normalised_phone_are_found(self):
        found = self.concerned("duplicate_phone")
        self.assertLessEqual(set(self.edge["duplicate_phone"]), set(found))
        a, b = self.edge["duplicate_phone"]
        self.assertEqual(found[a].group_key, found[b].group_key)
        self.assertTrue(found[a].group_key.startswith("+61"))

    def test_duplicate_patients_by_name_and_birth_date_are_found(self):
        self.assertLessEqual(set(self.name_dob_pair), set(self.concerned("duplicate_name_dob")))

    def test_orphaned_appointments_are_found(self):
        found = self.concerned("orphan_appointment")
        self.assertIn(self.edge["orphan_appointment"], found)
        self.assertIn(self.edge["orphan_patient_id"], found[self.edge["orphan_appointment"]].detail)

    def test_patients_with_no_practitioner_are_found(self):
        found = self.concerned("patient_no_practitioner")
        self.assertIn(self.edge["patient_without_appointments"], found)
        self.assertNotIn(self.edge["regular_patient"], found)

    def test_merged_patients_are_not_reported(self):
        merged = self.edge["merged_patient"]
        for finding in self.audit.finding_ids:
            self.assertNotIn(merged, finding.record_ids.mapped("cliniko_id"), finding.kind)

    def test_long_treatment_notes_are_found(self):
        found = self.concerned("long_treatment_note")
        self.assertIn(self.edge["long_treatment_note"], found)
        self.assertEqual(len(found), 1, "the other notes are short")

    def test_a_medicare_number_without_its_irn_is_found(self):
        found = self.concerned("incomplete_insurance")
        self.assertIn(self.edge["medicare_without_irn"], found)
        self.assertIn("IRN", found[self.edge["medicare_without_irn"]].detail)

    def test_unparseable_phones_and_emails_are_found(self):
        phone = self.concerned("unparseable_phone")
        self.assertIn(self.edge["unparseable_phone"], phone)
        self.assertIn("ask reception", phone[self.edge["unparseable_phone"]].detail)
        self.assertIn(self.edge["invalid_email"], self.concerned("unparseable_email"))

    def test_a_messy_but_valid_email_is_not_unparseable(self):
        self.assertNotIn(self.edge["messy_email"], self.concerned("unparseable_email"))

    def test_practitioners_with_no_odoo_user_are_found(self):
        found = self.concerned("practitioner_no_user")
        self.assertEqual(set(found), set(self.clinic.resources["practitioners"]))
        self.assertIn("no e-mail in Cliniko", found[self.edge["practitioner_without_email"]].detail)

    def test_patients_already_in_odoo_are_found_with_their_partner(self):
        found = self.concerned("patient_in_odoo")
        self.assertEqual(found[self.edge["regular_patient"]].partner_id, self.existing)
        self.assertEqual(len(found), 1)

    def test_counts_match_the_records_listed(self):
        for finding in self.audit.finding_ids:
            self.assertEqual(finding.count, len(finding.record_ids), finding.kind)

    # -- settings, resolutions, reports -------------------------------------------------------
    def test_attachments_over_the_size_cap_are_found(self):
        audit = self.env["cliniko.source.audit"].create(
            {"connection_id": self.connection.id, "attachment_size_cap_mb": 0.0001}
        )
        audit.action_run()
        found = audit.finding_ids.filtered(lambda f: f.kind == "large_attachment")
        big = {
            aid
            for aid, record in self.clinic.resources["patient_attachments"].items()
            if record["size"] > 0.0001 * 1024 * 1024 and not record.get("deleted_at")
        }
        self.assertTrue(big)
        self.assertEqual(set(found.record_ids.mapped("cliniko_id")), big)
        self.assertFalse(
            self.audit.finding_ids.filtered(lambda f: f.kind == "large_attachment"),
            "none at the default cap",
        )

    def test_each_finding_proposes_a_resolution_that_applies(self):
        for finding in self.audit.finding_ids:
            self.assertTrue(finding.resolution, finding.kind)
        patient_in_odoo = self.audit.finding_ids.filtered(lambda f: f.kind == "patient_in_odoo")
        self.assertEqual(patient_in_odoo.resolution, "merge")

    def test_merge_is_refused_where_there_is_no_odoo_contact(self):
        finding = self.audit.finding_ids.filtered(lambda f: f.kind == "duplicate_email")
        with self.assertRaises(ValidationError):
            finding.resolution = "merge"
        finding.resolution = "ignore"

    def test_summary_for_the_command_line(self):
        summary = self.audit.cliniko_summary()
        self.assertEqual(summary["audit_id"], self.audit.id)
        self.assertEqual(summary["findings"]["orphan_appointment"], 1)
        self.assertEqual(set(summary["findings"]), set(self.audit.finding_ids.mapped("kind")))

    def test_the_printable_checklist_lists_each_finding_and_record(self):
        html, _type = self.env["ir.actions.report"]._render_qweb_html(
            "cliniko_crm_migration.action_report_cliniko_source_audit", self.audit.ids
        )
        html = html.decode()
        self.assertIn("Pre-migration checklist", html)
        for finding in self.audit.finding_ids:
            self.assertIn(finding.name.replace("'", "&#39;"), html)
        self.assertIn(self.edge["orphan_appointment"], html)
        self.assertIn("Already Here", html)

    def test_a_big_clinic_is_audited_in_the_background(self):
        audit = self.env["cliniko.source.audit"].create(
            {"connection_id": self.connection.id, "background_threshold": 1}
        )
        audit.action_run()
        self.assertEqual(audit.state, "queued")
        self.assertFalse(audit.finding_ids)
        cron = self.env.ref("cliniko_crm_migration.ir_cron_cliniko_source_audit")
        self.assertTrue(
            self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]),
            "the scheduler is asked to run soon",
        )
        self.env["cliniko.source.audit"]._cron_run_queued()
        self.assertEqual(audit.state, "done", audit.error_message)
        self.assertEqual(
            audit.cliniko_summary()["findings"], self.audit.cliniko_summary()["findings"]
        )

    def test_the_connection_button_opens_the_new_audit(self):
        action = self.connection.action_run_source_audit()
        audit = self.env["cliniko.source.audit"].browse(action["res_id"])
        self.assertEqual(audit.connection_id, self.connection)
        self.assertEqual(audit.state, "done")

    def test_a_bad_key_fails_the_audit_in_plain_words(self):
        connection = self.env["cliniko.connection"].create(
            {
                "name": "Wrong",
                "api_key": "wrongkeywrongkey-au1",
                "base_url": self.sandbox.base_url,
                "contact_email": "tests@example.com",
            }
        )
        audit = self.env["cliniko.source.audit"].cliniko_run_for(connection)
        self.assertEqual(audit.state, "failed")
        self.assertIn("rejected the API key", audit.error_message)
        self.assertNotIn("wrongkeywrongkey", audit.error_message)
        self.assertFalse(audit.finding_ids)

    def test_the_audit_reads_page_by_page(self):
        pages = [
            r
            for r in self.sandbox.requests_log
            if r["path"].endswith("/patients") and "per_page=100" in (r["query"] or "")
        ]
        self.assertTrue(pages)
