"""Cliniko patients -> a ``res.partner`` (the person) and a ``crm.lead`` of kind "patient".

``map_patient`` is the pure mapping rule (no Odoo); ``PatientImporter`` resolves countries and
states, writes both records and audits them. Phone numbers become E.164 using the clinic's
country; a number or e-mail that cannot be read is kept exactly as typed and flagged in the
audit line, never dropped.
"""

from odoo.tools import plaintext2html

from .importer import Importer, MappingError, changed_values, snapshot
from .values import link_id, normalize_email, normalize_phone, parse_date, parse_datetime, text

PHONE_PREFERENCE = ("Mobile", "Home", "Work", "Other", "Fax")

# Lead fields written only when the lead is created: staff may change them afterwards.
LEAD_CREATE_ONLY = (
    "type",
    "team_id",
    "stage_id",
    "user_id",
    "probability",
    "automated_probability",
)


def map_patient(record, region=None):
    """Map one Cliniko patient to ``{"partner": {...}, "lead": {...}, "address": {...},
    "warnings": [...]}``; raise MappingError when it cannot be migrated."""
    first, last = text(record.get("first_name")), text(record.get("last_name"))
    if not first and not last:
        raise MappingError("the patient has neither a first nor a last name")
    name = " ".join(filter(None, [first, last]))
    warnings = []

    email, email_ok = normalize_email(record.get("email"))
    if not email_ok:
        warnings.append("e-mail address is not valid; kept as typed")

    lines, primary, unparsed = [], None, False
    numbers = sorted(
        (phone for phone in record.get("patient_phone_numbers") or [] if text(phone.get("number"))),
        key=lambda phone: _phone_rank(phone.get("phone_type")),
    )
    for phone in numbers:
        number, ok = normalize_phone(phone.get("number"), region)
        kind = text(phone.get("phone_type")) or "Phone"
        if not ok:
            unparsed = True
            warnings.append("%s phone number could not be read; kept as typed" % kind)
        lines.append("%s: %s" % (kind, number))
        primary = primary or number

    notes = text(record.get("notes"))
    street2 = ", ".join(
        filter(None, [text(record.get("address_2")), text(record.get("address_3"))])
    )
    active = not record.get("archived_at")
    common = {
        "cliniko_date_of_birth": parse_date(record.get("date_of_birth")),
        "cliniko_created_at": parse_datetime(record.get("created_at")),
        "cliniko_updated_at": parse_datetime(record.get("updated_at")),
        "cliniko_patient_id": str(record["id"]),
        "active": active,
    }
    partner = dict(
        common,
        name=name,
        email=email or False,
        phone=primary or False,
        street=text(record.get("address_1")) or False,
        street2=street2 or False,
        city=text(record.get("city")) or False,
        zip=text(record.get("post_code")) or False,
        comment=plaintext2html(notes) if notes else False,
        type="contact",
        is_company=False,
    )
    lead = dict(
        common,
        name=name,
        contact_name=name,
        email_from=email or False,
        phone=primary or False,
        type="opportunity",
        cliniko_lead_kind="patient",
        cliniko_title=text(record.get("title")) or False,
        cliniko_first_name=first or False,
        cliniko_last_name=last or False,
        cliniko_preferred_name=text(record.get("preferred_first_name")) or False,
        cliniko_phone_numbers="\n".join(lines) or False,
        cliniko_phone_unparsed=unparsed,
        description=plaintext2html(notes) if notes else False,
    )
    address = {
        "country_code": (text(record.get("country_code")) or "").upper() or None,
        "country": text(record.get("country")),
        "state": text(record.get("state")),
    }
    return {"partner": partner, "lead": lead, "address": address, "warnings": warnings}


def _phone_rank(phone_type):
    try:
        return PHONE_PREFERENCE.index(text(phone_type) or "")
    except ValueError:
        return len(PHONE_PREFERENCE)


class PatientImporter(Importer):
    resource = "patients"
    model = "res.partner"

    def skip_reason(self, record):
        merged_into = link_id(record.get("merged_with_patient"))
        if record.get("merged_at") and merged_into:
            return "merged into Cliniko patient %s" % merged_into
        return super().skip_reason(record)

    def map(self, item):
        values = map_patient(item.record, self.runner.region)
        country, state = self.runner.resolve_address(**values["address"])
        for target in ("partner", "lead"):
            values[target]["country_id"] = country.id or False
            values[target]["state_id"] = state.id or False
        values["lead"].update(self.runner.lead_defaults(kind="patient"))
        item.message = "; ".join(values["warnings"])
        return values

    def create_batch(self, items):
        Partner = self.env["res.partner"]
        Lead = self.env["crm.lead"]
        partners = Partner.create([item.values["partner"] for item in items])
        leads = Lead.create(
            [
                dict(item.values["lead"], partner_id=partner.id)
                for item, partner in zip(items, partners, strict=True)
            ]
        )
        for item, partner, lead in zip(items, partners, leads, strict=True):
            item.main = partner
            item.audit("create", partner)
            item.audit("create", lead)

    def update_one(self, item, partner):
        values = item.values
        changed = self._write(item, partner, values["partner"])
        lead = self.env["crm.lead"]._cliniko_patient_leads(partner).get(partner.id)
        lead_values = dict(values["lead"], partner_id=partner.id)
        if lead:
            for name in LEAD_CREATE_ONLY:
                lead_values.pop(name, None)
            changed = self._write(item, lead, lead_values) or changed
        else:
            lead = self.env["crm.lead"].create(lead_values)
            item.audit("create", lead, "patient lead was missing; created again")
            changed = True
        return changed

    def _write(self, item, record, values):
        diff = changed_values(record, values)
        if not diff:
            return False
        previous = snapshot(record, list(diff))
        record.write(diff)
        item.audit("update", record, "", {"values": previous})
        return True
