"""Cliniko contacts (referring doctors, third-party payers, other third parties) -> ``res.partner``.

``map_contact`` is the pure mapping rule. A contact with a first or last name becomes a person
(its company name kept in ``company_name``); one with only a company name becomes a company.
Every contact is tagged "Cliniko contact", doctors also "Referring doctor" and payers
"Third-party payer". Phone numbers become E.164 with the clinic's country; one that cannot be
read is kept as typed and flagged in the audit line. Archived contacts arrive archived.
"""

from odoo.tools import plaintext2html

from .importer import Importer, MappingError, register
from .patients import _phone_rank
from .values import normalize_email, normalize_phone, parse_datetime, text

# Cliniko's type_code (and type label) -> our contact kind.
KIND_BY_CODE = {0: "standard", 1: "doctor", 2: "payer"}
KIND_BY_LABEL = {"standard": "standard", "doctor": "doctor", "3rd party payer": "payer"}
CATEGORY_XMLIDS = {
    "all": "cliniko_crm_migration.partner_category_cliniko_contact",
    "doctor": "cliniko_crm_migration.partner_category_referring_doctor",
    "payer": "cliniko_crm_migration.partner_category_third_party_payer",
}
DOCTOR_TYPES = ("general_practitioner", "specialist")


def contact_kind(record):
    """``standard``, ``doctor`` or ``payer`` from the contact's type code, else its label."""
    code = record.get("type_code")
    try:
        code = int(code)
    except (TypeError, ValueError):
        code = None
    if code in KIND_BY_CODE:
        return KIND_BY_CODE[code]
    return KIND_BY_LABEL.get((text(record.get("type")) or "").lower(), "standard")


def map_contact(record, region=None):
    """Map one Cliniko contact to ``{"partner": {...}, "address": {...}, "kind": str,
    "warnings": [...]}``; raise MappingError when it cannot be migrated."""
    first, last = text(record.get("first_name")), text(record.get("last_name"))
    company = text(record.get("company_name"))
    person = " ".join(filter(None, [first, last]))
    if not person and not company:
        raise MappingError("the contact has neither a name nor a company name")
    warnings = []

    email, email_ok = normalize_email(record.get("email"))
    if not email_ok:
        warnings.append("e-mail address is not valid; kept as typed")

    lines, primary = [], None
    phones = record.get("phone_numbers") or []
    if not isinstance(phones, list):
        # a malformed list loses the phone numbers, not the whole record and its history
        warnings.append("phone numbers are not a list; not read")
        phones = []
    numbers = sorted(
        (p for p in phones if isinstance(p, dict) and text(p.get("number"))),
        key=lambda phone: _phone_rank(phone.get("phone_type")),
    )
    for phone in numbers:
        number, ok = normalize_phone(phone.get("number"), region)
        kind = text(phone.get("phone_type")) or "Phone"
        if not ok:
            warnings.append("%s phone number could not be read; kept as typed" % kind)
        lines.append("%s: %s" % (kind, number))
        if kind != "Fax":
            primary = primary or number

    kind = contact_kind(record)
    doctor_type = text(record.get("doctor_type"))
    notes = text(record.get("notes"))
    street2 = ", ".join(
        filter(None, [text(record.get("address_2")), text(record.get("address_3"))])
    )
    partner = {
        "name": person or company,
        "is_company": not person,
        "company_name": company if person else False,
        "type": "contact",
        "email": email or False,
        "phone": primary or False,
        "function": text(record.get("occupation")) or False,
        "street": text(record.get("address_1")) or False,
        "street2": street2 or False,
        "city": text(record.get("city")) or False,
        "zip": text(record.get("post_code")) or False,
        "comment": plaintext2html(notes) if notes else False,
        "active": not record.get("archived_at"),
        "cliniko_contact_id": str(record["id"]),
        "cliniko_contact_type": kind,
        "cliniko_contact_title": text(record.get("title")) or False,
        "cliniko_contact_preferred_name": text(record.get("preferred_name")) or False,
        "cliniko_provider_number": text(record.get("provider_number")) or False,
        "cliniko_doctor_type": doctor_type if doctor_type in DOCTOR_TYPES else False,
        "cliniko_contact_phones": "\n".join(lines) or False,
        "cliniko_created_at": parse_datetime(record.get("created_at")),
        "cliniko_updated_at": parse_datetime(record.get("updated_at")),
    }
    if doctor_type and doctor_type not in DOCTOR_TYPES:
        warnings.append("unknown doctor type %r; not kept as a doctor type" % doctor_type)
    address = {
        "country_code": (text(record.get("country_code")) or "").upper() or None,
        "country": text(record.get("country")),
        "state": text(record.get("state")),
    }
    return {"partner": partner, "address": address, "kind": kind, "warnings": warnings}


@register
class ContactImporter(Importer):
    resource = "contacts"
    model = "res.partner"

    def before_resource(self):
        self.categories = {
            key: self.env.ref(xmlid, raise_if_not_found=False) or self.env["res.partner.category"]
            for key, xmlid in CATEGORY_XMLIDS.items()
        }

    def _category_ids(self, kind):
        tags = self.categories["all"] | self.categories.get(kind, self.categories["all"])
        return tags.ids

    def map(self, item):
        values = map_contact(item.source, self.runner.region)
        country, state = self.runner.resolve_address(**values["address"])
        values["partner"]["country_id"] = country.id or False
        values["partner"]["state_id"] = state.id or False
        values["category_ids"] = self._category_ids(values["kind"])
        item.message = "; ".join(values["warnings"])
        return values

    def create_batch(self, items):
        partners = self.env["res.partner"].create(
            [
                dict(item.values["partner"], category_id=[(6, 0, item.values["category_ids"])])
                for item in items
            ]
        )
        for item, partner in zip(items, partners, strict=True):
            item.target = partner
            item.audit("create", partner)

    def update_one(self, item, partner):
        values = dict(item.values["partner"])
        missing = set(item.values["category_ids"]) - set(partner.category_id.ids)
        if missing:
            # Add our tags; tags people gave the contact in Odoo stay.
            values["category_id"] = [(6, 0, partner.category_id.ids + sorted(missing))]
        return self.write_changes(item, partner, values)
