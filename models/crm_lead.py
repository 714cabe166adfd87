"""Patient data on the CRM lead that stands for a Cliniko patient.

Each migrated patient gets one lead of kind "patient", linked to the patient's partner; later
resources (appointments, notes, messages, files) attach to it. Fields are named the Odoo way.
"""

from odoo import api, fields, models

LEAD_KINDS = [("patient", "Patient"), ("appointment", "Appointment")]


class CrmLead(models.Model):
    _inherit = "crm.lead"

    cliniko_lead_kind = fields.Selection(
        LEAD_KINDS, string="Cliniko Record", index="btree_not_null", copy=False, readonly=True
    )
    cliniko_connection_id = fields.Many2one(
        "cliniko.connection",
        string="Cliniko Connection",
        copy=False,
        readonly=True,
        index="btree_not_null",
    )
    cliniko_patient_id = fields.Char(
        string="Cliniko Patient ID", index="btree_not_null", copy=False, readonly=True
    )
    cliniko_title = fields.Char(string="Title")
    cliniko_first_name = fields.Char(string="First Name")
    cliniko_last_name = fields.Char(string="Last Name")
    cliniko_preferred_name = fields.Char(string="Preferred Name")
    cliniko_date_of_birth = fields.Date(string="Date of Birth")
    cliniko_phone_numbers = fields.Text(
        string="Cliniko Phone Numbers",
        help="Every phone number of the patient, one per line, as normalised (E.164) or, when "
        "it could not be read, exactly as typed in Cliniko.",
    )
    cliniko_phone_unparsed = fields.Boolean(
        string="Unreadable Phone Number",
        help="At least one Cliniko phone number could not be read; it is kept as typed.",
    )
    cliniko_created_at = fields.Datetime(string="Created in Cliniko", copy=False, readonly=True)
    cliniko_updated_at = fields.Datetime(string="Updated in Cliniko", copy=False, readonly=True)

    def _handle_won_lost(self, old_status_by_lead, new_status_by_lead):
        # Migrated history does not feed predictive lead scoring one lead at a time (costly,
        # and the clinic's scoring is rebuilt from all leads by Odoo's nightly cron anyway).
        if self.env.context.get("cliniko_migration"):
            return None
        return super()._handle_won_lost(old_status_by_lead, new_status_by_lead)

    @api.model
    def _cliniko_patient_leads(self, partners):
        """Return {partner id: patient lead} for partners migrated as Cliniko patients."""
        leads = self.with_context(active_test=False).search(
            [("partner_id", "in", partners.ids), ("cliniko_lead_kind", "=", "patient")]
        )
        return {lead.partner_id.id: lead for lead in leads}
