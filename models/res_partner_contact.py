"""Cliniko contacts on partners: the referring doctors, payers and other third parties.

A Cliniko contact becomes a ``res.partner`` (a company when only a company name is known),
tagged with its kind ("Referring doctor", "Third-party payer") and with "Cliniko contact".
"""

from odoo import fields, models

CONTACT_TYPES = [
    ("standard", "Standard"),
    ("doctor", "Doctor"),
    ("payer", "3rd Party Payer"),
]
DOCTOR_TYPES = [
    ("general_practitioner", "General practitioner"),
    ("specialist", "Specialist"),
]


class ResPartner(models.Model):
    _inherit = "res.partner"

    cliniko_contact_id = fields.Char(
        string="Cliniko Contact ID", index="btree_not_null", copy=False, readonly=True
    )
    cliniko_contact_type = fields.Selection(
        CONTACT_TYPES,
        string="Cliniko Contact Kind",
        help="What the contact is in Cliniko: a doctor, a third-party payer (insurer, fund, "
        "agency) or another third party.",
    )
    cliniko_contact_title = fields.Char(string="Title (Cliniko)")
    cliniko_contact_preferred_name = fields.Char(string="Preferred Name (Cliniko)")
    cliniko_provider_number = fields.Char(
        string="Provider Number", help="E.g. a GP's Medicare provider number."
    )
    cliniko_doctor_type = fields.Selection(DOCTOR_TYPES, string="Doctor Type")
    cliniko_contact_phones = fields.Text(
        string="Cliniko Phone Numbers",
        help="Every phone number of the contact, one per line, as normalised (E.164) or, when "
        "it could not be read, exactly as typed in Cliniko.",
    )
