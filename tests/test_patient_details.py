"""Everything else Cliniko holds about a patient lands on the patient's lead: insurance and
referral, custom fields, medical alerts (banner), patient cases and the referral source."""

import html

from .common import ClinikoSandboxCase

DETAIL_RESOURCES = "medical_alerts,patient_cases,referral_sources"


def _strip(value):
    return (value or "").strip() if isinstance(value, str) else value


def _name(record):
    return " ".join(filter(None, [_strip(record["first_name"]), _strip(record["last_name"])]))


def _consent(value):
    return False if value is None else ("yes" if value else "no")


class PatientDetailsCase(ClinikoSandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clinic = cls.sandbox.clinic

    # -- helpers -----------------------------------------------------------------------------
    @classmethod
    def migrate_details_once(cls, **values):
        """``migrate_details`` for ``setUpClass``: the class's tests read its result."""
        run = cls.start_run(resources=DETAIL_RESOURCES, **values)
        assert run.state == "done", run.error_message
        return run

    def migrate_details(self, **values):
        run = self.migrate(resources=DETAIL_RESOURCES, **values)
        self.assertEqual(run.state, "done", run.error_message)
        return run

    @classmethod
    def migratable_patients(cls):
        return {
            pid: cls.clinic.get("patients", pid)
            for pid, p in cls.clinic.resources["patients"].items()
            if not p["deleted_at"] and not p["merged_at"] and _name(p)
        }

    @classmethod
    def lead_of(cls, patient_id):
        return cls.patient_leads(cls).filtered(lambda lead: lead.cliniko_patient_id == patient_id)

    def contact_partner(self, contact_id):
        return (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("cliniko_contact_id", "=", contact_id)])
        )

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
    def alerts_of(cls, patient_id, deleted=False):
        alerts = [
            a
            for a in cls.clinic.resources["medical_alerts"].values()
            if a["patient_id"] == patient_id and bool(a["deleted_at"]) == deleted
        ]
        return sorted(alerts, key=lambda a: (a["created_at"], a["id"]))

    @classmethod
    def patient_with_two_alerts(cls):
        return next(
            pid for pid in sorted(cls.migratable_patients()) if len(cls.alerts_of(pid)) >= 2
        )

    @classmethod
    def row_counts(cls):
        return {
            model: cls.env[model].with_context(active_test=False).search_count([])
            for model in ("crm.lead", "res.partner", "cliniko.external.ref")
        }

    @classmethod
    def custom_patient(cls):
        """A patient whose custom fields use every shape: 'other' values, a paragraph over
        two lines, a date, an archived field and a section with no selection."""
        custom = {
            "sections": [
                {
                    "name": "Insurance coverage",
                    "token": "s1",
                    "fields": [
                        {
                            "name": "Provider",
                            "type": "radiobuttons",
                            "token": "f1",
                            "options": [
                                {"name": "Bupa", "token": "o1"},
                                {"name": "Medibank", "token": "o2"},
                            ],
                            "other": {"enabled": True, "selected": True, "value": "GMHBA"},
                        },
                        {"name": "Member number", "type": "text", "token": "f2", "value": "77-1"},
                        {
                            "name": "Old fund code",
                            "type": "text",
                            "token": "f3",
                            "archived": True,
                            "value": "OLD<42>",
                        },
                    ],
                },
                {
                    "name": "About you",
                    "token": "s2",
                    "fields": [
                        {
                            "name": "How did you hear about us",
                            "type": "checkboxes",
                            "token": "f4",
                            "options": [
                                {"name": "Google", "token": "o3", "selected": True},
                                {"name": "Instagram", "token": "o4"},
                            ],
                            "other": {"enabled": True, "selected": True, "value": "Radio ad"},
                        },
                        {
                            "name": "GP consent date",
                            "type": "date",
                            "token": "f5",
                            "value": "2024-02-29",
                        },
                        {
                            "name": "Anything else we should know?",
                            "type": "paragraph",
                            "token": "f6",
                            "value": "Prefers mornings.\nDog phobia & stairs",
                        },
                    ],
                },
            ]
        }
        return cls.clinic.create(
            "patients",
            first_name="Custom",
            last_name="Fields",
            custom_fields=custom,
            invoice_default_to="WorkSafe Victoria",
            invoice_email="invoices@worksafe.example.vic.gov.au",
            invoice_extra_information="Claim #00001234\r\nPolicy #000777",
            dva_card_number="NX123456",
            pronouns={"answer": "they/them", "type": "text"},
            accepted_privacy_policy=False,
            gender_identity="Non-binary",
        )

    def assertEveryCustomValueShown(self, lead, custom):
        self.assertEqual(lead.cliniko_custom_fields, custom)
        shown = html.unescape(str(lead.cliniko_custom_fields_html))
        for section in custom["sections"]:
            self.assertIn(section["name"], shown)
            for field in section["fields"]:
                self.assertIn(field["name"], shown)
                for line in str(field.get("value") or "").splitlines():
                    self.assertIn(line, shown)
                for option in field.get("options") or []:
                    if option.get("selected"):
                        self.assertIn(option["name"], shown)
                other = field.get("other") or {}
                if other.get("selected"):
                    self.assertIn("Other: %s" % other["value"], shown)


class TestPatientDetails(PatientDetailsCase):
    """The details migrated once for the class: tests read the result, or change Cliniko and
    run the details again in their body (each test runs in a savepoint)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.counts_before = cls.row_counts()
        cls.details_run = cls.migrate_details_once()

    def test_patient_fields_are_kept_on_the_lead_field_by_field(self):
        concessions = self.clinic.resources["concession_types"]
        for pid, patient in self.migratable_patients().items():
            lead = self.lead_of(pid)
            with self.subTest(patient=pid):
                self.assertEqual(len(lead), 1)
                for field, key in (
                    ("cliniko_medicare_number", "medicare"),
                    ("cliniko_medicare_irn", "medicare_reference_number"),
                    ("cliniko_dva_number", "dva_card_number"),
                    ("cliniko_invoice_to", "invoice_default_to"),
                    ("cliniko_invoice_email", "invoice_email"),
                    ("cliniko_emergency_contact", "emergency_contact"),
                    ("function", "occupation"),
                    ("cliniko_sex", "sex"),
                    ("cliniko_gender", "gender"),
                    ("cliniko_gender_identity", "gender_identity"),
                    ("cliniko_reminder_type", "reminder_type"),
                    ("cliniko_time_zone", "time_zone"),
                    ("cliniko_old_reference_id", "old_reference_id"),
                    ("cliniko_appointment_notes", "appointment_notes"),
                    ("cliniko_referral_source", "referral_source"),
                ):
                    self.assertEqual(lead[field] or None, _strip(patient[key]) or None, field)
                self.assertEqual(
                    lead.partner_id.function or None, _strip(patient["occupation"]) or None
                )
                self.assertEqual(
                    lead.cliniko_receives_confirmation_emails,
                    bool(patient["receives_confirmation_emails"]),
                )
                for field, key in (
                    ("cliniko_accepted_privacy_policy", "accepted_privacy_policy"),
                    ("cliniko_accepted_email_marketing", "accepted_email_marketing"),
                    ("cliniko_accepted_sms_marketing", "accepted_sms_marketing"),
                ):
                    self.assertEqual(lead[field], _consent(patient[key]), field)
                concession = patient["concession_type"]
                if concession:
                    concession_id = concession["links"]["self"].rsplit("/", 1)[1]
                    self.assertEqual(
                        lead.cliniko_concession_type, concessions[concession_id]["name"]
                    )
                else:
                    self.assertFalse(lead.cliniko_concession_type)

    def test_medicare_number_without_irn_is_kept_with_an_empty_irn(self):
        pid = self.clinic.edge_cases["medicare_without_irn"]
        patient = self.clinic.get("patients", pid)
        self.assertTrue(patient["medicare"])
        self.assertFalse(patient["medicare_reference_number"])
        lead = self.lead_of(pid)
        self.assertEqual(lead.cliniko_medicare_number, patient["medicare"])
        self.assertFalse(lead.cliniko_medicare_irn)

    def test_referring_doctor_is_the_partner_of_the_cliniko_contact(self):
        linked = 0
        for pid, patient in self.migratable_patients().items():
            lead = self.lead_of(pid)
            doctor = patient["referring_doctor"]
            if not doctor:
                self.assertFalse(lead.cliniko_referring_doctor_id)
                continue
            contact_id = doctor["links"]["self"].rsplit("/", 1)[1]
            self.assertEqual(lead.cliniko_referring_doctor_id, self.contact_partner(contact_id))
            self.assertEqual(lead.cliniko_referring_doctor_id.cliniko_contact_type, "doctor")
            linked += 1
        self.assertTrue(linked, "the sandbox clinic should hold referred patients")

    def test_every_custom_field_value_is_in_the_lead_custom_fields_section(self):
        checked = 0
        for pid, patient in self.migratable_patients().items():
            lead = self.lead_of(pid)
            custom = patient["custom_fields"]
            with self.subTest(patient=pid):
                if not custom:
                    self.assertFalse(lead.cliniko_custom_fields)
                    self.assertFalse(lead.cliniko_custom_fields_html)
                    continue
                self.assertEveryCustomValueShown(lead, custom)
                checked += 1
        self.assertTrue(checked, "the sandbox clinic should hold custom fields")

    def test_health_fund_policy_number_and_insurer_come_from_custom_fields(self):
        payers = {"Bupa": "Bupa", "Medibank": "Medibank Private"}
        checked = 0
        for pid, patient in self.migratable_patients().items():
            custom = patient["custom_fields"] or {"sections": []}
            fields = {f["name"]: f for s in custom["sections"] for f in s["fields"]}
            if "Provider" not in fields or patient["invoice_default_to"]:
                continue
            provider = next(o["name"] for o in fields["Provider"]["options"] if o.get("selected"))
            lead = self.lead_of(pid)
            with self.subTest(patient=pid):
                self.assertEqual(lead.cliniko_health_fund, provider)
                self.assertEqual(lead.cliniko_policy_number, fields["Policy number"]["value"])
                if provider in payers:
                    self.assertEqual(lead.cliniko_insurer_id.name, payers[provider])
                    self.assertEqual(lead.cliniko_insurer_id.cliniko_contact_type, "payer")
                    checked += 1
                else:
                    self.assertFalse(lead.cliniko_insurer_id)
        self.assertTrue(checked, "the sandbox clinic should hold insured patients")

    def test_medical_alerts_are_the_banner_text_of_the_patient_lead(self):
        run = self.details_run
        with_alerts = 0
        for pid in self.migratable_patients():
            lead = self.lead_of(pid)
            names = [a["name"] for a in self.alerts_of(pid)]
            with self.subTest(patient=pid):
                self.assertEqual((lead.cliniko_medical_alerts or "").splitlines(), names)
                with_alerts += bool(names)
        self.assertGreaterEqual(with_alerts, 2)
        listed = list(self.clinic.resources["medical_alerts"])
        counts = run.summary()["resources"]["medical_alerts"]
        self.assertEqual(counts["fetched"], len(listed))
        self.assertEqual(counts["skipped"], len([a for a in listed if self.alerts_deleted(a)]))
        self.assertEqual(counts["created"], counts["fetched"] - counts["skipped"])
        self.assertCountersAddUp(run)
        refs = self.env["cliniko.external.ref"].search([("resource", "=", "medical_alerts")])
        self.assertEqual(set(refs.mapped("res_model")), {"crm.lead"})
        self.assertEqual(len(refs), counts["created"])

    def alerts_deleted(self, alert_id):
        return bool(self.clinic.resources["medical_alerts"][alert_id]["deleted_at"])

    def test_the_lead_form_shows_the_alerts_as_a_red_banner_at_the_top(self):
        view = self.env.ref("crm.crm_lead_view_form")
        arch = self.env["crm.lead"].get_view(view.id, "form")["arch"]
        banner = arch.index('name="cliniko_medical_alert_banner"')
        self.assertLess(banner, arch.index("<sheet"))
        self.assertIn("alert-danger", arch[arch.rindex("<div", 0, banner) : banner])
        self.assertIn('name="cliniko_medical_alerts"', arch[banner:])

    def test_deleted_medical_alert_is_skipped_with_its_reason(self):
        alert_id = self.clinic.edge_cases["deleted_medical_alert"]
        alert = self.clinic.resources["medical_alerts"][alert_id]
        run = self.details_run
        self.assertNotIn(alert["name"], self.lead_of(alert["patient_id"]).cliniko_medical_alerts)
        line = run.audit_ids.filtered(lambda a: a.cliniko_id == alert_id)
        self.assertEqual(line.action, "skip")
        self.assertEqual(line.message, "deleted in Cliniko")

    def test_a_renamed_alert_replaces_its_line_and_the_rollback_restores_it(self):
        pid = self.patient_with_two_alerts()
        lead = self.lead_of(pid)
        before = lead.cliniko_medical_alerts
        first = self.alerts_of(pid)[0]
        self.change_in_cliniko("medical_alerts", first["id"], name="Allergy: penicillin")
        run = self.migrate_details()
        self.assertEqual(run.summary()["resources"]["medical_alerts"]["updated"], 1)
        lines = lead.cliniko_medical_alerts.splitlines()
        self.assertEqual(lines[0], "Allergy: penicillin")
        self.assertEqual(len(lines), len(before.splitlines()))
        run.action_rollback()
        self.assertEqual(lead.cliniko_medical_alerts, before)

    def test_an_alert_moved_to_another_patient_leaves_the_first_lead(self):
        pid = self.patient_with_two_alerts()
        other = next(p for p in sorted(self.migratable_patients()) if not self.alerts_of(p))
        alert = self.alerts_of(pid)[0]
        self.change_in_cliniko("medical_alerts", alert["id"], patient_id=other)
        run = self.migrate_details()
        self.assertNotIn(alert["name"], self.lead_of(pid).cliniko_medical_alerts.splitlines())
        self.assertEqual(self.lead_of(other).cliniko_medical_alerts, alert["name"])
        ref = self.env["cliniko.external.ref"].search([("cliniko_id", "=", alert["id"])])
        self.assertEqual(ref.res_id, self.lead_of(other).id)
        run.action_rollback()
        self.assertIn(alert["name"], self.lead_of(pid).cliniko_medical_alerts.splitlines())
        self.assertFalse(self.lead_of(other).cliniko_medical_alerts)
        self.assertEqual(ref.res_id, self.lead_of(pid).id)

    def test_an_alert_deleted_in_cliniko_since_leaves_the_banner(self):
        pid = self.patient_with_two_alerts()
        lead = self.lead_of(pid)
        before = lead.cliniko_medical_alerts
        gone, kept = self.alerts_of(pid)[:2]
        self.change_in_cliniko("medical_alerts", gone["id"], deleted_at=self.clinic.now_iso())
        run = self.migrate_details()
        self.assertNotIn(gone["name"], lead.cliniko_medical_alerts.splitlines())
        self.assertIn(kept["name"], lead.cliniko_medical_alerts.splitlines())
        lines = run.audit_ids.filtered(lambda a: a.cliniko_id == gone["id"])
        self.assertEqual(sorted(lines.mapped("action")), ["skip", "update"])
        self.assertEqual(lines.filtered(lambda a: a.action == "update").res_id, lead.id)
        run.action_rollback()
        self.assertEqual(lead.cliniko_medical_alerts, before)

    def test_patient_cases_are_a_readable_list_on_the_lead(self):
        cases = list(self.clinic.resources["patient_cases"].values())
        self.assertTrue(cases)
        for case in cases:
            shown = html.unescape(str(self.lead_of(case["patient_id"]).cliniko_patient_cases))
            with self.subTest(case=case["id"]):
                self.assertIn(case["name"], shown)
                self.assertIn({"medicare": "Medicare", "dva": "DVA"}[case["referral_type"]], shown)
                self.assertIn("<td>%s</td>" % case["max_sessions"], shown)
                self.assertIn(case["expiry_date"], shown)
                self.assertIn(case["notes"], shown)
                closed = "Yes, %s" % case["closed_at"][:10] if case["closed"] else "No"
                self.assertIn("<td>%s</td>" % closed, shown)
                self.assertIn(self.contact_partner(case["contact_id"]).name, shown)

    def test_referral_source_names_its_type_and_links_a_contact_referrer(self):
        types = self.clinic.resources["referral_source_types"]
        sources = list(self.clinic.resources["referral_sources"].values())
        self.assertTrue(sources)
        for source in sources:
            lead = self.lead_of(source["patient_id"])
            with self.subTest(source=source["id"]):
                self.assertTrue(
                    lead.cliniko_referral_detail.startswith(
                        types[source["referral_source_type_id"]]["name"]
                    )
                )
                if source["subcategory"]:
                    self.assertIn(source["subcategory"], lead.cliniko_referral_detail)
                if source["notes"]:
                    self.assertIn(source["notes"], lead.cliniko_referral_detail)
                if source["referrer_type"] == "Contact":
                    partner = self.contact_partner(source["referrer_id"])
                    self.assertEqual(lead.cliniko_referrer_id, partner)
                    self.assertIn("referred by %s" % partner.name, lead.cliniko_referral_detail)

    def test_running_again_creates_and_changes_nothing(self):
        counts = self.row_counts()
        leads = self.patient_leads()
        fields = [
            "cliniko_medical_alerts",
            "cliniko_patient_cases",
            "cliniko_referral_detail",
            "cliniko_custom_fields_html",
            "cliniko_referring_doctor_id",
            "cliniko_insurer_id",
        ]
        before = leads.read(fields)
        second = self.migrate_details()
        self.assertEqual(self.row_counts(), counts)
        self.assertEqual(leads.read(fields), before)
        for resource in ("patients", "contacts", *DETAIL_RESOURCES.split(",")):
            summary = second.summary()["resources"][resource]
            with self.subTest(resource=resource):
                self.assertEqual(summary["created"], 0)
                self.assertEqual(summary["updated"], 0)
        self.assertCountersAddUp(second)

    def test_rollback_returns_every_table_to_its_row_count(self):
        # the class's run is rolled back here; counted in setUpClass before it
        before, run = self.counts_before, self.details_run
        self.assertGreater(
            self.row_counts()["cliniko.external.ref"], before["cliniko.external.ref"]
        )
        run.action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual(self.row_counts(), before)
        self.assertFalse(run.audit_ids.filtered(lambda a: a.is_rollback and a.action == "fail"))

    def test_a_patient_changed_in_cliniko_updates_its_details_with_previous_values_audited(self):
        pid = self.clinic.edge_cases["medicare_without_irn"]
        lead = self.lead_of(pid)
        self.change_in_cliniko("patients", pid, medicare_reference_number="3", occupation="Baker")
        run = self.migrate_details()
        self.assertEqual(lead.cliniko_medicare_irn, "3")
        self.assertEqual(lead.function, "Baker")
        line = run.audit_ids.filtered(
            lambda a: a.action == "update" and a.res_model == "crm.lead" and a.res_id == lead.id
        )
        previous = line.previous_values["values"]
        self.assertEqual(previous["cliniko_medicare_irn"], False)
        self.assertIn("function", previous)
        run.action_rollback()
        self.assertFalse(lead.cliniko_medicare_irn)


class TestPatientDetailsPlanted(PatientDetailsCase):
    """Records planted in the clinic, and an alert text typed in Odoo, before one run of the
    details: a patient with every shape of custom field, an alert of a patient never
    migrated, a referral by another patient."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        clinic = cls.clinic
        cls.custom = cls.custom_patient()
        cls.ghost = clinic.edge_cases["deleted_patient"]
        cls.ghost_alert = clinic.create(
            "medical_alerts", name="Latex allergy", patient_id=cls.ghost
        )
        patients = sorted(cls.migratable_patients())
        cls.referred, cls.referrer = patients[0], patients[1]
        client_type = next(
            t for t in clinic.resources["referral_source_types"].values() if t["name"] == "Client"
        )
        cls.referral = clinic.create(
            "referral_sources",
            patient_id=cls.referred,
            referral_source_type_id=client_type["id"],
            referrer_type="Patient",
            referrer_id=cls.referrer,
        )
        # patients first; then staff type an alert on a lead before the details arrive
        cls.start_run(resources="patients")
        cls.typed_pid = cls.patient_with_two_alerts()
        cls.lead_of(cls.typed_pid).cliniko_medical_alerts = "Typed in Odoo: latex allergy"
        cls.counts_before = cls.row_counts()
        cls.planted_run = cls.migrate_details_once()

    def test_invoicing_consent_and_pronoun_details_of_a_planted_patient(self):
        patient = self.custom
        lead = self.lead_of(patient["id"])
        self.assertEqual(lead.cliniko_invoice_to, "WorkSafe Victoria")
        self.assertEqual(lead.cliniko_invoice_email, "invoices@worksafe.example.vic.gov.au")
        self.assertEqual(lead.cliniko_invoice_extra_info, "Claim #00001234\nPolicy #000777")
        self.assertEqual(lead.cliniko_dva_number, "NX123456")
        self.assertEqual(lead.cliniko_pronouns, "they/them")
        self.assertEqual(lead.cliniko_accepted_privacy_policy, "no")
        self.assertEqual(lead.cliniko_gender_identity, "Non-binary")

    def test_other_values_paragraphs_dates_and_archived_custom_fields_are_all_kept(self):
        patient = self.custom
        lead = self.lead_of(patient["id"])
        self.assertEveryCustomValueShown(lead, patient["custom_fields"])
        shown = str(lead.cliniko_custom_fields_html)
        self.assertIn("OLD&lt;42&gt;", shown, "values are escaped, not dropped")
        self.assertIn("archived field", shown)
        self.assertIn("Prefers mornings.<br>Dog phobia &amp; stairs", shown)
        self.assertIn("Google, Other: Radio ad", html.unescape(shown))

    def test_insurer_comes_first_from_invoice_to_and_other_fund_names_are_kept(self):
        patient = self.custom
        lead = self.lead_of(patient["id"])
        self.assertEqual(lead.cliniko_insurer_id.name, "WorkSafe Victoria")
        self.assertEqual(lead.cliniko_health_fund, "GMHBA")
        self.assertEqual(lead.cliniko_policy_number, "77-1")

    def test_an_alert_of_a_patient_not_migrated_fails_with_its_reason(self):
        ghost, alert, run = self.ghost, self.ghost_alert, self.planted_run
        line = run.audit_ids.filtered(lambda a: a.cliniko_id == alert["id"])
        self.assertEqual(line.action, "fail")
        self.assertEqual(line.message, "patient %s is not migrated" % ghost)
        self.assertEqual(run.state, "done")

    def test_a_patient_referrer_links_the_referring_patient(self):
        referred, referrer, source = self.referred, self.referrer, self.referral
        lead = self.lead_of(referred)
        self.assertEqual(lead.cliniko_referrer_id, self.lead_of(referrer).partner_id)
        self.assertTrue(lead.cliniko_referral_detail.startswith("Client"))
        ref = self.env["cliniko.external.ref"].search([("cliniko_id", "=", source["id"])])
        self.assertEqual((ref.res_model, ref.res_id), ("crm.lead", lead.id))

    def test_rollback_gives_the_lead_its_previous_alert_text_back(self):
        # setUpClass migrated the patients, typed the text, counted, then migrated the details
        pid, run, refs_before = self.typed_pid, self.planted_run, self.counts_before
        lead = self.lead_of(pid)
        names = [a["name"] for a in self.alerts_of(pid)]
        self.assertEqual(
            lead.cliniko_medical_alerts.splitlines(), names + ["Typed in Odoo: latex allergy"]
        )
        steps = run.audit_ids.filtered(
            lambda a: a.resource == "medical_alerts" and a.res_id == lead.id
        )
        self.assertEqual(len(steps), len(names), "one audited update per alert of the page")
        run.action_rollback()
        self.assertEqual(lead.cliniko_medical_alerts, "Typed in Odoo: latex allergy")
        self.assertFalse(lead.cliniko_medical_alert_data)
        self.assertEqual(self.row_counts(), refs_before)
