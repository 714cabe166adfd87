"""Each phone number of a migrated page is read once, not three times.

A patient's number is parsed by ``phone_validation`` for the partner's ``phone_sanitized``, again
for the lead's, and a third time for the lead's ``phone_state``: a third of the cost of writing
a patient. Within a migration write (context key ``cliniko_migration``) the parse is memoised,
keyed by the number and the country code, the only inputs of ``phone_validation.phone_parse``:
the values stored are exactly those Odoo computes. Outside the migration nothing changes. The
memo is small and bounded (``maxsize``), so memory stays flat however large the clinic.
"""

import functools

import phonenumbers

from odoo import api, models
from odoo.exceptions import UserError

from odoo.addons.phone_validation.tools import phone_validation


@functools.lru_cache(maxsize=2048)
def parsed(number, country_code):
    """``phone_validation.phone_parse(number, country_code)``, or None when it refuses it."""
    try:
        return phone_validation.phone_parse(number, country_code)
    except UserError:
        return None


class Base(models.AbstractModel):
    _inherit = "base"

    def _phone_format_number(self, number, country, force_format="E164", raise_exception=False):
        if (
            not self.env.context.get("cliniko_migration")
            or force_format != "E164"
            or raise_exception
            or not isinstance(number, str)
            or not number
        ):
            return super()._phone_format_number(
                number, country, force_format=force_format, raise_exception=raise_exception
            )
        # phone_validation.phone_format, E.164 branch, on the memoised parse
        found = parsed(number, country.code or None)
        if found is None:
            return False
        if not found:  # no phonenumbers library: phone_validation's own answer
            return super()._phone_format_number(number, country, force_format=force_format)
        return phonenumbers.format_number(found, phonenumbers.PhoneNumberFormat.E164)


class CrmLead(models.Model):
    _inherit = "crm.lead"

    @api.depends("phone", "country_id.code")
    def _compute_phone_state(self):
        if not self.env.context.get("cliniko_migration"):
            return super()._compute_phone_state()
        # crm's own rule (correct when phone_validation reads it), on the memoised parse
        for lead in self:
            phone_status = False
            if lead.phone:
                found = parsed(lead.phone, lead.country_id.code or None)
                if found is None:
                    phone_status = "incorrect"
                elif found:  # False: no phonenumbers library, no state
                    phone_status = "correct"
            lead.phone_state = phone_status
        return None
