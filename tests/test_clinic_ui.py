"""The clinic's screens over a real migration: a calendar the front desk can read (patient, type
and location for clinical users, "Busy" for others), linked to its leads, in the clinic's time.
"""

from datetime import UTC
from zoneinfo import ZoneInfo

from odoo import fields
from odoo.tests import new_test_user

from ..migration.rendering import format_datetime
from ..models.cliniko_clinic_ui import CLINICAL_GROUP, FALLBACK_CLINICAL_GROUP
from .common import ClinikoSandboxCase

APPOINTMENTS = "individual_appointments,group_appointments,attendees"


def clinical_group(env):
    """The group that gives clinical access here (the clinical group once installed)."""
    return CLINICAL_GROUP if env.ref(CLINICAL_GROUP, raise_if_not_found=False) else (
        FALLBACK_CLINICAL_GROUP
    )


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
        cls.events = cls.env["calendar.event"].with_context(active_test=False).search(
            [("cliniko_appointment_event", "=", True)]
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
        read = self.env["calendar.event"].with_user(self.salesman).search_read(
            [("id", "=", event.id)], ["name", "description"]
        )
        self.assertEqual(read[0]["name"], "Busy")
        self.env.invalidate_all()
        read = self.env["calendar.event"].with_user(self.clinical).search_read(
            [("id", "=", event.id)], ["name"]
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
            .search([("model", "=", "crm.lead"), ("message_id", "like", "<cliniko.%communications%")])
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
        self.assertEqual(format_datetime("2016-07-21T03:45:00Z", "Nowhere/Land"), "2016-07-21 03:45 UTC")
