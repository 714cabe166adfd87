"""Patients migrated end to end: Cliniko sandbox over HTTP -> res.partner + crm.lead."""

import phonenumbers

from .common import ClinikoSandboxCase


def _source_name(patient):
    return " ".join(
        filter(
            None,
            [(patient.get("first_name") or "").strip(), (patient.get("last_name") or "").strip()],
        )
    )


class TestPatientMigration(ClinikoSandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.patients = {
            pid: cls.sandbox.clinic.get("patients", pid)
            for pid in cls.sandbox.clinic.resources["patients"]
        }
        # One run for the whole class: every test reads its result (each test runs in a
        # savepoint). Only what patients need is migrated (businesses, contacts, patients).
        cls.patient_run = cls.start_run(resources="patients")

    def listed_patients(self):
        """Patients the API lists (active and archived; deleted ones are not listed)."""
        return {pid: p for pid, p in self.patients.items() if not p.get("deleted_at")}

    def migratable_patients(self):
        return {
            pid: p
            for pid, p in self.listed_patients().items()
            if not p.get("merged_at") and _source_name(p)
        }

    def partner_of(self, patient_id):
        return self.migrated_partners().filtered(lambda p: p.cliniko_patient_id == patient_id)

    def test_each_patient_becomes_one_partner_and_one_patient_lead(self):
        run = self.patient_run
        self.assertEqual(run.state, "done", run.error_message)
        expected = set(self.migratable_patients())
        partners = self.migrated_partners()
        self.assertEqual(set(partners.mapped("cliniko_patient_id")), expected)
        self.assertEqual(len(partners), len(expected))
        leads = self.patient_leads()
        self.assertEqual(len(leads), len(expected))
        self.assertEqual(leads.partner_id, partners)
        self.assertTrue(all(lead.type == "opportunity" for lead in leads))
        self.assertEqual(leads.team_id, self.connection.team_id)
        self.assertEqual(leads.stage_id.cliniko_status, "patient")

    def test_counters_add_up_and_match_what_the_api_lists(self):
        run = self.patient_run
        counts = run.summary()["resources"]["patients"]
        self.assertEqual(counts["fetched"], len(self.listed_patients()))
        self.assertEqual(counts["created"], len(self.migratable_patients()))
        self.assertCountersAddUp(run)

    def test_fields_are_copied_field_by_field(self):
        for pid, patient in self.migratable_patients().items():
            partner = self.partner_of(pid)
            lead = self.patient_leads().filtered(lambda lead, p=partner: lead.partner_id == p)
            with self.subTest(patient=pid):
                self.assertEqual(partner.name, _source_name(patient))
                self.assertEqual(
                    lead.cliniko_first_name or "", (patient.get("first_name") or "").strip()
                )
                self.assertEqual(
                    lead.cliniko_last_name or "", (patient.get("last_name") or "").strip()
                )
                dob = patient.get("date_of_birth")
                self.assertEqual(str(partner.cliniko_date_of_birth or "") or None, dob or None)
                self.assertEqual(lead.cliniko_date_of_birth, partner.cliniko_date_of_birth)
                self.assertEqual(partner.city or None, (patient.get("city") or "").strip() or None)
                self.assertEqual(
                    partner.zip or None, (patient.get("post_code") or "").strip() or None
                )
                self.assertEqual(
                    partner.street or None, (patient.get("address_1") or "").strip() or None
                )
                code = patient.get("country_code")
                if code:
                    self.assertEqual(partner.country_id.code, code.upper())
                self.assertEqual(
                    partner.cliniko_created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), patient["created_at"]
                )
                self.assertEqual(
                    partner.cliniko_updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"), patient["updated_at"]
                )
                self.assertEqual(partner.active, not patient.get("archived_at"))
                self.assertEqual(lead.active, partner.active)
                if (patient.get("notes") or "").strip():
                    self.assertIn(patient["notes"].strip().splitlines()[0][:20], lead.description)

    def test_valid_emails_are_trimmed_and_lower_cased(self):
        seen = 0
        for pid, patient in self.migratable_patients().items():
            raw = (patient.get("email") or "").strip()
            if raw and "@" in raw and "." in raw.split("@")[-1] and " " not in raw:
                seen += 1
                self.assertEqual(self.partner_of(pid).email, raw.lower())
        self.assertTrue(seen)

    def test_invalid_email_is_kept_as_typed_and_flagged_in_the_audit_log(self):
        run = self.patient_run
        invalid = {
            pid: p
            for pid, p in self.migratable_patients().items()
            if (p.get("email") or "").strip() and "." not in (p.get("email") or "").split("@")[-1]
        }
        self.assertTrue(invalid, "the sandbox clinic should hold an invalid e-mail")
        for pid, patient in invalid.items():
            self.assertEqual(self.partner_of(pid).email, patient["email"].strip())
            line = run.audit_ids.filtered(
                lambda a, pid=pid: a.cliniko_id == pid and a.res_model == "res.partner"
            )
            self.assertIn("e-mail address is not valid", line.message)

    def test_phone_numbers_are_normalised_to_e164_with_the_clinic_country(self):
        region = self.connection.country_id.code or "AU"
        checked = 0
        for pid, patient in self.migratable_patients().items():
            partner = self.partner_of(pid)
            if not partner.phone or not partner.phone.startswith("+"):
                continue
            raws = [n["number"] for n in patient.get("patient_phone_numbers") or []]
            parsed = []
            for raw in raws:
                try:
                    parsed.append(phonenumbers.parse(raw, region))
                except phonenumbers.NumberParseException:
                    continue
            self.assertIn(phonenumbers.parse(partner.phone), parsed)
            checked += 1
        self.assertTrue(checked)

    def test_values_given_at_create_are_those_odoo_computes(self):
        """The migration gives create() what Odoo would compute (salesperson, company name,
        website, stage date) and parses each phone number once: recomputed by Odoo itself,
        outside the migration's context, every value stays as stored."""
        partners = self.migrated_partners()
        leads = self.patient_leads()
        self.assertTrue(leads.filtered("phone_sanitized"), "the clinic has readable numbers")
        self.assertTrue(
            leads.filtered(lambda lead: lead.phone_state == "incorrect"),
            "the clinic has an unreadable number",
        )
        fields = {
            partners: ["user_id", "phone_sanitized"],
            leads: ["phone_sanitized", "phone_state", "partner_name", "website", "date_open"],
        }
        stored = {
            (record._name, record.id, name): record[name]
            for records, names in fields.items()
            for record in records
            for name in names
        }
        plain = self.env(context={"active_test": False})
        for records, names in fields.items():
            records = records.with_env(plain)  # noqa: PLW2901 - the same records, Odoo's context
            for name in names:
                plain.add_to_compute(records._fields[name], records)
            records._recompute_recordset(names)
            for record in records:
                for name in names:
                    self.assertEqual(
                        record[name], stored[record._name, record.id, name], (record, name)
                    )
        # the stage date is the transaction's time, as crm sets it on create
        self.assertTrue(all(lead.date_last_stage_update for lead in leads))

    def test_unreadable_phone_is_kept_as_typed_and_flagged(self):
        run = self.patient_run
        flagged = self.patient_leads().filtered("cliniko_phone_unparsed")
        self.assertTrue(flagged, "the sandbox clinic should hold an unreadable phone number")
        for lead in flagged:
            patient = self.patients[lead.cliniko_patient_id]
            raws = {n["number"].strip() for n in patient["patient_phone_numbers"]}
            kept = {line.split(": ", 1)[1] for line in lead.cliniko_phone_numbers.splitlines()}
            self.assertTrue(raws & kept, "the unreadable number must be kept as typed")
            audit = run.audit_ids.filtered(
                lambda a, lead=lead: (
                    a.res_model == "crm.lead" and a.res_id == lead.id and a.resource == "patients"
                )
            )
            self.assertIn("could not be read; kept as typed", audit.message)

    def test_patient_with_only_a_last_name_is_migrated(self):
        only_last = [
            pid
            for pid, p in self.migratable_patients().items()
            if not (p.get("first_name") or "").strip()
        ]
        self.assertTrue(only_last, "the sandbox clinic should hold a patient with only a last name")
        for pid in only_last:
            self.assertEqual(self.partner_of(pid).name, self.patients[pid]["last_name"].strip())

    def test_unicode_names_arrive_intact(self):
        unicode_ids = [
            pid for pid, p in self.migratable_patients().items() if not _source_name(p).isascii()
        ]
        self.assertTrue(unicode_ids)
        for pid in unicode_ids:
            self.assertEqual(self.partner_of(pid).name, _source_name(self.patients[pid]))

    def test_archived_patient_arrives_archived(self):
        archived = [pid for pid, p in self.migratable_patients().items() if p.get("archived_at")]
        self.assertTrue(archived)
        for pid in archived:
            self.assertFalse(self.partner_of(pid).active)

    def test_merged_patient_is_skipped_with_its_reason(self):
        merged = [pid for pid, p in self.listed_patients().items() if p.get("merged_at")]
        self.assertTrue(merged)
        run = self.patient_run
        for pid in merged:
            self.assertFalse(self.partner_of(pid))
            line = run.audit_ids.filtered(lambda a, pid=pid: a.cliniko_id == pid)
            self.assertEqual(line.action, "skip")
            self.assertIn("merged into", line.message)

    def test_deleted_patient_is_not_migrated(self):
        deleted = [pid for pid, p in self.patients.items() if p.get("deleted_at")]
        self.assertTrue(deleted)
        for pid in deleted:
            self.assertFalse(self.partner_of(pid))

    def test_every_record_has_a_reference_row_and_audit_lines(self):
        run = self.patient_run
        refs = self.env["cliniko.external.ref"].search(
            [("connection_id", "=", self.connection.id), ("resource", "=", "patients")]
        )
        self.assertEqual(set(refs.mapped("cliniko_id")), set(self.migratable_patients()))
        for ref in refs:
            self.assertEqual(ref.res_model, "res.partner")
            self.assertEqual(
                self.env["res.partner"].browse(ref.res_id).cliniko_patient_id, ref.cliniko_id
            )
        created = run.audit_ids.filtered(
            lambda a: a.action == "create" and a.resource == "patients"
        )
        self.assertEqual(
            sorted(created.mapped("res_model")),
            sorted(["res.partner", "crm.lead"] * len(self.migratable_patients())),
        )
