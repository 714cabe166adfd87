"""The clinic's screens over a real migration: a calendar the front desk can read (patient, type
and location for clinical users, "Busy" for others), linked to its leads, in the clinic's time.
"""

from datetime import UTC
from zoneinfo import ZoneInfo

from lxml import etree

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from ..migration.rendering import format_datetime
from ..models.cliniko_clinic_ui import CLINICAL_GROUP, human_size
from .common import ClinikoSandboxCase

APPOINTMENTS = "individual_appointments,group_appointments,attendees"


def clinical_group(env):
    """The group that gives clinical access."""
    return CLINICAL_GROUP


class TestClinicCalendar(ClinikoSandboxCase):
    sandbox_options = {"seed": 3, "patients": 6}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.appt_run = cls.start_run(resources=APPOINTMENTS + ",communications")
        assert cls.appt_run.state == "done", cls.appt_run.error_message
        cls.clinical = new_test_user(
            cls.env,
            login="clinic-front-desk",
            groups="base.group_user,sales_team.group_sale_salesman,%s" % clinical_group(cls.env),
        )
        cls.salesman = new_test_user(
            cls.env,
            login="clinic-salesman",
            groups="base.group_user,sales_team.group_sale_salesman_all_leads",
        )
        Lead = cls.env["crm.lead"].with_context(active_test=False)
        cls.appointments = Lead.search(
            [("cliniko_lead_kind", "=", "appointment"), ("cliniko_is_group", "=", False)]
        )
        cls.events = (
            cls.env["calendar.event"]
            .with_context(active_test=False)
            .search([("cliniko_appointment_event", "=", True)])
        )

    def test_events_show_patient_type_and_location_to_clinical_users_only(self):
        self.assertFalse(self.salesman._cliniko_is_clinical())
        self.assertTrue(self.clinical._cliniko_is_clinical())
        lead = self.appointments.filtered(
            lambda lead: lead.cliniko_location_id and lead.cliniko_appointment_type_id
        )[:1]
        self.assertTrue(lead)
        event = lead.cliniko_calendar_event_id
        self.assertEqual(event.privacy, "private")
        self.assertNotIn(self.clinical.partner_id, event.partner_ids)
        # records read by one user stay in the transaction's cache: read afresh as each user
        self.env.invalidate_all()
        as_clinical = event.with_user(self.clinical)
        self.assertIn(lead.partner_id.name, as_clinical.name)
        self.assertIn(lead.cliniko_appointment_type_id.name, as_clinical.name)
        self.assertEqual(as_clinical.display_name, event.name)
        self.assertEqual(as_clinical.location, lead.cliniko_location_id.name)
        self.assertIn(lead.cliniko_location_id.name, as_clinical.description)
        self.assertIn(lead.cliniko_appointment_type_id.name, as_clinical.description)
        self.env.invalidate_all()
        as_salesman = self.env["calendar.event"].with_user(self.salesman).browse(event.id)
        self.assertEqual(as_salesman.name, "Busy")
        self.assertEqual(as_salesman.display_name, "Busy")
        self.assertFalse(as_salesman.description)
        self.assertFalse(as_salesman.location)
        # the calendar's own reads (search_read of the calendar view) mask the same way
        self.env.invalidate_all()
        read = (
            self.env["calendar.event"]
            .with_user(self.salesman)
            .search_read([("id", "=", event.id)], ["name", "description"])
        )
        self.assertEqual(read[0]["name"], "Busy")
        self.env.invalidate_all()
        read = (
            self.env["calendar.event"]
            .with_user(self.clinical)
            .search_read([("id", "=", event.id)], ["name"])
        )
        self.assertEqual(read[0]["name"], event.name)

    def test_every_event_links_back_to_its_lead_without_an_activity(self):
        self.assertTrue(self.appointments)
        for lead in self.appointments:
            event = lead.cliniko_calendar_event_id
            with self.subTest(lead=lead.name):
                self.assertTrue(event.cliniko_appointment_event)
                self.assertEqual(event.opportunity_id, lead)
                self.assertEqual((event.res_model, event.res_id), ("crm.lead", lead.id))
                self.assertEqual(event.action_open_calendar_event()["res_id"], lead.id)
                self.assertFalse(event.activity_ids)
        self.assertFalse(self.env["mail.activity"].search([("res_model", "=", "crm.lead")]))

    def test_meeting_button_of_a_patient_opens_the_patients_appointments(self):
        patient = self.appointments[:1].cliniko_patient_lead_id
        self.assertTrue(patient)
        action = patient.action_schedule_meeting()
        self.assertEqual(action["res_model"], "calendar.event")
        shown = self.env["calendar.event"].search(action["domain"])
        mine = self.appointments.filtered(lambda lead: lead.cliniko_patient_lead_id == patient)
        self.assertTrue(mine.cliniko_calendar_event_id.filtered("active") <= shown)
        self.assertEqual(shown.opportunity_id.cliniko_patient_lead_id, patient)
        # opened where the appointments are, not on an empty current week
        now = fields.Datetime.now()
        upcoming = shown.filtered(lambda event: event.stop >= now)
        expected = min(upcoming.mapped("start")) if upcoming else max(shown.mapped("start"))
        self.assertEqual(action["context"]["initial_date"], fields.Datetime.to_string(expected))
        # the calendar view used shows everyone's events (no "my attendance" filter)
        view = self.env.ref("cliniko_crm_migration.calendar_event_view_calendar_cliniko")
        self.assertIn(view.id, [view_id for view_id, _mode in action["views"]])
        self.assertNotIn("partner_ids", view.arch)
        label = patient.meeting_display_label
        self.assertIn(label, ("Next Appointment", "Last Appointment"))
        self.assertEqual(patient.meeting_display_date, expected.date())
        # from an appointment's lead too
        action = mine[:1].action_schedule_meeting()
        self.assertEqual(self.env["calendar.event"].search(action["domain"]), shown)

    def test_times_are_in_the_clinics_time_zone(self):
        tz = self.connection._cliniko_tz()
        self.assertEqual(tz, "Australia/Melbourne")
        self.assertTrue(self.appointments)
        for lead in self.appointments:
            zone = ZoneInfo(lead.cliniko_location_id.tz or tz)
            local = lead.cliniko_starts_at.replace(tzinfo=UTC).astimezone(zone)
            # the lead is named and due on the clinic's day of the visit, not UTC's
            self.assertTrue(lead.name.endswith(str(local.date())), lead.name)
            self.assertEqual(lead.date_deadline, local.date())
        bodies = (
            self.env["mail.message"]
            .search(
                [("model", "=", "crm.lead"), ("message_id", "like", "<cliniko.%communications%")]
            )
            .mapped("body")
        )
        dated = [body for body in bodies if "Date:" in body]
        self.assertTrue(dated)
        for body in dated:
            self.assertNotIn(" UTC", body)
            self.assertRegex(body, r"\d{2}:\d{2} AE[SD]T")

    def test_format_datetime_in_a_time_zone(self):
        self.assertEqual(
            format_datetime("2016-07-21T03:45:00Z", "Australia/Melbourne"), "2016-07-21 13:45 AEST"
        )
        self.assertEqual(
            format_datetime("2016-01-21T03:45:00Z", "Australia/Melbourne"), "2016-01-21 14:45 AEDT"
        )
        self.assertEqual(format_datetime("2016-07-21T03:45:00Z"), "2016-07-21 03:45 UTC")
        self.assertEqual(
            format_datetime("2016-07-21T03:45:00Z", "Nowhere/Land"), "2016-07-21 03:45 UTC"
        )


class TestClinicPipeline(ClinikoSandboxCase):
    """One run with placeholder practitioners: the clinic's pipeline, revenue, practitioners
    and authorship."""

    sandbox_options = {"seed": 5, "patients": 8}
    default_unmatched_practitioners = "placeholder"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pipeline_run = cls.start_run(resources=APPOINTMENTS + ",communications")
        assert cls.pipeline_run.state == "done", cls.pipeline_run.error_message
        Lead = cls.env["crm.lead"].with_context(active_test=False)
        cls.appointments = Lead.search([("cliniko_lead_kind", "=", "appointment")])
        cls.patients = Lead.search([("cliniko_lead_kind", "=", "patient")])

    def test_the_clinic_team_has_only_its_own_stages(self):
        team = self.connection.team_id
        self.assertTrue(team)
        Lead = self.env["crm.lead"].with_context(default_team_id=team.id)
        stages = Lead._read_group_stage_ids(self.env["crm.stage"], [])
        self.assertTrue(stages)
        self.assertTrue(all(stages.mapped("cliniko_status")), stages.mapped("name"))
        self.assertEqual(
            set(stages.mapped("cliniko_status")),
            {"patient", "booked", "arrived", "completed", "did_not_arrive", "cancelled"},
        )
        # another team's pipeline keeps Odoo's stages
        other = self.env["crm.team"].create({"name": "Sales"})
        stages = (
            self.env["crm.lead"]
            .with_context(default_team_id=other.id)
            ._read_group_stage_ids(self.env["crm.stage"], [])
        )
        self.assertFalse(any(stages.mapped("cliniko_status")))

    def test_a_patient_cannot_be_moved_into_an_appointment_stage(self):
        patient = self.patients[:1]
        self.assertTrue(patient)
        with self.assertRaises(UserError):
            patient.write({"stage_id": self.env.ref("cliniko_crm_migration.stage_completed").id})
        self.assertEqual(patient.stage_id, self.env.ref("cliniko_crm_migration.stage_patient"))

    def test_visits_that_did_not_happen_carry_no_revenue(self):
        missed = self.appointments.filtered(
            lambda lead: lead.cliniko_appointment_status in ("cancelled", "did_not_arrive")
        )
        self.assertTrue(missed)
        priced = missed.filtered(lambda lead: lead.cliniko_appointment_type_id.price)
        self.assertTrue(priced, "the sandbox has priced types among missed visits")
        self.assertEqual(set(missed.mapped("expected_revenue")), {0.0})
        held = self.appointments - missed
        for lead in held:
            self.assertEqual(lead.expected_revenue, lead.cliniko_appointment_type_id.price or 0.0)

    def test_practitioners_on_the_patient_lead_and_the_latest_as_salesperson(self):
        now = fields.Datetime.now()
        checked = 0
        for patient in self.patients:
            seen = patient.cliniko_appointment_ids.with_context(active_test=False).filtered(
                lambda lead: (
                    lead.user_id
                    and lead.cliniko_appointment_status in ("booked", "arrived", "completed")
                )
            )
            with self.subTest(patient=patient.name):
                self.assertEqual(patient.cliniko_practitioner_user_ids, seen.user_id)
                if not seen:
                    continue
                past = seen.filtered(lambda lead: lead.cliniko_starts_at <= now)
                latest = (
                    max(past, key=lambda lead: lead.cliniko_starts_at)
                    if past
                    else min(seen, key=lambda lead: lead.cliniko_starts_at)
                )
                self.assertEqual(patient.user_id, latest.user_id)
                # "My Pipeline" of that practitioner finds the patient
                mine = self.env["crm.lead"].search(
                    [("user_id", "=", latest.user_id.id), ("cliniko_lead_kind", "=", "patient")]
                )
                self.assertIn(patient, mine)
                checked += 1
        self.assertTrue(checked)
        # the practitioners' assignments are audited, so a rollback takes them back
        lines = self.pipeline_run.audit_ids.filtered(
            lambda line: (
                line.res_model == "crm.lead"
                and line.res_id in self.patients.ids
                and line.action == "update"
            )
        )
        self.assertTrue(lines)

    def test_patient_cards_know_the_next_appointment(self):
        now = fields.Datetime.now()
        found = 0
        for patient in self.patients:
            upcoming = patient.cliniko_appointment_ids.filtered(
                lambda lead: (
                    lead.cliniko_starts_at >= now
                    and lead.cliniko_appointment_status in ("booked", "arrived")
                )
            )
            expected = min(upcoming.mapped("cliniko_starts_at")) if upcoming else False
            self.assertEqual(patient.cliniko_next_appointment_at, expected)
            past = patient.cliniko_appointment_ids.filtered(
                lambda lead: (
                    lead.cliniko_starts_at < now
                    and lead.cliniko_appointment_status in ("completed", "arrived")
                )
            )
            last = max(past.mapped("cliniko_starts_at")) if past else False
            self.assertEqual(patient.cliniko_last_appointment_at, last)
            found += bool(expected or last)
        self.assertTrue(found)
        view = self.env["crm.lead"].get_views([(False, "kanban")])["views"]["kanban"]["arch"]
        self.assertIn("cliniko_next_appointment_at", view)
        self.assertIn("cliniko_date_of_birth", view)
        action = self.env.ref("cliniko_crm_migration.action_cliniko_patients")
        self.assertEqual(
            self.env["crm.lead"].with_context(active_test=False).search(safe_eval(action.domain)),
            self.patients,
        )

    def test_communications_are_authored_by_the_clinics_business(self):
        location = self.connection._cliniko_main_location()
        business = location.partner_id
        self.assertTrue(business)
        self.assertEqual(business.name, location.name)
        self.assertTrue(business.is_company)
        company = self.connection.company_id.partner_id
        messages = self.env["mail.message"].search(
            [("message_id", "like", "<cliniko.%communications%")]
        )
        self.assertTrue(messages)
        self.assertNotIn(company, messages.author_id)
        self.assertIn(business, messages.author_id)
        # the partner is the run's, removed by its rollback
        self.assertTrue(
            self.pipeline_run.audit_ids.filtered(
                lambda line: line.res_model == "res.partner" and line.res_id == business.id
            )
        )

    def test_placeholder_practitioners_are_archived_and_in_the_clinics_time(self):
        refs = self.env["cliniko.external.ref"].search(
            [("connection_id", "=", self.connection.id), ("resource", "=", "practitioners")]
        )
        users = self.env["res.users"].with_context(active_test=False).browse(refs.mapped("res_id"))
        placeholders = users.filtered("cliniko_placeholder")
        self.assertTrue(placeholders)
        self.assertFalse(any(placeholders.mapped("active")), "a placeholder takes no seat")
        self.assertEqual(set(placeholders.mapped("tz")), {"Australia/Melbourne"})
        # they still own their visits
        self.assertTrue(self.appointments.user_id & placeholders)

    def test_the_patients_first_tab_says_who_they_are_and_whom_they_see(self):
        arch = etree.fromstring(
            self.env["crm.lead"].get_views([(False, "form")])["views"]["form"]["arch"]
        )
        first = arch.find(".//notebook/page")
        self.assertEqual(first.get("name"), "cliniko_patient_overview")
        shown = {field.get("name") for field in first.iter("field")}
        wanted = (
            "cliniko_date_of_birth street city zip country_id cliniko_phone_numbers "
            "cliniko_next_appointment_at cliniko_last_appointment_at user_id "
            "cliniko_practitioner_user_ids"
        ).split()
        for name in wanted:
            self.assertIn(name, shown)
        # the date of birth is not repeated, for a patient, in the Cliniko tab
        dob = arch.find(".//page[@name='cliniko']//field[@name='cliniko_date_of_birth']")
        self.assertIn("cliniko_lead_kind == 'patient'", dob.get("invisible"))
        # the full address reaches the patient's lead
        with_street = self.patients.filtered(lambda lead: lead.partner_id.street)
        self.assertTrue(with_street)
        for lead in with_street:
            partner = lead.partner_id
            self.assertEqual(
                (lead.street, lead.street2, lead.city, lead.zip),
                (partner.street, partner.street2, partner.city, partner.zip),
            )
        # labels in a clinic's words
        gender = self.env["crm.lead"]._fields["cliniko_gender"]
        self.assertNotIn("deprecated", gender.string)
        files = arch.find(".//field[@name='cliniko_attachment_ids']/list")
        names = [field.get("name") for field in files.iter("field")]
        self.assertNotIn("file_size", names)
        self.assertIn("cliniko_size_display", names)

    def test_money_in_the_clinics_currency_or_a_note_saying_it_differs(self):
        aud = self.env.ref("base.AUD")
        self.assertEqual(self.connection.clinic_currency_id, aud)
        company = self.connection.company_id or self.env.company
        if company.currency_id != aud:
            note = self.connection.clinic_currency_note
            self.assertIn("AUD", note)
            self.assertIn(company.currency_id.name, note)
        self.connection.action_use_clinic_currency()
        self.assertEqual(company.currency_id, aud)
        self.connection.invalidate_recordset(["clinic_currency_note"])
        self.assertFalse(self.connection.clinic_currency_note)
        lead = self.appointments.filtered("expected_revenue")[:1]
        self.assertEqual(lead.company_currency, aud)
        with self.assertRaises(UserError):
            self.connection.with_user(
                new_test_user(self.env, login="clinic-no-admin", groups="base.group_user")
            ).action_use_clinic_currency()

    def test_file_sizes_for_people(self):
        self.assertEqual(human_size(189), "189 B")
        self.assertEqual(human_size(12345), "12.3 kB")
        self.assertEqual(human_size(4_500_000), "4.5 MB")
        self.assertEqual(human_size(2_000_000), "2 MB")
        self.assertEqual(human_size(0), "0 B")


class TestActivePlaceholders(ClinikoSandboxCase):
    """The admin may ask for active placeholder users; a used map and dangerous buttons."""

    sandbox_options = {"seed": 5, "patients": 2}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.placeholder_run = cls.start_run(
            resources="practitioners",
            unmatched_practitioners="placeholder",
            placeholder_users_active=True,
        )
        assert cls.placeholder_run.state == "done", cls.placeholder_run.error_message

    def test_placeholders_of_active_practitioners_are_active_when_asked(self):
        practitioners = self.sandbox.clinic.resources["practitioners"]
        refs = self.env["cliniko.external.ref"].search(
            [("connection_id", "=", self.connection.id), ("resource", "=", "practitioners")]
        )
        self.assertTrue(refs)
        for ref in refs:
            user = self.env["res.users"].with_context(active_test=False).browse(ref.res_id)
            with self.subTest(practitioner=ref.cliniko_id):
                self.assertTrue(user.cliniko_placeholder)
                self.assertEqual(user.active, practitioners[ref.cliniko_id]["active"] is not False)

    # -- the same small run's field map has been used; guarded actions ---------------------
    def test_a_used_map_cannot_be_reset_and_gets_a_new_version(self):
        field_map = self.placeholder_run.field_map_id
        self.assertTrue(field_map)
        self.assertEqual(field_map.state, "confirmed")
        self.assertTrue(field_map.cliniko_used)
        with self.assertRaises(UserError):
            field_map.action_reset_to_draft()
        self.assertEqual(field_map.state, "confirmed")
        action = field_map.action_new_version()
        version = self.env["cliniko.field.map"].browse(action["res_id"])
        self.assertNotEqual(version, field_map)
        self.assertEqual(version.state, "draft")
        self.assertFalse(version.cliniko_used)
        self.assertEqual(
            version.line_ids.mapped("source_path"), field_map.line_ids.mapped("source_path")
        )
        version.action_reset_to_draft()  # an unused map still may

    def test_dangerous_buttons_come_last_or_apart_and_ask_first(self):
        run_form = self.env["cliniko.migration.run"].get_views([(False, "form")])
        header = etree.fromstring(run_form["views"]["form"]["arch"]).find(".//header")
        names = [button.get("name") for button in header.iter("button")]
        self.assertEqual(names[-1], "action_open_rollback_wizard", names)
        arch = etree.fromstring(
            self.env["cliniko.connection"].get_views([(False, "form")])["views"]["form"]["arch"]
        )
        header = [button.get("name") for button in arch.find(".//header").iter("button")]
        self.assertIn("action_test_connection", header)
        self.assertNotIn("action_final_sync", header)
        final = arch.find(".//div[@name='cliniko_cutover']/button[@name='action_final_sync']")
        self.assertIsNotNone(final)
        self.assertTrue(final.get("confirm"))
        map_arch = etree.fromstring(
            self.env["cliniko.field.map"].get_views([(False, "form")])["views"]["form"]["arch"]
        )
        reset = map_arch.find(".//button[@name='action_reset_to_draft']")
        self.assertTrue(reset.get("confirm"))


@tagged("post_install", "-at_install")
class TestPatientTour(HttpCase, ClinikoSandboxCase):
    """One browser tour (headless Chromium) over one small migration."""

    sandbox_options = {"seed": 3, "patients": 4}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tour_run = cls.start_run(resources="patients," + APPOINTMENTS)
        assert cls.tour_run.state == "done", cls.tour_run.error_message

    def test_patient_first_tab_and_the_calendar_from_the_lead(self):
        patients = self.env["crm.lead"].search([("cliniko_lead_kind", "=", "patient")])
        patient = patients.filtered(
            lambda lead: (
                lead.city and lead.cliniko_date_of_birth and lead.sudo()._cliniko_patient_events()
            )
        )[:1]
        self.assertTrue(patient, "the sandbox has a patient with an address and appointments")
        self.start_tour(
            "/odoo/action-cliniko_crm_migration.action_cliniko_patients/%s" % patient.id,
            "cliniko_clinic_patient",
            login="admin",
        )
