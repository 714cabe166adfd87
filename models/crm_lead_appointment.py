"""Appointment data on the CRM lead that stands for one Cliniko appointment.

An individual appointment, or one patient's attendance of a group appointment, becomes a lead of
kind "appointment" linked to the patient's partner and to the patient's own lead, with its
schedule (UTC), type, location, practitioner (``user_id``) and Cliniko status (the stage).
"""

from odoo import fields, models

APPOINTMENT_STATUSES = [
    ("booked", "Booked"),
    ("arrived", "Arrived"),
    ("completed", "Completed"),
    ("did_not_arrive", "Did not arrive"),
    ("cancelled", "Cancelled"),
]
# Cliniko's cancellation reason codes (``cancellation_reason``), kept as text keys.
CANCELLATION_REASONS = [
    ("10", "Feeling better"),
    ("20", "Condition worse"),
    ("30", "Sick"),
    ("31", "COVID-19 related"),
    ("40", "Away"),
    ("50", "Other"),
    ("60", "Work"),
]


class CrmLead(models.Model):
    _inherit = "crm.lead"

    cliniko_patient_lead_id = fields.Many2one(
        "crm.lead",
        string="Patient Lead",
        index="btree_not_null",
        ondelete="set null",
        copy=False,
        readonly=True,
        help="The lead of the patient this appointment belongs to.",
    )
    cliniko_appointment_ids = fields.One2many(
        "crm.lead", "cliniko_patient_lead_id", string="Appointments", readonly=True
    )
    cliniko_appointment_id = fields.Char(
        string="Cliniko Appointment ID",
        index="btree_not_null",
        copy=False,
        readonly=True,
        help="The Cliniko individual appointment, or for a group attendance the group appointment.",
    )
    cliniko_attendee_id = fields.Char(
        string="Cliniko Attendee ID",
        index="btree_not_null",
        copy=False,
        readonly=True,
        help="Set for the attendance of a group appointment.",
    )
    cliniko_is_group = fields.Boolean(string="Group Appointment", copy=False, readonly=True)
    cliniko_appointment_status = fields.Selection(
        APPOINTMENT_STATUSES,
        string="Appointment Status",
        copy=False,
        readonly=True,
        help="The status in Cliniko when last migrated. A change of this status moves the lead "
        "to the stage of the new status.",
    )
    cliniko_starts_at = fields.Datetime(string="Starts At", copy=False)
    cliniko_ends_at = fields.Datetime(string="Ends At", copy=False)
    cliniko_duration_minutes = fields.Integer(string="Duration (minutes)", copy=False)
    cliniko_appointment_type_id = fields.Many2one(
        "cliniko.appointment.type",
        string="Appointment Type",
        index="btree_not_null",
        ondelete="set null",
        copy=False,
    )
    cliniko_location_id = fields.Many2one(
        "cliniko.location",
        string="Location",
        index="btree_not_null",
        ondelete="set null",
        copy=False,
    )
    cliniko_practitioner_id = fields.Char(
        string="Cliniko Practitioner ID",
        copy=False,
        readonly=True,
        help="Kept when the practitioner has no Odoo user, so the lead can be assigned later.",
    )
    cliniko_calendar_event_id = fields.Many2one(
        "calendar.event",
        string="Calendar Event",
        ondelete="set null",
        copy=False,
        readonly=True,
        help="The calendar event of the appointment (for a group attendance: of the session).",
    )
    cliniko_cancelled_at = fields.Datetime(string="Cancelled At", copy=False)
    cliniko_cancellation_reason = fields.Selection(
        CANCELLATION_REASONS, string="Cancellation Reason", copy=False
    )
    cliniko_cancellation_description = fields.Char(
        string="Cancellation Reason (Cliniko)", copy=False
    )
    cliniko_cancellation_note = fields.Text(string="Cancellation Note", copy=False)
    cliniko_appointment_count = fields.Integer(
        string="Appointment Count", compute="_compute_cliniko_appointment_count"
    )

    def _compute_cliniko_appointment_count(self):
        counts = dict(
            self.with_context(active_test=False)._read_group(
                [("cliniko_patient_lead_id", "in", self.ids)],
                ["cliniko_patient_lead_id"],
                ["__count"],
            )
        )
        for lead in self:
            lead.cliniko_appointment_count = counts.get(lead, 0)

    def action_view_cliniko_appointments(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Appointments"),
            "res_model": "crm.lead",
            "view_mode": "list,kanban,form",
            "domain": [("cliniko_patient_lead_id", "=", self.id)],
            "context": {"active_test": False, "create": False},
        }
