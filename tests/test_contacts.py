"""Cliniko contacts (doctors, payers, other third parties) -> tagged res.partner records."""

import phonenumbers

from .common import ClinikoSandboxCase

TAG_XMLIDS = {
    "all": "cliniko_crm_migration.partner_category_cliniko_contact",
    "doctor": "cliniko_crm_migration.partner_category_referring_doctor",
    "payer": "cliniko_crm_migration.partner_category_third_party_payer",
}


def _strip(value):
    return (value or "").strip()


def _person(contact):
    return " ".join(filter(None, [_strip(contact["first_name"]), _strip(contact["last_name"])]))


class ContactCase(ClinikoSandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clinic = cls.sandbox.clinic

    def contacts(self):
        """The contacts the API lists (active and archived; deleted ones are not listed)."""
        return {
            cid: self.clinic.get("contacts", cid)
            for cid, record in self.clinic.resources["contacts"].items()
            if not record.get("deleted_at")
        }

    def migrate_contacts(self, **values):
        return self.migrate(resources="contacts", **values)

    def partner_of(self, contact_id):
        return (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("cliniko_contact_id", "=", contact_id)])
        )

    def tag(self, key):
        return self.env.ref(TAG_XMLIDS[key])

    def change_in_cliniko(self, resource, record_id, **fields):
        """Update a sandbox record a minute later; the old values come back after the test."""
        record = self.clinic.resources[resource][record_id]
        old = {key: record[key] for key in (*fields, "updated_at")}
        self.addCleanup(self._restore, resource, record_id, old)
        self.clinic.tick(60)
        self.clinic.update(resource, record_id, **fields)

    def _restore(self, resource, record_id, old):
        self.clinic.resources[resource][record_id].update(old)
        self.clinic.touch()

    @classmethod
    def row_counts(cls):
        return {
            model: cls.env[model].with_context(active_test=False).search_count([])
            for model in ("res.partner", "cliniko.external.ref", "res.partner.category")
        }


class TestContactMigration(ContactCase):
    """One contacts run for the class; tests read it, or run contacts again in their body."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.counts_before_run = cls.row_counts()
        cls.contact_run = cls.start_run(resources="contacts")

    def test_each_contact_becomes_one_partner_and_the_counters_add_up(self):
        run = self.contact_run
        self.assertEqual(run.state, "done", run.error_message)
        counts = run.summary()["resources"]["contacts"]
        self.assertEqual(counts["fetched"], len(self.contacts()))
        self.assertEqual(counts["created"], len(self.contacts()))
        self.assertCountersAddUp(run)
        for cid in self.contacts():
            self.assertEqual(len(self.partner_of(cid)), 1)
        refs = self.env["cliniko.external.ref"].search(
            [("connection_id", "=", self.connection.id), ("resource", "=", "contacts")]
        )
        self.assertEqual(set(refs.mapped("cliniko_id")), set(self.contacts()))
        self.assertEqual(set(refs.mapped("res_model")), {"res.partner"})

    def test_fields_are_copied_field_by_field(self):
        for cid, contact in self.contacts().items():
            partner = self.partner_of(cid)
            with self.subTest(contact=cid):
                person = _person(contact)
                company = _strip(contact["company_name"])
                self.assertEqual(partner.name, person or company)
                self.assertEqual(partner.is_company, not person)
                self.assertEqual(partner.company_name or "", company if person else "")
                self.assertEqual(partner.email or "", _strip(contact["email"]).lower())
                self.assertEqual(partner.function or "", _strip(contact["occupation"]))
                self.assertEqual(partner.street or "", _strip(contact["address_1"]))
                self.assertEqual(partner.city or "", _strip(contact["city"]))
                self.assertEqual(partner.zip or "", _strip(contact["post_code"]))
                self.assertEqual(partner.country_id.code or None, contact["country_code"])
                if _strip(contact["state"]):
                    self.assertIn(contact["state"], (partner.state_id.code, partner.state_id.name))
                self.assertEqual(
                    partner.cliniko_provider_number or "", _strip(contact["provider_number"])
                )
                self.assertEqual(
                    partner.cliniko_doctor_type or None, contact["doctor_type"] or None
                )
                self.assertEqual(partner.cliniko_contact_title or "", _strip(contact["title"]))
                self.assertEqual(
                    partner.cliniko_contact_preferred_name or "", _strip(contact["preferred_name"])
                )
                if _strip(contact["notes"]):
                    self.assertIn(contact["notes"], partner.comment)
                else:
                    self.assertFalse(partner.comment)
                self.assertEqual(partner.active, not contact["archived_at"])
                self.assertEqual(
                    partner.cliniko_created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), contact["created_at"]
                )
                self.assertEqual(
                    partner.cliniko_updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"), contact["updated_at"]
                )

    def test_contacts_are_tagged_by_kind(self):
        kinds = {0: "standard", 1: "doctor", 2: "payer"}
        seen = set()
        for cid, contact in self.contacts().items():
            partner = self.partner_of(cid)
            kind = kinds[contact["type_code"]]
            seen.add(kind)
            expected = self.tag("all") | (self.tag(kind) if kind != "standard" else self.tag("all"))
            with self.subTest(contact=cid):
                self.assertEqual(partner.category_id, expected)
                self.assertEqual(partner.cliniko_contact_type, kind)
        self.assertEqual(seen, {"standard", "doctor", "payer"})
        self.assertEqual(self.tag("doctor").name, "Referring doctor")
        self.assertEqual(self.tag("payer").name, "Third-party payer")
        self.assertEqual(self.tag("all").name, "Cliniko contact")

    def test_phone_numbers_are_e164_with_every_number_kept(self):
        checked = 0
        for cid, contact in self.contacts().items():
            partner = self.partner_of(cid)
            numbers = contact["phone_numbers"]
            if not numbers:
                self.assertFalse(partner.phone)
                continue
            kept = partner.cliniko_contact_phones.splitlines()
            self.assertEqual(len(kept), len(numbers))
            for phone in numbers:
                expected = phonenumbers.format_number(
                    phonenumbers.parse(phone["number"], "AU"), phonenumbers.PhoneNumberFormat.E164
                )
                self.assertIn("%s: %s" % (phone["phone_type"], expected), kept)
            not_fax = [p for p in numbers if p["phone_type"] != "Fax"]
            self.assertEqual(
                phonenumbers.parse(partner.phone), phonenumbers.parse(not_fax[0]["number"], "AU")
            )
            checked += 1
        self.assertTrue(checked)

    def test_a_contact_with_only_a_company_name_becomes_a_company(self):
        payers = [c for c in self.contacts().values() if not _person(c) and c["company_name"]]
        self.assertTrue(payers, "the sandbox clinic should hold company-only contacts")
        for contact in payers:
            partner = self.partner_of(contact["id"])
            self.assertTrue(partner.is_company)
            self.assertEqual(partner.name, contact["company_name"])

    def test_archived_contact_arrives_archived(self):
        archived = [c for c in self.contacts().values() if c["archived_at"]]
        self.assertTrue(archived, "the sandbox clinic should hold an archived contact")
        for contact in archived:
            self.assertFalse(self.partner_of(contact["id"]).active)

    def test_running_again_creates_nothing(self):
        counts = self.row_counts()
        second = self.migrate_contacts()
        self.assertEqual(self.row_counts(), counts)
        summary = second.summary()["resources"]["contacts"]
        self.assertEqual(summary["created"], 0)
        self.assertEqual(summary["updated"], 0)
        self.assertEqual(summary["unchanged"] + summary["skipped"], summary["fetched"])
        self.assertGreater(summary["unchanged"], 0)

    def test_a_changed_contact_is_updated_and_tags_added_in_odoo_stay(self):
        doctor_id = next(cid for cid, c in self.contacts().items() if c["type_code"] == 1)
        partner = self.partner_of(doctor_id)
        old_city = partner.city
        vip = self.env["res.partner.category"].create({"name": "VIP referrer"})
        partner.category_id |= vip
        self.change_in_cliniko("contacts", doctor_id, city="Ballarat")
        run = self.migrate_contacts()
        self.assertEqual(run.summary()["resources"]["contacts"]["updated"], 1)
        self.assertEqual(partner.city, "Ballarat")
        self.assertIn(vip, partner.category_id)
        self.assertIn(self.tag("doctor"), partner.category_id)
        line = run.audit_ids.filtered(lambda a: a.action == "update")
        self.assertEqual(line.previous_values["values"]["city"], old_city)
        run.action_rollback()
        self.assertEqual(partner.city, old_city)

    def test_rollback_returns_every_table_to_its_row_count(self):
        # the class's run is rolled back here (the test's savepoint undoes the rollback)
        before = self.counts_before_run
        run = self.contact_run
        self.assertGreater(self.row_counts()["res.partner"], before["res.partner"])
        run.action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual(self.row_counts(), before)


class TestContactEdgeCases(ContactCase):
    """Contacts planted in the clinic before one contacts run: unreadable phone, no name."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.unreadable = cls.clinic.create(
            "contacts",
            first_name="Ray",
            last_name="Unreachable",
            type="Doctor",
            type_code=1,
            phone_numbers=[{"number": "ask reception", "phone_type": "Work"}],
        )
        cls.nameless = cls.clinic.create("contacts", email="nobody@example.com")
        cls.edge_run = cls.start_run(resources="contacts")

    def test_unreadable_phone_is_kept_as_typed_and_flagged_in_the_audit(self):
        contact, run = self.unreadable, self.edge_run
        partner = self.partner_of(contact["id"])
        self.assertEqual(partner.phone, "ask reception")
        self.assertEqual(partner.cliniko_contact_phones, "Work: ask reception")
        line = run.audit_ids.filtered(lambda a: a.cliniko_id == contact["id"])
        self.assertEqual(line.action, "create")
        self.assertIn("could not be read; kept as typed", line.message)

    def test_a_contact_without_any_name_fails_with_its_reason(self):
        contact, run = self.nameless, self.edge_run
        self.assertEqual(run.state, "done")
        self.assertFalse(self.partner_of(contact["id"]))
        line = run.audit_ids.filtered(lambda a: a.cliniko_id == contact["id"])
        self.assertEqual(line.action, "fail")
        self.assertIn("neither a name nor a company name", line.message)
        self.assertEqual(run.summary()["resources"]["contacts"]["failed"], 1)
