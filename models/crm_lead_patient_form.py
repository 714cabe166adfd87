"""What the patient's form needs to say each fact once, in a clinic's words.

The health fund is read from the clinic's custom fields and also names the insurer the patient
is matched to (``migration/patients.py``): shown beside the insurer, it would say the same
thing twice. ``cliniko_health_fund_repeats`` tells the form when it adds nothing. A file's type
reads as its kind (``PDF``, ``JPG``), not as a MIME type.
"""

import mimetypes
import os

from odoo import api, fields, models


def same_payer(fund, insurer):
    """Whether the fund's text names the insurer (``Medibank`` for ``Medibank Private``)."""
    fund, insurer = (fund or "").strip().casefold(), (insurer or "").strip().casefold()
    return bool(fund and insurer) and (fund in insurer or insurer in fund)


def file_type(mimetype, name=None):
    """``PDF`` for ``application/pdf`` (or ``report.pdf``); ``File`` when neither says."""
    extension = mimetypes.guess_extension(mimetype or "", strict=False) if mimetype else None
    if not extension or mimetype == "application/octet-stream":
        extension = os.path.splitext(name or "")[1] or extension
    return (extension or "").lstrip(".").upper() or "File"


class CrmLead(models.Model):
    _inherit = "crm.lead"

    cliniko_health_fund_repeats = fields.Boolean(
        compute="_compute_cliniko_health_fund_repeats",
        help="The health fund's text names the insurer already shown.",
    )

    @api.depends("cliniko_health_fund", "cliniko_insurer_id.name")
    def _compute_cliniko_health_fund_repeats(self):
        for lead in self:
            lead.cliniko_health_fund_repeats = same_payer(
                lead.cliniko_health_fund, lead.cliniko_insurer_id.name
            )


class IrAttachment(models.Model):
    _inherit = "ir.attachment"

    cliniko_file_type = fields.Char(string="File Type", compute="_compute_cliniko_file_type")

    @api.depends("mimetype", "name")
    def _compute_cliniko_file_type(self):
        for attachment in self:
            attachment.cliniko_file_type = file_type(attachment.mimetype, attachment.name)
