"""Cliniko identity on contacts: the patient a partner came from.

Every internal user reads partners, so what is clinical stays on the patient's lead (hidden by
record rules) and the date of birth here is for the clinical group only.
"""

from odoo import fields, models

CLINICAL_GROUP = "cliniko_crm_migration.group_cliniko_clinical"


class ResPartner(models.Model):
    _inherit = "res.partner"

    cliniko_patient_id = fields.Char(
        string="Cliniko Patient ID", index="btree_not_null", copy=False, readonly=True
    )
    cliniko_date_of_birth = fields.Date(string="Date of Birth", groups=CLINICAL_GROUP)
    cliniko_created_at = fields.Datetime(string="Created in Cliniko", copy=False, readonly=True)
    cliniko_updated_at = fields.Datetime(string="Updated in Cliniko", copy=False, readonly=True)
