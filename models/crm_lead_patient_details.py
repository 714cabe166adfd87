"""Everything else Cliniko holds about a patient, kept on the patient's lead.

Insurance and funding (Medicare, DVA, health fund, the payer invoices go to), the referring
doctor and how the patient was referred, the clinic's own custom patient fields (every value,
raw and rendered), medical alerts (shown as a banner on the form), patient cases, and the
remaining patient fields (emergency contact, identity, consents, reminders...).
"""

from odoo import api, fields, models

from ..migration.patient_details import render_patient_cases
from ..migration.patients import render_custom_fields

CONSENT = [("yes", "Yes"), ("no", "No")]


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # -- insurance, funding and referral -----------------------------------------------------
    cliniko_referring_doctor_id = fields.Many2one(
        "res.partner", string="Referring Doctor", index="btree_not_null", ondelete="set null"
    )
    cliniko_insurer_id = fields.Many2one(
        "res.partner",
        string="Insurer",
        index="btree_not_null",
        ondelete="set null",
        help="The Cliniko third-party payer this patient's invoices go to. Matched, by name, "
        "from the patient's 'Invoice to' text first, else from a custom field that names the "
        "health fund or insurer (e.g. 'Provider', 'Health fund').",
    )
    cliniko_medicare_number = fields.Char(string="Medicare Number")
    cliniko_medicare_irn = fields.Char(
        string="Medicare IRN", help="Individual reference number: the patient's line on the card."
    )
    cliniko_dva_number = fields.Char(string="DVA File Number")
    cliniko_health_fund = fields.Char(
        string="Health Fund", help="From the clinic's custom patient fields, when one names it."
    )
    cliniko_policy_number = fields.Char(
        string="Policy / Member Number",
        help="From the clinic's custom patient fields, when one holds it.",
    )
    cliniko_invoice_to = fields.Text(
        string="Invoice To", help="Cliniko's default 'Invoice to' text for this patient."
    )
    cliniko_invoice_email = fields.Char(string="Invoice E-mail")
    cliniko_invoice_extra_info = fields.Text(
        string="Invoice Extra Information", help="Printed on invoices, e.g. claim numbers."
    )
    cliniko_concession_type = fields.Char(string="Concession Type")
    cliniko_referral_source = fields.Char(
        string="Referral Source (as typed)",
        help="The free-text referral source of the Cliniko patient record.",
    )
    cliniko_referral_detail = fields.Text(
        string="Referral",
        help="How the patient was referred (Cliniko referral source: type, subcategory, "
        "referrer and notes).",
    )
    cliniko_referrer_id = fields.Many2one(
        "res.partner",
        string="Referrer",
        index="btree_not_null",
        ondelete="set null",
        help="The patient or contact who referred this patient.",
    )

    # -- custom patient fields ---------------------------------------------------------------
    cliniko_custom_fields = fields.Json(
        string="Cliniko Custom Fields (raw)",
        help="The patient's custom fields exactly as Cliniko sent them (sections, fields, "
        "options, 'other' values).",
    )
    cliniko_custom_fields_html = fields.Html(
        string="Cliniko Custom Fields", compute="_compute_cliniko_custom_fields_html"
    )

    # -- other patient fields ----------------------------------------------------------------
    cliniko_emergency_contact = fields.Char(string="Emergency Contact")
    cliniko_gender = fields.Char(
        string="Gender",
        help="As recorded in Cliniko's older gender field (Cliniko now keeps gender identity "
        "and sex).",
    )
    cliniko_gender_identity = fields.Char(string="Gender Identity")
    cliniko_sex = fields.Char(string="Sex")
    cliniko_pronouns = fields.Char(string="Pronouns")
    cliniko_reminder_type = fields.Char(string="Reminder Type")
    cliniko_receives_confirmation_emails = fields.Boolean(string="Receives Confirmation E-mails")
    cliniko_accepted_privacy_policy = fields.Selection(
        CONSENT, string="Accepted Privacy Policy", help="Empty: the patient did not answer."
    )
    cliniko_accepted_email_marketing = fields.Selection(
        CONSENT, string="Accepted E-mail Marketing", help="Empty: the patient did not answer."
    )
    cliniko_accepted_sms_marketing = fields.Selection(
        CONSENT, string="Accepted SMS Marketing", help="Empty: the patient did not answer."
    )
    cliniko_time_zone = fields.Char(string="Time Zone")
    cliniko_old_reference_id = fields.Char(
        string="Old Reference ID", help="The patient's id in the system before Cliniko."
    )
    cliniko_appointment_notes = fields.Text(
        string="Appointment Notes", help="Cliniko shows this note on every appointment."
    )

    # -- medical alerts and patient cases ----------------------------------------------------
    cliniko_medical_alerts = fields.Text(
        string="Medical Alerts", help="The patient's Cliniko medical alerts, one per line."
    )
    cliniko_medical_alert_data = fields.Json(
        string="Medical Alerts (Cliniko)",
        help="Technical: the migrated alerts by Cliniko id, to keep updates exact.",
    )
    cliniko_patient_cases = fields.Html(
        string="Patient Cases", compute="_compute_cliniko_patient_cases"
    )
    cliniko_patient_case_data = fields.Json(
        string="Patient Cases (Cliniko)",
        help="Technical: the migrated patient cases by Cliniko id.",
    )

    @api.depends("cliniko_custom_fields")
    def _compute_cliniko_custom_fields_html(self):
        for lead in self:
            lead.cliniko_custom_fields_html = (
                render_custom_fields(lead.cliniko_custom_fields) or False
            )

    @api.depends("cliniko_patient_case_data")
    def _compute_cliniko_patient_cases(self):
        for lead in self:
            lead.cliniko_patient_cases = render_patient_cases(lead.cliniko_patient_case_data or {})
