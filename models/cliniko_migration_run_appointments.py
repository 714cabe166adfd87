"""The run option of the appointment importers: one lead per appointment, or per patient."""

from odoo import fields, models

APPOINTMENT_MODES = [
    ("lead_per_appointment", "One lead per appointment"),
    ("lead_per_patient", "One lead per patient"),
]


class ClinikoMigrationRun(models.Model):
    _inherit = "cliniko.migration.run"

    appointment_mode = fields.Selection(
        APPOINTMENT_MODES,
        string="Appointments",
        default="lead_per_appointment",
        required=True,
        help="One lead per appointment: every appointment (and group attendance) becomes a lead "
        "in the stage of its status, with its calendar event.\n"
        "One lead per patient: no appointment lead; each appointment becomes a calendar event "
        "and a note, dated at its start, on the patient's lead.\n"
        "The mode applies to appointments migrated for the first time; a re-run updates the "
        "records an appointment already became.",
    )
