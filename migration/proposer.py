"""The mapping proposal: which Odoo field each Cliniko field goes to, before anything moves.

``DEFAULT_MAP`` is the map the importers implement, kept here as data: one row per Cliniko
source field with its label, its type and the values it becomes. A target is a *value path*
into what the importer's ``map`` returns: ``"partner/email"`` is the key ``email`` of the
``partner`` dict (a ``res.partner``), a bare ``"name"`` a key of a flat dict (the importer's
own model). Rows the importer renders as a whole (a visit, a chatter message, a lead's summary)
name their target for people and have no value path: they cannot be skipped one by one.

``propose`` starts from that table and adds the clinic's own custom patient fields, found in a
sample of patients. For each, it ranks the Odoo fields of the patient's lead and partner by
label similarity (``difflib``, plus shared words), keeps only type-compatible fields that agree
with the profile of the sampled answers (an e-mail, a phone, a date, money, a number), and
proposes the best one with a confidence and a one-line reason; else "keep in the Cliniko custom
fields section". Offline and deterministic: same fields and answers, same proposal.
"""

import difflib
import re
from collections import Counter

from . import graph
from .values import text

# Which model a nested value dict is written to.
VALUE_MODELS = {
    "partner": "res.partner",
    "lead": "crm.lead",
    "attachment": "ir.attachment",
    "user": "res.users",
}

# Flags of a row: R = required (cannot be skipped). A row is written on create only when all its
# targets are (``graph.Resource.create_only``, what the importers drop from an update).
# (resource, source field, label, source type, targets, flags)
# fmt: off
DEFAULT_MAP = (
    # -- patients: res.partner (the person) + crm.lead (the patient's lead) --
    ("patients", "id", "Cliniko id", "id",
     ("partner/cliniko_patient_id", "lead/cliniko_patient_id"), "R"),
    ("patients", "first_name", "First name", "text",
     ("lead/cliniko_first_name", "partner/name", "lead/name", "lead/contact_name"), "R"),
    ("patients", "last_name", "Last name", "text", ("lead/cliniko_last_name",), "R"),
    ("patients", "title", "Title", "text", ("lead/cliniko_title",), ""),
    ("patients", "preferred_first_name", "Preferred first name", "text",
     ("lead/cliniko_preferred_name",), ""),
    ("patients", "email", "E-mail", "email", ("partner/email", "lead/email_from"), ""),
    ("patients", "patient_phone_numbers", "Phone numbers", "phone",
     ("partner/phone", "lead/phone", "lead/cliniko_phone_numbers", "lead/cliniko_phone_unparsed"),
     ""),
    ("patients", "date_of_birth", "Date of birth", "date",
     ("partner/cliniko_date_of_birth", "lead/cliniko_date_of_birth"), ""),
    ("patients", "address_1", "Address line 1", "text", ("partner/street",), ""),
    ("patients", "address_2", "Address lines 2 and 3", "text", ("partner/street2",), ""),
    ("patients", "city", "City", "text", ("partner/city",), ""),
    ("patients", "post_code", "Post code", "text", ("partner/zip",), ""),
    ("patients", "state", "State", "text", ("partner/state_id", "lead/state_id"), ""),
    ("patients", "country_code", "Country", "text", ("partner/country_id", "lead/country_id"), ""),
    ("patients", "notes", "Notes", "text", ("lead/description",), ""),
    ("patients", "occupation", "Occupation", "text", ("partner/function", "lead/function"), ""),
    ("patients", "archived_at", "Archived", "datetime", ("partner/active", "lead/active"), "R"),
    ("patients", "created_at", "Created in Cliniko", "datetime",
     ("partner/cliniko_created_at", "lead/cliniko_created_at"), ""),
    ("patients", "updated_at", "Updated in Cliniko", "datetime",
     ("partner/cliniko_updated_at", "lead/cliniko_updated_at"), ""),
    ("patients", "medicare", "Medicare number", "text", ("lead/cliniko_medicare_number",), ""),
    ("patients", "medicare_reference_number", "Medicare IRN", "text",
     ("lead/cliniko_medicare_irn",), ""),
    ("patients", "dva_card_number", "DVA card number", "text", ("lead/cliniko_dva_number",), ""),
    ("patients", "invoice_default_to", "Invoice to", "text",
     ("lead/cliniko_invoice_to", "lead/cliniko_insurer_id"), ""),
    ("patients", "invoice_email", "Invoice e-mail", "email", ("lead/cliniko_invoice_email",), ""),
    ("patients", "invoice_extra_information", "Invoice extra information", "text",
     ("lead/cliniko_invoice_extra_info",), ""),
    ("patients", "referral_source", "Referral source", "text",
     ("lead/cliniko_referral_source",), ""),
    ("patients", "referring_doctor", "Referring doctor", "link",
     ("lead/cliniko_referring_doctor_id",), ""),
    ("patients", "concession_type", "Concession type", "link",
     ("lead/cliniko_concession_type",), ""),
    ("patients", "emergency_contact", "Emergency contact", "text",
     ("lead/cliniko_emergency_contact",), ""),
    ("patients", "gender", "Gender", "text", ("lead/cliniko_gender",), ""),
    ("patients", "gender_identity", "Gender identity", "text",
     ("lead/cliniko_gender_identity",), ""),
    ("patients", "sex", "Sex", "text", ("lead/cliniko_sex",), ""),
    ("patients", "pronouns", "Pronouns", "text", ("lead/cliniko_pronouns",), ""),
    ("patients", "reminder_type", "Reminder type", "text", ("lead/cliniko_reminder_type",), ""),
    ("patients", "receives_confirmation_emails", "Receives confirmation e-mails", "boolean",
     ("lead/cliniko_receives_confirmation_emails",), ""),
    ("patients", "accepted_privacy_policy", "Accepted privacy policy", "boolean",
     ("lead/cliniko_accepted_privacy_policy",), ""),
    ("patients", "accepted_email_marketing", "Accepted e-mail marketing", "boolean",
     ("lead/cliniko_accepted_email_marketing",), ""),
    ("patients", "accepted_sms_marketing", "Accepted SMS marketing", "boolean",
     ("lead/cliniko_accepted_sms_marketing",), ""),
    ("patients", "time_zone", "Time zone", "text", ("lead/cliniko_time_zone",), ""),
    ("patients", "old_reference_id", "Old reference id", "text",
     ("lead/cliniko_old_reference_id",), ""),
    ("patients", "appointment_notes", "Appointment notes", "text",
     ("lead/cliniko_appointment_notes",), ""),
    ("patients", "custom_fields", "Custom fields (section)", "custom",
     ("lead/cliniko_custom_fields", "lead/cliniko_health_fund", "lead/cliniko_policy_number"), ""),
    ("patients", "(pipeline)", "Pipeline placement (team, stage, salesperson)", "default",
     ("lead/type", "lead/team_id", "lead/stage_id", "lead/user_id", "lead/probability",
      "lead/automated_probability"), "R"),
    # -- contacts: res.partner --
    ("contacts", "id", "Cliniko id", "id", ("partner/cliniko_contact_id",), "R"),
    ("contacts", "first_name", "Name (first, last or company)", "text",
     ("partner/name", "partner/is_company", "partner/company_name"), "R"),
    ("contacts", "type", "Contact type", "text", ("partner/cliniko_contact_type",), ""),
    ("contacts", "title", "Title", "text", ("partner/cliniko_contact_title",), ""),
    ("contacts", "preferred_name", "Preferred name", "text",
     ("partner/cliniko_contact_preferred_name",), ""),
    ("contacts", "email", "E-mail", "email", ("partner/email",), ""),
    ("contacts", "phone_numbers", "Phone numbers", "phone",
     ("partner/phone", "partner/cliniko_contact_phones"), ""),
    ("contacts", "occupation", "Occupation", "text", ("partner/function",), ""),
    ("contacts", "address_1", "Address line 1", "text", ("partner/street",), ""),
    ("contacts", "address_2", "Address lines 2 and 3", "text", ("partner/street2",), ""),
    ("contacts", "city", "City", "text", ("partner/city",), ""),
    ("contacts", "post_code", "Post code", "text", ("partner/zip",), ""),
    ("contacts", "country_code", "Country and state", "text",
     ("partner/country_id", "partner/state_id"), ""),
    ("contacts", "notes", "Notes", "text", ("partner/comment",), ""),
    ("contacts", "provider_number", "Provider number", "text",
     ("partner/cliniko_provider_number",), ""),
    ("contacts", "doctor_type", "Doctor type", "text", ("partner/cliniko_doctor_type",), ""),
    ("contacts", "archived_at", "Archived", "datetime", ("partner/active",), "R"),
    # -- businesses: cliniko.location --
    ("businesses", "id", "Cliniko id", "id", ("cliniko_id",), "R"),
    ("businesses", "business_name", "Name", "text", ("name",), "R"),
    ("businesses", "address_1", "Address line 1", "text", ("street",), ""),
    ("businesses", "address_2", "Address line 2", "text", ("street2",), ""),
    ("businesses", "city", "City", "text", ("city",), ""),
    ("businesses", "post_code", "Post code", "text", ("zip",), ""),
    ("businesses", "country_code", "Country and state", "text", ("country_id", "state_id"), ""),
    ("businesses", "time_zone_identifier", "Time zone", "text", ("tz",), ""),
    ("businesses", "email_reply_to", "E-mail", "email", ("email",), ""),
    ("businesses", "website_address", "Website", "text", ("website",), ""),
    ("businesses", "business_registration_value", "Registration", "text", ("registration",), ""),
    ("businesses", "contact_information", "Contact information", "text",
     ("contact_information",), ""),
    ("businesses", "archived_at", "Archived", "datetime", ("active",), "R"),
    # -- practitioners: an Odoo user (matched by e-mail, placeholder or none) --
    ("practitioners", "id", "Cliniko id", "id", ("user/cliniko_practitioner_id",), "R"),
    ("practitioners", "designation", "Designation", "text", ("user/cliniko_designation",), ""),
    ("practitioners", "active", "Active", "boolean", ("user/cliniko_practitioner_active",), ""),
    # -- billable items and products: product.template --
    ("billable_items", "name", "Name", "text", ("name",), "R"),
    ("billable_items", "item_code", "Item code", "text", ("default_code",), ""),
    ("billable_items", "price", "Price", "money", ("list_price",), ""),
    ("billable_items", "item_type", "Item type", "text", ("cliniko_item_type",), ""),
    ("billable_items", "tax", "Tax", "link", ("cliniko_tax_name", "cliniko_tax_rate"), ""),
    ("billable_items", "archived_at", "Archived", "datetime", ("active",), "R"),
    ("products", "name", "Name", "text", ("name",), "R"),
    ("products", "item_code", "Item code", "text", ("default_code",), ""),
    ("products", "price_ex_tax", "Price (excluding tax)", "money", ("list_price",), ""),
    ("products", "cost_price", "Cost price", "money", ("standard_price",), ""),
    ("products", "product_supplier_name", "Supplier", "text", ("cliniko_supplier_name",), ""),
    ("products", "serial_number", "Serial number", "text", ("cliniko_serial_number",), ""),
    ("products", "stock_level", "Stock level", "number", ("cliniko_stock_level",), ""),
    ("products", "notes", "Notes", "text", ("description",), ""),
    ("products", "archived_at", "Archived", "datetime", ("active",), "R"),
    # -- appointment types: cliniko.appointment.type --
    ("appointment_types", "id", "Cliniko id", "id", ("cliniko_id",), "R"),
    ("appointment_types", "name", "Name", "text", ("name",), "R"),
    ("appointment_types", "category", "Category", "text", ("category",), ""),
    ("appointment_types", "description", "Description", "text", ("description",), ""),
    ("appointment_types", "duration_in_minutes", "Duration (minutes)", "number",
     ("duration_minutes",), ""),
    ("appointment_types", "max_attendees", "Maximum attendees", "number", ("max_attendees",), ""),
    ("appointment_types", "color", "Colour", "text", ("color",), ""),
    ("appointment_types", "billable_item", "Default billable item or product", "link",
     ("product_id",), ""),
    ("appointment_types", "archived_at", "Archived", "datetime", ("active",), "R"),
    # -- visits: a crm.lead per appointment (and a calendar event), rendered as a whole --
    ("individual_appointments", "starts_at", "Start and end", "datetime",
     ("crm.lead:cliniko_starts_at",), "R"),
    ("individual_appointments", "patient", "Patient", "link", ("crm.lead:partner_id",), "R"),
    ("individual_appointments", "practitioner", "Practitioner", "link", ("crm.lead:user_id",), "R"),
    ("individual_appointments", "appointment_type", "Appointment type", "link",
     ("crm.lead:cliniko_appointment_type_id",), "R"),
    ("individual_appointments", "business", "Location", "link",
     ("crm.lead:cliniko_location_id",), "R"),
    ("individual_appointments", "notes", "Appointment notes", "text", ("crm.lead:description",),
     "R"),
    ("individual_appointments", "cancelled_at", "Cancellation and attendance", "datetime",
     ("crm.lead:stage_id",), "R"),
    ("group_appointments", "starts_at", "Group session", "datetime", ("calendar.event:start",),
     "R"),
    ("attendees", "patient", "Attendance of a patient", "link", ("crm.lead:partner_id",), "R"),
    # -- history: chatter messages on the patient's lead --
    ("treatment_notes", "content", "Treatment note", "text", ("mail.message:body",), "R"),
    ("communications", "content", "Message", "text", ("mail.message:body",), "R"),
    ("patient_forms", "content", "Completed form", "text", ("mail.message:body",), "R"),
    ("patient_attachments", "filename", "File name", "text", ("attachment/name",), "R"),
    ("patient_attachments", "description", "Description", "text", ("attachment/description",), ""),
    ("patient_attachments", "created_at", "Created in Cliniko", "datetime",
     ("attachment/cliniko_created_at",), ""),
    ("patient_attachments", "archived_at", "Archived in Cliniko", "datetime",
     ("attachment/cliniko_archived_at",), ""),
    # -- lead details --
    ("medical_alerts", "name", "Medical alert", "text", ("crm.lead:cliniko_medical_alerts",), "R"),
    ("patient_cases", "name", "Patient case", "text", ("crm.lead:cliniko_patient_case_data",),
     "R"),
    ("referral_sources", "referral_source_type", "Referral", "text",
     ("crm.lead:cliniko_referral_data",), "R"),
    # -- money: cliniko.invoice and its lines --
    ("invoices", "id", "Cliniko id", "id", ("cliniko_id",), "R"),
    ("invoices", "issue_date", "Issue date", "date", ("issue_date",), ""),
    ("invoices", "status", "Status", "text", ("status",), "R"),
    ("invoices", "closed_at", "Closed at", "datetime", ("closed_at",), ""),
    ("invoices", "total_amount", "Total", "money", ("total_amount",), "R"),
    ("invoices", "net_amount", "Net amount", "money", ("net_amount",), ""),
    ("invoices", "tax_amount", "Tax amount", "money", ("tax_amount",), ""),
    ("invoices", "discounted_amount", "Discounted amount", "money", ("discounted_amount",), ""),
    ("invoices", "invoice_to", "Invoice to", "text", ("invoice_to",), ""),
    ("invoices", "patient_extra_information", "Patient extra information", "text",
     ("patient_extra_information",), ""),
    ("invoices", "notes", "Notes", "text", ("notes",), ""),
    ("invoices", "online_payment_url", "Online payment URL", "text", ("online_payment_url",), ""),
    ("invoices", "patient", "Patient", "link", ("partner_id", "patient_lead_id"), "R"),
    ("invoices", "archived_at", "Archived", "datetime", ("active",), "R"),
    ("invoice_items", "id", "Cliniko id", "id", ("cliniko_id",), "R"),
    ("invoice_items", "name", "Name", "text", ("name",), ""),
    ("invoice_items", "code", "Code", "text", ("code",), ""),
    ("invoice_items", "quantity", "Quantity", "number", ("quantity",), ""),
    ("invoice_items", "unit_price", "Unit price", "money", ("unit_price",), ""),
    ("invoice_items", "net_price", "Net price", "money", ("net_price",), ""),
    ("invoice_items", "discount_percentage", "Discount %", "number", ("discount_percentage",), ""),
    ("invoice_items", "tax_amount", "Tax amount", "money", ("tax_amount",), ""),
    ("invoice_items", "total_including_tax", "Total including tax", "money",
     ("total_including_tax",), ""),
    ("invoice_items", "invoice", "Invoice", "link", ("invoice_id",), "R"),
)
# fmt: on

CUSTOM_PREFIX = "custom_fields."

# Odoo fields a custom patient field may be proposed for: stored, simple, written by no
# standard Cliniko field (a custom field never overwrites the patient's name or e-mail).
CANDIDATE_MODELS = ("crm.lead", "res.partner")
CANDIDATE_TYPES = ("char", "text", "html", "date", "datetime", "integer", "float", "monetary")
# Fields the importers fill from custom fields themselves: a custom field may go there.
CUSTOM_FIELD_TARGETS = ("crm.lead.cliniko_health_fund", "crm.lead.cliniko_policy_number")
# Standard Odoo contact fields a clinic may reasonably want filled (besides cliniko_*).
STANDARD_CANDIDATES = {
    "crm.lead": ("website", "mobile", "referred", "description", "email_cc"),
    "res.partner": ("website", "mobile", "vat", "ref", "company_registry", "comment"),
}
# Custom field type -> compatible Odoo field types.
TYPE_COMPATIBILITY = {
    "text": ("char", "text", "html"),
    "paragraph": ("text", "html", "char"),
    "date": ("date", "datetime", "char"),
    "number": ("integer", "float", "monetary", "char"),
    "checkboxes": ("char", "text"),
    "radiobuttons": ("char", "text"),
    "dropdown": ("char", "text"),
}
# Value profile -> Odoo field types it can go to, and name hints that confirm it.
PROFILE_TYPES = {
    "email": (("char",), ("email",)),
    "phone": (("char",), ("phone", "mobile")),
    "date": (("date", "datetime", "char"), ("date",)),
    "money": (("monetary", "float", "char"), ("amount", "price", "total")),
    "number": (("integer", "float", "char"), ("number", "count", "qty")),
}
STOP_WORDS = {"of", "the", "a", "an", "you", "we", "is", "are", "to", "do", "your", "cliniko"}
PROPOSE_AT = 70  # below this confidence, the custom field stays in the custom fields section

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[\d\s().-]{7,20}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(T[\d:]+Z?)?$|^\d{1,2}/\d{1,2}/\d{2,4}$")
MONEY_RE = re.compile(r"^[$€£]\s?-?\d[\d,]*(\.\d{1,2})?$|^-?\d[\d,]*\.\d{2}$")
NUMBER_RE = re.compile(r"^-?\d+([.,]\d+)?$")


def default_rows():
    """The default map as a list of dicts (one per source field)."""
    rows = []
    for sequence, (resource, source, label, kind, targets, flags) in enumerate(DEFAULT_MAP):
        rows.append(
            {
                "sequence": sequence * 10,
                "resource": resource,
                "source_path": "%s.%s" % (resource, source),
                "source_label": label,
                "source_type": kind,
                "targets": targets,
                "required": "R" in flags,
                "create_only": _create_only(resource, targets),
            }
        )
    return rows


def _create_only(resource, targets):
    create_only = graph.get(resource).create_only
    return bool(targets) and all(
        target_model_field(resource, target) in create_only for target in targets
    )


def target_model_field(resource, target):
    """``(model, field)`` of one target path."""
    if ":" in target:
        model, field = target.split(":", 1)
        return model, field
    if "/" in target:
        key, field = target.split("/", 1)
        return VALUE_MODELS[key], field
    return graph.get(resource).model, target


def value_profile(answers):
    """``(profile, share)``: what most non-empty answers look like (email, phone, date, money,
    number or text) and the share of answers that look so."""
    answers = [a for a in (text(a) for a in answers) if a]
    if not answers:
        return "empty", 0.0
    counts = Counter(_looks_like(answer) for answer in answers)
    profile, count = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[0]
    return profile, count / len(answers)


def _looks_like(answer):
    if EMAIL_RE.match(answer):
        return "email"
    if DATE_RE.match(answer):
        return "date"
    if MONEY_RE.match(answer):
        return "money"
    if NUMBER_RE.match(answer):
        return "number"
    if PHONE_RE.match(answer) and sum(ch.isdigit() for ch in answer) >= 7:
        return "phone"
    return "text"


def _words(value):
    return [w for w in re.findall(r"[a-z0-9]+", (value or "").lower()) if w not in STOP_WORDS]


def label_similarity(left, right):
    """0..1: half ``difflib``'s ratio of the normalised labels, half their shared words."""
    a, b = " ".join(_words(left)), " ".join(_words(right))
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    words_a, words_b = set(a.split()), set(b.split())
    shared = len(words_a & words_b) / len(words_a | words_b)
    return (ratio + shared) / 2


def propose_custom_field(field, candidates):
    """The proposal for one custom field.

    ``field`` is ``{"token", "label", "type", "answers": [...]}``; ``candidates`` a list of
    ``{"model", "name", "string", "type"}`` (the Odoo fields it may go to). Returns
    ``{"target_kind", "target_model", "target_field", "confidence", "reason", "profile"}``.
    """
    profile, share = value_profile(field["answers"])
    allowed = TYPE_COMPATIBILITY.get(field["type"], ("char", "text"))
    profile_types, hints = PROFILE_TYPES.get(profile, ((), ()))
    scored = []
    for candidate in candidates:
        if candidate["type"] not in allowed:
            continue
        if profile_types and share >= 0.8 and candidate["type"] not in profile_types:
            continue
        label = candidate["string"]
        short_name = candidate["name"].removeprefix("cliniko_").replace("_", " ")
        similarity = max(
            label_similarity(field["label"], label), label_similarity(field["label"], short_name)
        )
        bonus = 0.1 if hints and share >= 0.8 and any(h in candidate["name"] for h in hints) else 0
        score = min(1.0, similarity + bonus)
        scored.append((-score, candidate["model"], candidate["name"], candidate, similarity, bonus))
    scored.sort(key=lambda row: row[:3])
    profile_text = "%s (%d%% of %d answers)" % (
        profile,
        round(share * 100),
        len([a for a in field["answers"] if text(a)]),
    )
    if scored and -scored[0][0] * 100 >= PROPOSE_AT:
        score, _model, _name, best, similarity, bonus = scored[0]
        reason = "label %r is %d%% similar to %r (%s), type %s fits %s" % (
            field["label"],
            round(similarity * 100),
            best["string"],
            best["model"],
            field["type"],
            best["type"],
        )
        if bonus:
            reason += "; answers look like %s" % profile
        return {
            "target_kind": "odoo",
            "target_model": best["model"],
            "target_field": best["name"],
            "confidence": round(-score * 100),
            "reason": reason,
            "profile": profile_text,
        }
    if scored:
        score, _model, _name, best, _similarity, _bonus = scored[0]
        reason = "no Odoo field with a similar label (closest: %r, %d%%); kept as typed" % (
            best["string"],
            round(-score * 100),
        )
        confidence = round((1 + score) * 100)
    else:
        reason = "no Odoo field of a compatible type (%s); kept as typed" % field["type"]
        confidence = 100
    return {
        "target_kind": "keep",
        "target_model": False,
        "target_field": False,
        "confidence": confidence,
        "reason": reason,
        "profile": profile_text,
    }


def discover_custom_fields(patients, answer_of):
    """The custom patient fields present in ``patients`` (Cliniko records), in order of first
    appearance: ``[{"token", "label", "type", "section", "answers"}]``. ``answer_of(field)``
    gives the answer text of one field."""
    found = {}
    for patient in patients:
        for section in (patient.get("custom_fields") or {}).get("sections") or []:
            for field in section.get("fields") or []:
                token = text(field.get("token")) or text(field.get("name"))
                if not token:
                    continue
                entry = found.setdefault(
                    token,
                    {
                        "token": token,
                        "label": text(field.get("name")) or token,
                        "type": text(field.get("type")) or "text",
                        "section": text(section.get("name")) or "",
                        "answers": [],
                    },
                )
                entry["answers"].append(answer_of(field))
    return list(found.values())
