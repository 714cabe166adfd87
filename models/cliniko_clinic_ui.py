"""The clinic's view of migrated data: a calendar the front desk can read, in the clinic's time.

Appointment events stay ``private`` (Odoo's standard rules and the "Busy" mask keep them from
whoever is neither their organizer nor an attendee), with one exception: a user with clinical
access reads Cliniko appointment events in full. That is decided in one place,
``res.users._cliniko_is_clinical``, where the clinical group plugs in.
"""

from odoo import api, fields, models
from odoo.fields import Domain

# The clinical access group (security/cliniko_security.xml, "Clinic: Clinical Records"). Until
# it exists, the migration managers (who see every migrated record anyway) stand for it.
CLINICAL_GROUP = "cliniko_crm_migration.group_cliniko_clinical"
FALLBACK_CLINICAL_GROUP = "cliniko_crm_migration.group_cliniko_manager"


class ResUsers(models.Model):
    _inherit = "res.users"

    def _cliniko_is_clinical(self):
        """Whether this user may read the clinical record (appointments, patients' health)."""
        self.ensure_one()
        # Hook for the clinical access group: has_group() of an unknown xmlid is False, so
        # the fallback applies only while the group is not installed.
        if self.env.ref(CLINICAL_GROUP, raise_if_not_found=False):
            return self.has_group(CLINICAL_GROUP)
        return self.has_group(FALLBACK_CLINICAL_GROUP)


class CalendarEvent(models.Model):
    _inherit = "calendar.event"

    cliniko_appointment_event = fields.Boolean(
        string="Cliniko Appointment",
        copy=False,
        readonly=True,
        index=True,
        help="The event of a migrated Cliniko appointment or group session: private, but "
        "readable in full by users with clinical access.",
    )

    @api.model
    def _get_public_fields(self):
        # not sensitive, and read while deciding what to mask (so never masked itself)
        return super()._get_public_fields() | {"cliniko_appointment_event"}

    def _check_private_event_conditions(self):
        """A private Cliniko appointment shows its patient, type and location to clinical users
        (the front desk); to everyone else it stays "Busy"."""
        hidden = super()._check_private_event_conditions()
        if hidden and self.cliniko_appointment_event:
            return not self.env.user._cliniko_is_clinical()
        return hidden

    @api.model
    def _get_default_privacy_domain(self):
        domain = super()._get_default_privacy_domain()
        if self.env.user._cliniko_is_clinical():
            return Domain.OR([domain, [("cliniko_appointment_event", "=", True)]])
        return domain


class ClinikoConnection(models.Model):
    _inherit = "cliniko.connection"

    def _cliniko_tz(self):
        """The clinic's time zone: its first business's (Cliniko's ``time_zone_identifier``),
        else the current user's, else UTC."""
        self.ensure_one()
        location = (
            self.env["cliniko.location"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [("connection_id", "=", self.id), ("tz", "!=", False)],
                order="active desc, id",
                limit=1,
            )
        )
        return location.tz or self.env.user.tz or "UTC"


class CrmLead(models.Model):
    _inherit = "crm.lead"

    def _cliniko_patient_events(self):
        """The calendar events of this patient's lead: its own (one lead per patient), its
        appointments' and the group sessions it attended."""
        self.ensure_one()
        appointments = self.with_context(active_test=False).search(
            [("cliniko_patient_lead_id", "=", self.id)]
        )
        return self.env["calendar.event"].search(
            [
                "|",
                ("opportunity_id", "in", (self | appointments).ids),
                ("id", "in", appointments.cliniko_calendar_event_id.ids),
            ]
        )

    @api.depends("cliniko_lead_kind")
    def _compute_meeting_display(self):
        super()._compute_meeting_display()
        now = fields.Datetime.now()
        for lead in self.filtered(lambda lead: lead.cliniko_lead_kind == "patient" and lead.id):
            starts = lead.sudo()._cliniko_patient_events().mapped("start")
            if not starts:
                continue
            upcoming = [start for start in starts if start > now]
            if upcoming:
                lead.meeting_display_date = min(upcoming)
                lead.meeting_display_label = self.env._("Next Appointment")
            else:
                lead.meeting_display_date = max(starts)
                lead.meeting_display_label = self.env._("Last Appointment")

    def action_schedule_meeting(self, smart_calendar=True):
        """From a patient's (or an appointment's) lead: the patient's appointments in the
        clinic calendar, opened on the next one (else the latest), not the user's empty week."""
        self.ensure_one()
        patient = self if self.cliniko_lead_kind == "patient" else self.cliniko_patient_lead_id
        if not patient:
            return super().action_schedule_meeting(smart_calendar=smart_calendar)
        events = patient._cliniko_patient_events()
        now = fields.Datetime.now()
        upcoming = events.filtered(lambda event: event.stop >= now)
        focus = min(upcoming.mapped("start")) if upcoming else max(events.mapped("start") or [now])
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "cliniko_crm_migration.action_cliniko_clinic_calendar"
        )
        action.update(
            name=self.env._("Appointments of %s", patient.partner_id.name or patient.name),
            domain=[("id", "in", events.ids)],
            context={
                "default_opportunity_id": patient.id,
                "default_partner_ids": patient.partner_id.ids,
                "default_name": patient.partner_id.name or patient.name,
                "initial_date": fields.Datetime.to_string(focus),
                "default_mode": "month" if len(events) > 1 else "week",
            },
        )
        return action
