"""What Odoo must hold for a Cliniko record: the sign-off's rules, written apart from the importers.

The importers' mappers wrote the data; checking Odoo against those same mappers would check the
code against itself. These rules read the raw Cliniko JSON and state, from the product's
specification (README "What it does today" and "Appointments in detail"), what the migrated
records must hold. Nothing here imports an importer, ``values`` or ``rendering``: the few
parsers needed (Cliniko's timestamps and dates, whitespace, HTML to text, E.164 through
``phonenumbers``) are written again below, on purpose. No Odoo, no HTTP.

Each rule gives ``Fact`` rows: the Odoo record it is about (``target``), the field, the
Cliniko source path, the expected value and how it is compared (``rule``):

- ``equal``: the same value (empty text, None and False are all "empty");
- ``email``: the same address, case aside;
- ``number``: the same amount to the cent;
- ``text``: every fragment of Cliniko's text (an answer, a title, a message) appears, in
  order, in the HTML-stripped text of the Odoo value, whitespace aside;
- ``lines``: every expected phone number appears in the Odoo text;
- ``stage`` / ``user``: the value is a status / a Cliniko practitioner id, which verification
  resolves to the stage / the bound Odoo user before comparing.
"""

import re
from collections import namedtuple
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser

import phonenumbers

Fact = namedtuple("Fact", "target field source_path expected rule")

# The number the contact's phone shows: a mobile first (README "Patients": E.164 phones).
PHONE_PREFERENCE = ("Mobile", "Home", "Work", "Other", "Fax")
# Cliniko's invoice status codes.
INVOICE_STATUSES = {10: "open", 20: "paid", 30: "closed", 40: "open_credit"}
_SPACE = re.compile(r"\s+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Tags whose content is never text a reader sees (and the sanitizers drop).
_INVISIBLE = {"script", "style", "head", "title", "template", "iframe", "object", "embed"}


# -- plain parsers ------------------------------------------------------------------------------
def clean(value):
    """Text with its whitespace collapsed; None for empty."""
    if value is None or value is False or isinstance(value, (dict, list)):
        return None
    value = _SPACE.sub(" ", str(value)).strip()
    return value or None


def utc(value):
    """Cliniko's ISO 8601 timestamp as a naive UTC datetime (Odoo's convention)."""
    value = clean(value)
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def day(value):
    """A ``YYYY-MM-DD`` date, never shifted by a time zone; None when unreadable."""
    value = clean(value)
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def link(value):
    """The id at the end of a Cliniko link ``{"links": {"self": ".../patients/82"}}``."""
    if isinstance(value, dict):
        value = (value.get("links") or {}).get("self")
    if not value:
        return None
    return str(value).split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or None


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in _INVISIBLE
        self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in _INVISIBLE:
            self.hidden = max(0, self.hidden - 1)
        self.parts.append(" ")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def html_text(value):
    """The text a reader sees in an HTML fragment, whitespace collapsed ("" when none)."""
    if not value:
        return ""
    parser = _Text()
    parser.feed(str(value))
    parser.close()
    return clean("".join(parser.parts)) or ""


def phone(value, region):
    """A number in E.164 when ``phonenumbers`` reads it (national numbers in ``region``),
    else as typed."""
    value = clean(value)
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_possible_number(number):
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def amount(value):
    try:
        return float(Decimal(str(value).strip())) if value not in (None, "") else 0.0
    except InvalidOperation:
        return None


# -- comparison ---------------------------------------------------------------------------------
def _empty(value):
    return value in (None, False, "") or value == []


def matches(rule, expected, actual):
    """Whether ``actual`` (read from Odoo, plain values) holds what ``expected`` says."""
    if rule == "email":
        return (clean(expected) or "").lower() == (clean(actual) or "").lower()
    if rule == "number":
        return round(float(expected or 0), 2) == round(float(actual or 0), 2)
    if rule == "text":
        return contains_in_order(expected, html_text(actual))
    if rule == "lines":
        shown = actual or ""
        return all(number in shown for number in expected)
    if _empty(expected) and _empty(actual):
        return True
    if isinstance(expected, str) or isinstance(actual, str):
        return clean(expected) == clean(actual)
    return expected == actual


def contains_in_order(fragments, text):
    """Every fragment appears in ``text``, each after the previous one, whitespace aside."""
    position = 0
    for fragment in fragments:
        fragment = clean(html_text(fragment) if "<" in fragment else fragment)
        if not fragment:
            continue
        found = text.find(fragment, position)
        if found < 0:
            return False
        position = found + len(fragment)
    return True


# -- patients -----------------------------------------------------------------------------------
def preferred_phone(numbers):
    def rank(entry):
        kind = clean(entry.get("phone_type")) or ""
        return PHONE_PREFERENCE.index(kind) if kind in PHONE_PREFERENCE else len(PHONE_PREFERENCE)

    return sorted(numbers, key=rank)[0] if numbers else None


def patient(record, region=None):
    """The contact (``partner``) and the patient lead (``lead``) of a Cliniko patient."""
    first, last = clean(record.get("first_name")), clean(record.get("last_name"))
    name = " ".join(part for part in (first, last) if part)
    email = clean(record.get("email"))
    numbers = [
        entry
        for entry in (record.get("patient_phone_numbers") or [])
        if isinstance(entry, dict) and clean(entry.get("number"))
    ]
    best = preferred_phone(numbers)
    main_phone = phone(best.get("number"), region) if best else None
    street2 = ", ".join(
        part for part in (clean(record.get("address_2")), clean(record.get("address_3"))) if part
    )
    born = day(record.get("date_of_birth"))
    country = (clean(record.get("country_code")) or "").upper() or None
    if email and not _EMAIL.match(email):
        email_rule = "equal"  # kept exactly as typed
    else:
        email_rule = "email"
    facts = [
        Fact("partner", "name", "patients.first_name", name, "equal"),
        Fact("partner", "email", "patients.email", email, email_rule),
        Fact("partner", "phone", "patients.patient_phone_numbers", main_phone, "equal"),
        Fact("partner", "street", "patients.address_1", clean(record.get("address_1")), "equal"),
        Fact("partner", "street2", "patients.address_2", street2 or None, "equal"),
        Fact("partner", "city", "patients.city", clean(record.get("city")), "equal"),
        Fact("partner", "zip", "patients.post_code", clean(record.get("post_code")), "equal"),
        Fact("partner", "cliniko_date_of_birth", "patients.date_of_birth", born, "equal"),
        Fact("lead", "cliniko_first_name", "patients.first_name", first, "equal"),
        Fact("lead", "cliniko_last_name", "patients.last_name", last, "equal"),
        Fact("lead", "email_from", "patients.email", email, email_rule),
        Fact(
            "lead",
            "cliniko_phone_numbers",
            "patients.patient_phone_numbers",
            [phone(entry.get("number"), region) for entry in numbers],
            "lines",
        ),
        Fact("lead", "cliniko_date_of_birth", "patients.date_of_birth", born, "equal"),
    ]
    if country:
        facts.append(Fact("partner", "country_id", "patients.country_code", country, "equal"))
    return facts


# -- appointments -------------------------------------------------------------------------------
def schedule(booking):
    """``(start, end)`` in UTC: Cliniko's times; an end missing or before the start is the
    start (a calendar event cannot end before it begins)."""
    start = utc(booking.get("starts_at"))
    end = utc(booking.get("ends_at"))
    if start and (not end or end < start):
        end = start
    return start, end


def status(record, end, now, attendance=False):
    """README "Appointments in detail", the status table, judged at ``now``."""
    if clean(record.get("cancelled_at")):
        return "cancelled"
    if attendance:
        arrived, no_show = record.get("arrived") is True, record.get("arrived") is False
    else:
        arrived, no_show = bool(record.get("patient_arrived")), bool(record.get("did_not_arrive"))
    if no_show:
        return "did_not_arrive"
    if end and end <= now:
        return "completed"
    return "arrived" if arrived else "booked"


def appointment(record, booking, now, type_names, attendance=False):
    """The visit's lead: ``record`` is the appointment (or attendance), ``booking`` what holds
    its schedule (itself, or the group appointment); ``type_names`` maps Cliniko appointment
    type ids to their names; ``now`` is when the run judged the status."""
    start, end = schedule(booking)
    type_id = link(booking.get("appointment_type"))
    prefix = "attendees" if attendance else "individual_appointments"
    return [
        Fact(
            "visit",
            "stage_id",
            prefix + ".cancelled_at",
            status(record, end, now, attendance),
            "stage",
        ),
        Fact("visit", "cliniko_starts_at", prefix + ".starts_at", start, "equal"),
        Fact("visit", "cliniko_ends_at", prefix + ".ends_at", end, "equal"),
        Fact(
            "visit",
            "cliniko_appointment_type_id",
            prefix + ".appointment_type",
            type_names.get(type_id) if type_id else None,
            "equal",
        ),
        Fact(
            "visit", "user_id", prefix + ".practitioner", link(booking.get("practitioner")), "user"
        ),
        # its own calendar event (a group attendance shares its session's)
        Fact("event", "start", prefix + ".starts_at", start, "equal"),
        Fact("event", "stop", prefix + ".ends_at", end, "equal"),
    ]


def appointment_event(booking):
    """An appointment bound to its calendar event (the "lead per patient" mode)."""
    start, end = schedule(booking)
    return [
        Fact("visit", "start", "individual_appointments.starts_at", start, "equal"),
        Fact("visit", "stop", "individual_appointments.ends_at", end, "equal"),
        Fact(
            "visit",
            "user_id",
            "individual_appointments.practitioner",
            link(booking.get("practitioner")),
            "user",
        ),
    ]


# -- history ------------------------------------------------------------------------------------
def _answers(content):
    """The titles, questions and answers of a note's or form's structured content, in order."""
    parts = []
    sections = content.get("sections") if isinstance(content, dict) else None
    for section in sections or []:
        if not isinstance(section, dict):
            continue
        parts.append(clean(section.get("name")))
        for question in section.get("questions") or []:
            if not isinstance(question, dict):
                continue
            parts.append(clean(question.get("name")))
            answer = question.get("answer")
            if isinstance(answer, str) and clean(answer):
                parts.append(answer if "<" in answer else clean(answer))
            for choice in question.get("answers") or []:
                if isinstance(choice, dict) and choice.get("selected"):
                    parts.append(clean(choice.get("value")))
            other = question.get("other")
            if isinstance(other, dict) and other.get("selected"):
                parts.append(clean(other.get("value")))
    return [part for part in parts if part]


def history_text(resource, record):
    """The fragments of Cliniko's text the message's body must carry, in order."""
    if resource == "treatment_notes":
        return [part for part in [clean(record.get("title"))] if part] + _answers(
            record.get("content")
        )
    if resource == "patient_forms":
        return [part for part in [clean(record.get("name"))] if part] + _answers(
            record.get("content")
        )
    content = record.get("content")
    return [str(content)] if clean(content) else []


def history(resource, record):
    """The patient's chatter message: its original date (Cliniko's creation time) and text."""
    return [
        Fact(
            "message",
            "date",
            resource + ".created_at",
            utc(record.get("created_at")) or utc(record.get("updated_at")),
            "equal",
        ),
        Fact("message", "body", resource + ".content", history_text(resource, record), "text"),
    ]


# -- files and invoices ------------------------------------------------------------------------
def attachment(record, digest=None):
    """A file: its name, its size and (``digest``: what Cliniko serves now, read by the caller)
    the SHA-256 of its bytes."""
    size = record.get("size")
    try:
        size = int(size) if size not in (None, "") else None
    except (TypeError, ValueError):
        size = None
    facts = [
        Fact("file", "name", "patient_attachments.filename", clean(record.get("filename")), "equal")
    ]
    if size is not None:
        facts.append(Fact("file", "file_size", "patient_attachments.size", size, "equal"))
    if digest is not None:
        facts.append(Fact("file", "content_sha256", "patient_attachments.content", digest, "equal"))
    return facts


def invoice(record):
    number = record.get("number")
    try:
        code = int(record.get("status"))
    except (TypeError, ValueError):
        code = 0
    return [
        Fact(
            "invoice",
            "number",
            "invoices.number",
            str(number) if number not in (None, "") else None,
            "equal",
        ),
        Fact(
            "invoice", "issue_date", "invoices.issue_date", day(record.get("issue_date")), "equal"
        ),
        Fact(
            "invoice",
            "total_amount",
            "invoices.total_amount",
            amount(record.get("total_amount")),
            "number",
        ),
        Fact("invoice", "status", "invoices.status", INVOICE_STATUSES.get(code), "equal"),
    ]
