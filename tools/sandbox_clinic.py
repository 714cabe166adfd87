"""A deterministic, believable and MESSY Cliniko clinic for the sandbox server (no I/O).

``generate_clinic(seed, patients)`` builds a :class:`Clinic`. Same seed and size, same data,
whatever the wall clock says: the clinic owns its clock (``clinic.now``, fixed at
2026-11-01T00:00:00Z and moved only by ``clinic.tick``).

How records are stored
    ``clinic.resources[<resource>][<id>]`` is a plain dict in the API's field set (see the
    ``DEFAULTS`` table below), with IDs as strings, date-times as ``YYYY-MM-DDTHH:MM:SSZ``
    strings, dates as ``YYYY-MM-DD`` and money as decimal strings. Relations are stored as ID
    strings under ``<name>_id`` keys (``patient_id``, ``practitioner_id``, ...); has-many and
    ``links`` are not stored. ``clinic.render(resource, record, base_url)`` turns a stored record
    into exactly what the API serves (relation links, list links, ``links.self``) and
    ``clinic.get(resource, id)`` renders a copy against ``clinic.base_url``.

Every edge case a migration must cope with is planted even in a 12-patient clinic; their IDs are
in ``clinic.edge_cases`` (see ``EDGE_CASE_KEYS``).
"""

import bisect
import calendar
import copy
import gc
import hashlib
import random
import struct
import threading
import time
import uuid
import zlib
from datetime import UTC, datetime

# --------------------------------------------------------------------------------------------
# Time and formatting helpers

DEFAULT_NOW = calendar.timegm((2026, 11, 1, 0, 0, 0))
CLINIC_OPENED = calendar.timegm((2021, 9, 6, 0, 0, 0))
# Records created before this date keep short legacy IDs (QUIRKS B1: au1 switched 2022-02-28).
LEGACY_ID_CUTOFF = calendar.timegm((2022, 2, 28, 0, 0, 0))
SNOWFLAKE_EPOCH = calendar.timegm((2015, 1, 1, 0, 0, 0))
PRACTITIONERS_LEFT_AT = calendar.timegm((2024, 6, 30, 0, 0, 0))
OLD_ROOMS_CLOSED_AT = calendar.timegm((2023, 6, 30, 0, 0, 0))
HYDRO_ARCHIVED_AT = calendar.timegm((2023, 12, 1, 3, 0, 0))
DAY = 86400
MELBOURNE_OFFSET = 10 * 3600  # close enough for "which local day" questions

_DAYS = {}
_TIMES = ["T%02d:%02d:%02dZ" % (s // 3600, s // 60 % 60, s % 60) for s in range(DAY)]


def iso(t):
    """Epoch seconds -> ``YYYY-MM-DDTHH:MM:SSZ`` (None stays None)."""
    if t is None:
        return None
    d, s = divmod(int(t), DAY)
    day = _DAYS.get(d)
    if day is None:
        day = _DAYS[d] = time.strftime("%Y-%m-%d", time.gmtime(d * DAY))
    return day + _TIMES[s]


def iso_date(t):
    d = int(t) // DAY
    day = _DAYS.get(d)
    if day is None:
        day = _DAYS[d] = time.strftime("%Y-%m-%d", time.gmtime(d * DAY))
    return day


def parse_iso(text):
    """``YYYY-MM-DDTHH:MM:SSZ`` -> epoch seconds."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def money(cents):
    """Integer cents -> Cliniko's decimal string: 9500 -> "95.0", 9555 -> "95.55"."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    if frac == 0:
        return "%s%d.0" % (sign, whole)
    if frac % 10 == 0:
        return "%s%d.%d" % (sign, whole, frac // 10)
    return "%s%d.%02d" % (sign, whole, frac)


# --------------------------------------------------------------------------------------------
# Small real files for patient attachments


def png_bytes(width, height, rgb):
    """A valid RGB PNG with a simple diagonal pattern."""
    r, g, b = rgb
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            shade = (x + y) * 4 & 0xFF
            row += bytes(((r + shade) & 0xFF, g, (b - shade) & 0xFF))
        rows.append(bytes(row))

    def chunk(tag, data):
        return (
            struct.pack(">I", len(data))
            + tag
            + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def _pdf_text(text):
    text = text.encode("ascii", "replace").decode("ascii")
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(title, lines):
    """A minimal valid one-page PDF (Helvetica text) with a correct xref table."""
    ops = ["BT /F1 16 Tf 72 770 Td (%s) Tj /F1 11 Tf" % _pdf_text(title)]
    for line in lines:
        ops.append("0 -18 Td (%s) Tj" % _pdf_text(line))
    ops.append("ET")
    content = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Schema: stored field sets (with defaults), relations and list links

CANCELLATION_REASONS = {
    10: "Feeling Better",
    20: "Condition Worse",
    30: "Sick",
    31: "COVID-19 related",
    40: "Away",
    50: "Other",
    60: "Work",
}
INVOICE_STATUSES = {10: "Open", 20: "Paid", 30: "Closed", 40: "Open credit"}
COMMUNICATION_CATEGORIES = {
    1: "Appointment Reminder",
    3: "Invoice",
    4: "Appointment Confirmation",
    8: "Reply from Patient",
    12: "Memo",
    15: "Bulk Email",
    17: "Patient Form",
}
COMMUNICATION_TYPES = {1: "SMS", 2: "Email", 3: "Phone call", 4: "Other"}

_NO_REPEAT = {}

# fmt: off
DEFAULTS = {
    "patients": dict(
        id=None, created_at=None, updated_at=None, title="", first_name="", last_name="",
        preferred_first_name=None, label=None, pronouns=None, date_of_birth=None, gender=None,
        gender_identity=None, sex=None, email=None, address_1="", address_2="", address_3="",
        city="", state="", post_code="", country=None, country_code=None, patient_phone_numbers=[],
        emergency_contact="", occupation="", notes="", appointment_notes="", old_reference_id="",
        medicare="", medicare_reference_number="", dva_card_number="", invoice_default_to="",
        invoice_email="", invoice_extra_information="", concession_type_id=None,
        referring_doctor_id=None, referral_source="", reminder_type="SMS & Email",
        receives_confirmation_emails=True, accepted_privacy_policy=None,
        accepted_email_marketing=None, accepted_sms_marketing=None, time_zone=None,
        custom_fields=None, archived_at=None, deleted_at=None, merged_at=None,
        merged_with_patient_id=None,
    ),
    "individual_appointments": dict(
        id=None, created_at=None, updated_at=None, starts_at=None, ends_at=None, patient_id=None,
        patient_name="", practitioner_id=None, business_id=None, appointment_type_id=None,
        patient_case_id=None, notes=None, has_patient_appointment_notes=False,
        patient_arrived=False, did_not_arrive=False, email_reminder_sent=False,
        sms_reminder_sent=False, invoice_status=None, treatment_note_status=None,
        booking_ip_address=None, online_booking_policy_accepted=None, cancelled_at=None,
        cancellation_reason=None, cancellation_reason_description="", cancellation_note=None,
        repeat_rule=_NO_REPEAT, repeats=None, telehealth_url=None, deleted_at=None,
        archived_at=None,
    ),
    "group_appointments": dict(
        id=None, created_at=None, updated_at=None, starts_at=None, ends_at=None, max_attendees=1,
        notes=None, patient_ids=[], repeat_rule=_NO_REPEAT, repeats=None, appointment_type_id=None,
        business_id=None, practitioner_id=None, telehealth_url=None, deleted_at=None,
        archived_at=None,
    ),
    "attendees": dict(
        id=None, created_at=None, updated_at=None, arrived=None, booking_ip_address=None,
        cancellation_note=None, cancellation_reason=None, cancellation_reason_description="",
        cancellation_url=None, email_reminder_sent=False, sms_reminder_sent=False,
        sent_email_reminders_count=0, sent_sms_reminders_count=0, invoice_status=None, notes=None,
        online_booking_policy_accepted=None, treatment_note_status=None, telehealth_url=None,
        cancelled_at=None, deleted_at=None, archived_at=None, booking_id=None, patient_id=None,
        patient_case_id=None,
    ),
    "businesses": dict(
        id=None, created_at=None, updated_at=None, business_name="", display_name=None, label=None,
        address_1="", address_2=None, city="", state="", post_code="", country="",
        country_code=None, business_registration_name=None, business_registration_value=None,
        contact_information=None, email_reply_to=None, website_address=None,
        show_in_online_bookings=True, additional_information=None,
        additional_invoice_information=None, appointment_reminders_enabled=True,
        appointment_type_ids=[], time_zone=None, time_zone_identifier=None, archived_at=None,
        deleted_at=None,
    ),
    "users": dict(
        id=None, created_at=None, updated_at=None, title="", first_name="", last_name="",
        email=None, role="practitioner", time_zone="Melbourne",
        time_zone_identifier="Australia/Melbourne", user_active=True, active=True,
        phone_numbers=[],
    ),
    "practitioners": dict(
        id=None, created_at=None, updated_at=None, title="", first_name="", last_name="",
        label=None, display_name=None, designation=None, description=None,
        show_in_online_bookings=True, active=True, default_appointment_type_id=None, user_id=None,
    ),
    "practitioner_reference_numbers": dict(
        id=None, created_at=None, updated_at=None, name="Provider #", reference_number="",
        business_id=None, practitioner_id=None,
    ),
    "appointment_types": dict(
        id=None, created_at=None, updated_at=None, name="", description=None, category=None,
        color="#000000", duration_in_minutes=30, max_attendees=1, show_in_online_bookings=True,
        telehealth_enabled=False, online_payments_enabled=False, online_payments_mode=None,
        deposit_price=None, add_deposit_to_account_credit=None, online_bookings_lead_time_hours=0,
        appointment_confirmation_template_ids=[], appointment_reminder_template_ids=[],
        billable_item_id=None, product_id=None, treatment_note_template_id=None, archived_at=None,
    ),
    "billable_items": dict(
        id=None, created_at=None, updated_at=None, name="", item_code=None, item_type="Service",
        price="0.0", tax_id=None, archived_at=None,
    ),
    "products": dict(
        id=None, created_at=None, updated_at=None, name="", item_code=None, serial_number="",
        notes="", product_supplier_name="", cost_price="0.0", price_ex_tax="0.0",
        price_including_tax="0.0", stock_level=0, tax_id=None, archived_at=None,
    ),
    "taxes": dict(
        id=None, created_at=None, updated_at=None, name="", rate="0.0", amount="0.0",
    ),
    "contacts": dict(
        id=None, created_at=None, updated_at=None, title="", first_name="", last_name="",
        preferred_name="", company_name="", occupation="", email="", phone_numbers=[],
        address_1="", address_2="", address_3="", city="", state="", post_code="", country=None,
        country_code=None, notes="", provider_number="", type="Standard", type_code=0,
        doctor_type=None, archived_at=None, deleted_at=None,
    ),
    "concession_types": dict(
        id=None, created_at=None, updated_at=None, name="", archived_at=None,
    ),
    "referral_source_types": dict(
        id=None, created_at=None, updated_at=None, name="", referrer_type=None, subcategories=None,
        archived_at=None,
    ),
    "referral_sources": dict(
        id=None, created_at=None, updated_at=None, patient_id=None, referral_source_type_id=None,
        referrer_type=None, referrer_id=None, subcategory=None, notes=None,
    ),
    "treatment_note_templates": dict(
        id=None, created_at=None, updated_at=None, name="", content=None, print_settings=None,
        archived_at=None, deleted_at=None,
    ),
    "treatment_notes": dict(
        id=None, created_at=None, updated_at=None, title="", content=None, draft=False,
        author_name="", patient_id=None, practitioner_id=None, treatment_note_template_id=None,
        booking_id=None, attendee_id=None, finalized_at=None, pinned_at=None, archived_at=None,
        deleted_at=None,
    ),
    "invoices": dict(
        id=None, created_at=None, updated_at=None, number=None, issue_date=None, status=10,
        status_description="Open", closed_at=None, total_amount="0.0", net_amount="0.0",
        tax_amount="0.0", discounted_amount="0.0", invoice_to=None, patient_extra_information=None,
        notes=None, online_payment_url=None, patient_id=None, business_id=None,
        practitioner_id=None, appointment_id=None, attendee_id=None, archived_at=None,
        deleted_at=None,
    ),
    "invoice_items": dict(
        id=None, created_at=None, updated_at=None, name="", code=None, quantity=1,
        unit_price="0.0", net_price="0.0", discount_percentage="0.0", discounted_amount="0.0",
        is_monetary_discount=False, concession_type_name="", tax_name=None, tax_rate="0.0",
        tax_amount="0.0", total_including_tax="0.0", invoice_id=None, billable_item_id=None,
        product_id=None, archived_at=None, deleted_at=None,
    ),
    "communications": dict(
        id=None, created_at=None, updated_at=None, category="Memo", category_code=12, type="Other",
        type_code=4, direction_code=1, direction_description="Sent", to=None, content=None,
        patient_id=None, booking_id=None, attendee_id=None, invoice_id=None, archived_at=None,
        deleted_at=None, **{"from": None},
    ),
    "patient_attachments": dict(
        id=None, created_at=None, updated_at=None, filename=None, content_type=None, size=None,
        description=None, processing_completed=False, processed_at=None, pinned_at=None,
        patient_id=None, user_id=None, archived_at=None,
    ),
    "patient_form_templates": dict(
        id=None, created_at=None, updated_at=None, name="", content=None,
        restricted_to_practitioner=False, archived_at=None,
    ),
    "patient_forms": dict(
        id=None, created_at=None, updated_at=None, name="", restricted_to_practitioner=False,
        url=None, completed_at=None, content=None, signatures=None, patient_id=None,
        attendee_id=None, booking_id=None, archived_at=None,
    ),
    "medical_alerts": dict(
        id=None, created_at=None, updated_at=None, name="", patient_id=None, archived_at=None,
        deleted_at=None,
    ),
    "patient_cases": dict(
        id=None, created_at=None, updated_at=None, name="", notes=None, issue_date=None,
        expiry_date=None, max_sessions=None, max_invoiceable_amount=None, closed=False,
        closed_at=None, include_cancelled_attendees=None, include_dna_attendees=None,
        referral=False, referral_type=None, attendee_ids=[], patient_id=None, contact_id=None,
        archived_at=None,
    ),
}
# fmt: on
# communications: "content_subject" (e-mail) and "confidential" (memo) only exist on their shapes
RESOURCE_NAMES = tuple(DEFAULTS)
_MUTABLE_DEFAULTS = {  # resource -> ((key, list or dict), ...): never share these between records
    name: tuple((k, type(v)) for k, v in fields.items() if isinstance(v, (list, dict)))
    for name, fields in DEFAULTS.items()
}

# foreign key -> (rendered name, target resource)
FOREIGN_KEYS = {
    "patient_id": ("patient", "patients"),
    "practitioner_id": ("practitioner", "practitioners"),
    "business_id": ("business", "businesses"),
    "appointment_type_id": ("appointment_type", "appointment_types"),
    "default_appointment_type_id": ("default_appointment_type", "appointment_types"),
    "patient_case_id": ("patient_case", "patient_cases"),
    "booking_id": ("booking", "bookings"),
    "attendee_id": ("attendee", "attendees"),
    "invoice_id": ("invoice", "invoices"),
    "appointment_id": ("appointment", "appointments"),  # the legacy /appointments route
    "tax_id": ("tax", "taxes"),
    "user_id": ("user", "users"),
    "contact_id": ("contact", "contacts"),
    "treatment_note_template_id": ("treatment_note_template", "treatment_note_templates"),
    "billable_item_id": ("billable_item", "billable_items"),
    "product_id": ("product", "products"),
    "concession_type_id": ("concession_type", "concession_types"),
    "referring_doctor_id": ("referring_doctor", "contacts"),
    "merged_with_patient_id": ("merged_with_patient", "patients"),
    "referral_source_type_id": ("referral_source_type", "referral_source_types"),
}
# (resource, foreign key) pairs left OUT of the output when empty (others render as null)
OPTIONAL_RELATIONS = {
    ("invoices", "appointment_id"),
    ("invoices", "practitioner_id"),
    ("invoices", "attendee_id"),
    ("treatment_notes", "booking_id"),
    ("treatment_notes", "attendee_id"),
    ("invoice_items", "billable_item_id"),
    ("invoice_items", "product_id"),
    ("communications", "booking_id"),
    ("communications", "attendee_id"),
    ("communications", "invoice_id"),
    ("patient_forms", "attendee_id"),
    ("patient_forms", "booking_id"),
    ("individual_appointments", "patient_case_id"),
    ("attendees", "patient_case_id"),
}
# has-many relations: rendered as links to list URLs that the sandbox serves
LIST_LINKS = {
    "patients": {
        "medical_alerts": "/patients/{id}/medical_alerts?page=1",
        "invoices": "/patients/{id}/invoices?page=1",
        "appointments": "/patients/{id}/appointments?page=1",
    },
    "individual_appointments": {
        "conflicts": "/individual_appointments/{id}/conflicts",
        "attendees": "/individual_appointments/{id}/attendees",
    },
    "group_appointments": {
        "conflicts": "/group_appointments/{id}/conflicts",
        "attendees": "/group_appointments/{id}/attendees",
    },
    "attendees": {
        "invoices": "/attendees/{id}/invoices",
        "patient_forms": "/attendees/{id}/patient_forms",
    },
    "businesses": {
        "practitioners": "/businesses/{id}/practitioners",
        "appointments": "/businesses/{id}/appointments?page=1",
    },
    "practitioners": {
        "practitioner_reference_numbers": (
            "/practitioners/{id}/practitioner_reference_numbers?page=1"
        ),
        "appointments": "/practitioners/{id}/appointments?page=1",
        "invoices": "/practitioners/{id}/invoices?page=1",
        "appointment_types": "/practitioners/{id}/appointment_types",
    },
    "appointment_types": {"practitioners": "/appointment_types/{id}/practitioners"},
    "invoices": {"invoice_items": "/invoices/{id}/invoice_items"},
    "patient_attachments": {"content": "/patient_attachments/{id}/content"},
    "patient_cases": {
        "attendees": "/patient_cases/{id}/attendees",
        "bookings": "/patient_cases/{id}/bookings",
        "patient_attachments": "/patient_cases/{id}/patient_attachments",
        "invoices": "/patient_cases/{id}/invoices",
    },
}
# children that follow a patient when patients are merged
# fmt: off
PATIENT_CHILDREN = (
    "individual_appointments", "attendees", "invoices", "treatment_notes", "communications",
    "medical_alerts", "patient_attachments", "patient_forms", "patient_cases", "referral_sources",
)
# fmt: on

# fmt: off
EDGE_CASE_KEYS = (
    "legacy_id_patient", "only_last_name", "unicode_name", "cjk_name", "unparseable_phone",
    "international_phone", "invalid_email", "messy_email", "duplicate_email", "duplicate_phone",
    "archived_patient", "merged_patient", "merged_into", "deleted_patient", "sparse_patient",
    "patient_without_appointments", "medicare_without_irn", "regular_patient",
    "orphan_appointment", "orphan_patient_id", "cancelled_appointment",
    "did_not_arrive_appointment", "future_appointment", "deleted_appointment",
    "arrived_appointment", "long_treatment_note", "draft_treatment_note", "deleted_treatment_note",
    "unlinked_treatment_note", "deleted_invoice", "invoice_without_appointment",
    "group_appointment", "deleted_group_appointment", "cancelled_attendee", "attachments",
    "deleted_medical_alert", "patient_case", "inactive_practitioner", "practitioner_without_email",
    "practitioner_unusual_email", "archived_appointment_type", "group_appointment_type",
    "archived_business", "memo_communication",
    "deleted_treatment_note_template",
)
# fmt: on


def new_record(resource, **fields):
    """A stored record of ``resource`` with every field of its shape (defaults) plus ``fields``."""
    defaults = DEFAULTS[resource]
    record = defaults.copy()
    record.update(fields)
    for key, factory in _MUTABLE_DEFAULTS[resource]:
        if record[key] is defaults[key]:
            record[key] = factory()
    return record


def snowflake(t, seq, jitter_ms):
    """A Cliniko-style 18-19 digit ID that grows with its creation time."""
    ms = (int(t) - SNOWFLAKE_EPOCH) * 1000 + jitter_ms
    return str((ms << 22) | (seq & 0x3FFFFF))


# --------------------------------------------------------------------------------------------
# The clinic


class Clinic:
    """The live data of one Cliniko account. Mutations go through the helpers (thread-safe)."""

    def __init__(self, seed=1, shard="au1", now=DEFAULT_NOW):
        self.seed = seed
        self.shard = shard
        self.resources = {name: {} for name in RESOURCE_NAMES}
        self.files = {}  # patient attachment id -> bytes
        self.settings = {}
        self.edge_cases = {}
        self.key_owner_id = None  # the user who owns the API key
        self.subdomain = "clinic"
        self.base_url = "https://api.%s.cliniko.com/v1" % shard
        self.version = 0  # bumped by every helper; the server caches big lists by it
        self.lock = threading.RLock()
        self._now = now
        self._id_rng = random.Random("cliniko-sandbox-ids:%s" % seed)
        self._seq = 1 << 21
        self._file_index = {}

    # -- clock ------------------------------------------------------------------------------
    @property
    def now(self):
        return datetime.fromtimestamp(self._now, tz=UTC)

    @now.setter
    def now(self, value):
        self._now = value.timestamp() if isinstance(value, datetime) else value

    def now_iso(self):
        return iso(self._now)

    def tick(self, seconds=1):
        """Move the clinic's clock forward."""
        with self.lock:
            self._now += seconds
        return self.now

    def touch(self):
        """Call after editing ``resources`` by hand so cached list answers are dropped."""
        with self.lock:
            self.version += 1

    # -- reading ------------------------------------------------------------------------------
    def get(self, resource, record_id, base_url=None):
        """The record as the API serves it (deep copy), whatever its lifecycle; None if unknown."""
        with self.lock:
            record = self.resources[resource].get(str(record_id))
            if record is None:
                return None
            return copy.deepcopy(self.render(resource, record, base_url))

    def render(self, resource, record, base_url=None):
        """A stored record -> the API's JSON shape, links made absolute against ``base_url``."""
        base = (base_url or self.base_url).rstrip("/")
        out = {}
        for key, value in record.items():
            relation = FOREIGN_KEYS.get(key)
            if relation is None:
                out[key] = value
                continue
            name, target = relation
            if value is None or value == "":
                if (resource, key) not in OPTIONAL_RELATIONS:
                    out[name] = None
                continue
            out[name] = {"links": {"self": "%s/%s/%s" % (base, target, value)}}
        record_id = record.get("id")
        for name, template in LIST_LINKS.get(resource, {}).items():
            out[name] = {"links": {"self": base + template.format(id=record_id)}}
        if resource == "referral_sources":
            referrer = out.pop("referrer_id", None)
            target = {"Patient": "patients", "Contact": "contacts"}.get(record.get("referrer_type"))
            out["referrer"] = (
                {"links": {"self": "%s/%s/%s" % (base, target, referrer)}}
                if referrer and target
                else None
            )
            out["links"] = {"self": "%s/patients/%s/referral_source" % (base, record["patient_id"])}
            return out
        if resource == "referral_source_types":
            target = {"Patient": "patients", "Contact": "contacts"}.get(record.get("referrer_type"))
            out["referrers"] = {"links": {"self": "%s/%s" % (base, target)}} if target else None
        elif resource == "patient_forms" and record.get("signatures"):
            out["signatures"] = [
                {"links": {"self": "%s/patient_forms/%s/signatures/%s" % (base, record_id, sig)}}
                for sig in record["signatures"]
            ]
        out["links"] = {"self": "%s/%s/%s" % (base, resource, record_id)}
        return out

    # -- files --------------------------------------------------------------------------------
    def file_token(self, attachment_id):
        """The unguessable-ish token of an attachment's download URL (derived from seed + id)."""
        digest = hashlib.sha256(
            ("cliniko-sandbox-file:%s:%s" % (self.seed, attachment_id)).encode()
        ).hexdigest()
        return digest[:40]

    def find_file(self, token):
        """(attachment record, bytes) for a download token, or None."""
        with self.lock:
            attachment_id = self._file_index.get(token)
            if attachment_id is None:
                self._file_index = {self.file_token(aid): aid for aid in self.files}
                attachment_id = self._file_index.get(token)
            record = self.resources["patient_attachments"].get(attachment_id or "")
            if record is None or attachment_id not in self.files:
                return None
            return record, self.files[attachment_id]

    # -- mutation helpers (each bumps updated_at to clinic.now) -------------------------------
    def new_id(self):
        with self.lock:
            while True:
                self._seq += 1
                candidate = snowflake(self._now, self._seq, self._id_rng.randrange(1000))
                if not any(candidate in store for store in self.resources.values()):
                    return candidate

    def create(self, resource, **fields):  # pylint: disable=method-required-super
        """Add a record created now; returns the stored record."""
        with self.lock:
            stamp = iso(self._now)
            record = new_record(resource, id=self.new_id(), created_at=stamp, updated_at=stamp)
            record.update(fields)
            if resource == "patients" and not fields.get("label"):
                record["label"] = _label(record)
            self.resources[resource][record["id"]] = record
            if resource == "individual_appointments" and "booking_id" not in fields:
                self.create(
                    "attendees",
                    booking_id=record["id"],
                    patient_id=record.get("patient_id"),
                    arrived=record.get("patient_arrived") or None,
                )
            if resource == "patient_attachments" and "data" in fields:
                data = record.pop("data")
                self.files[record["id"]] = data
                record["size"] = len(data)
                record["processing_completed"] = True
                record["processed_at"] = stamp
            self.version += 1
            return record

    def add_attachment(self, patient_id, filename, content_type, data, description=None):
        """A processed patient attachment holding ``data``."""
        return self.create(
            "patient_attachments",
            patient_id=patient_id,
            filename=filename,
            content_type=content_type,
            description=description,
            data=data,
        )

    def update(self, resource, record_id, **fields):
        with self.lock:
            record = self.resources[resource][str(record_id)]
            record.update(fields)
            if (
                resource == "patients"
                and ({"first_name", "last_name", "preferred_first_name"} & set(fields))
                and "label" not in fields
            ):
                record["label"] = _label(record)
            record["updated_at"] = iso(self._now)
            self.version += 1
            return record

    def archive(self, resource, record_id):
        with self.lock:
            changes = {"archived_at": iso(self._now)}
            if resource == "practitioners":
                changes = {"active": False}
            elif resource == "users":
                changes = {"active": False, "user_active": False}
            return self.update(resource, record_id, **changes)

    def unarchive(self, resource, record_id):
        with self.lock:
            if resource in ("practitioners", "users"):
                return self.update(resource, record_id, active=True)
            return self.update(resource, record_id, archived_at=None)

    def cancel(self, resource, record_id, reason=50, note=""):
        """Cancel an individual appointment (and its attendee) or a group attendee."""
        if resource not in ("individual_appointments", "attendees"):
            raise ValueError("only individual_appointments and attendees can be cancelled")
        with self.lock:
            changes = {
                "cancelled_at": iso(self._now),
                "cancellation_reason": reason,
                "cancellation_reason_description": CANCELLATION_REASONS.get(reason, "Other"),
                "cancellation_note": note,
            }
            record = self.update(resource, record_id, **changes)
            if resource == "individual_appointments":
                for attendee in self._attendees_of(record["id"]):
                    self.update("attendees", attendee["id"], **changes)
            else:
                group = self.resources["group_appointments"].get(record.get("booking_id") or "")
                if group is not None and record.get("patient_id") in group["patient_ids"]:
                    ids = [p for p in group["patient_ids"] if p != record["patient_id"]]
                    self.update("group_appointments", group["id"], patient_ids=ids)
            return record

    def delete(self, resource, record_id):
        """Soft-delete: ``deleted_at`` is set and the record moves to the /deleted lists."""
        with self.lock:
            stamp = iso(self._now)
            record = self.update(resource, record_id, deleted_at=stamp)
            if resource in ("individual_appointments", "group_appointments"):
                for attendee in self._attendees_of(record["id"]):
                    self.update("attendees", attendee["id"], deleted_at=stamp)
            elif resource == "invoices":
                for item in list(self.resources["invoice_items"].values()):
                    if item["invoice_id"] == record["id"]:
                        self.update("invoice_items", item["id"], deleted_at=stamp)
            return record

    def merge_patients(self, loser_id, winner_id):
        """Merge ``loser_id`` into ``winner_id``: children move, the loser is archived."""
        with self.lock:
            loser_id, winner_id = str(loser_id), str(winner_id)
            winner = self.resources["patients"][winner_id]
            stamp = iso(self._now)
            for resource in PATIENT_CHILDREN:
                for record in list(self.resources[resource].values()):
                    if record.get("patient_id") == loser_id:
                        changes = {"patient_id": winner_id}
                        if "patient_name" in record:
                            changes["patient_name"] = _full_name(winner)
                        self.update(resource, record["id"], **changes)
            for group in list(self.resources["group_appointments"].values()):
                if loser_id in group["patient_ids"]:
                    ids = [winner_id if p == loser_id else p for p in group["patient_ids"]]
                    self.update(
                        "group_appointments", group["id"], patient_ids=list(dict.fromkeys(ids))
                    )
            return self.update(
                "patients",
                loser_id,
                merged_at=stamp,
                archived_at=stamp,
                merged_with_patient_id=winner_id,
            )

    def _attendees_of(self, booking_id):
        return [a for a in self.resources["attendees"].values() if a["booking_id"] == booking_id]


def _full_name(patient):
    return " ".join(
        filter(
            None,
            [(patient.get("first_name") or "").strip(), (patient.get("last_name") or "").strip()],
        )
    )


def _slug(text):
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


def _label(patient):
    first = (patient.get("preferred_first_name") or patient.get("first_name") or "").strip()
    return " ".join(filter(None, [first, (patient.get("last_name") or "").strip()]))


# --------------------------------------------------------------------------------------------
# Vocabulary for the generator

# (as typed, ASCII for e-mail addresses)
# fmt: off
FIRST_NAMES = [
    ("Olivia", "olivia"), ("Jack", "jack"), ("Charlotte", "charlotte"), ("William", "william"),
    ("Mia", "mia"), ("Noah", "noah"), ("Amelia", "amelia"), ("Oliver", "oliver"), ("Isla", "isla"),
    ("Thomas", "thomas"), ("Grace", "grace"), ("Lachlan", "lachlan"), ("Chloe", "chloe"),
    ("Liam", "liam"), ("Ruby", "ruby"), ("Ethan", "ethan"), ("Sophie", "sophie"),
    ("James", "james"), ("Emily", "emily"), ("Harry", "harry"), ("Jane", "jane"),
    ("Peter", "peter"), ("Margaret", "margaret"), ("Robert", "robert"), ("Zoë", "zoe"),
    ("José", "jose"), ("Siobhán", "siobhan"), ("Renée", "renee"), ("Chloé", "chloe"),
    ("Søren", "soren"), ("Björn", "bjorn"), ("Anaïs", "anais"), ("Łukasz", "lukasz"),
    ("Priya", "priya"), ("Aroha", "aroha"), ("Mohammed", "mohammed"), ("Fatima", "fatima"),
    ("Wei", "wei"), ("Thanh", "thanh"), ("Ngọc Anh", "ngocanh"), ("Hemi", "hemi"),
    ("Seán", "sean"), ("Niamh", "niamh"), ("François", "francois"), ("Ana", "ana"),
    ("Leilani", "leilani"), ("Yuki", "yuki"), ("Matías", "matias"), ("Ioana", "ioana"),
    ("Dmitri", "dmitri"),
]
LAST_NAMES = [
    ("Smith", "smith"), ("Jones", "jones"), ("Williams", "williams"), ("Brown", "brown"),
    ("Wilson", "wilson"), ("Taylor", "taylor"), ("Johnson", "johnson"), ("White", "white"),
    ("Martin", "martin"), ("Anderson", "anderson"), ("Thompson", "thompson"), ("Nguyen", "nguyen"),
    ("Nguyễn", "nguyen"), ("Trần", "tran"), ("Lê", "le"), ("Ōtsuka", "otsuka"),
    ("O'Brien", "obrien"), ("Ó Súilleabháin", "osuilleabhain"), ("MacDonald", "macdonald"),
    ("van der Berg", "vanderberg"), ("Müller", "muller"), ("García", "garcia"),
    ("Kowalski", "kowalski"), ("Papadopoulos", "papadopoulos"), ("Singh", "singh"),
    ("Patel", "patel"), ("Kaur", "kaur"), ("Rossi", "rossi"), ("Ngata", "ngata"),
    ("Te Rangi", "terangi"), ("Walker", "walker"), ("Hall", "hall"), ("Young", "young"),
    ("King", "king"), ("Wright", "wright"), ("Scott", "scott"), ("Green", "green"),
    ("Baker", "baker"), ("Mitchell", "mitchell"), ("Campbell", "campbell"), ("Kelly", "kelly"),
    ("Murphy", "murphy"), ("Ryan", "ryan"), ("Chen", "chen"), ("Kim", "kim"), ("Park", "park"),
    ("Lee", "lee"), ("de la Cruz", "delacruz"), ("Smith-Jones", "smithjones"), ("Doe", "doe"),
]
# fmt: on
# fmt: off
NICKNAMES = {
    "William": "Will", "Margaret": "Maggie", "Robert": "Bob", "Thomas": "Tom", "James": "Jim",
    "Charlotte": "Lottie", "Oliver": "Ollie", "Lachlan": "Lachie", "Amelia": "Millie",
    "Peter": "Pete", "Emily": "Em", "Mohammed": "Mo", "Siobhán": "Shiv", "Łukasz": "Luke",
    "Dmitri": "Dima", "Matías": "Mati", "Zoë": "Zo",
}
# fmt: on
# about one patient in five has a name that is not plain ASCII
_FIRST_NAMES_PLAIN = [n for n in FIRST_NAMES if n[0].isascii()]
_FIRST_NAMES_ACCENTED = [n for n in FIRST_NAMES if not n[0].isascii()]
_LAST_NAMES_PLAIN = [n for n in LAST_NAMES if n[0].isascii()]
_LAST_NAMES_ACCENTED = [n for n in LAST_NAMES if not n[0].isascii()]
# (first, last, ascii first, ascii last)
# fmt: off
CJK_NAMES = [
    ("芳", "王", "fang", "wang"), ("伟", "张", "wei", "zhang"), ("秀英", "李", "xiuying", "li"),
    ("花子", "佐藤", "hanako", "sato"), ("민준", "김", "minjun", "kim"),
]
TITLES = [
    "", "", "", "", "", "", "Mr", "Mrs", "Ms", "Miss", "Dr", "Mx", "Mr.", "Prof",
]
EMAIL_DOMAINS = [
    "example.com", "example.net", "example.org", "mail.example.com", "inbox.example.net",
    "example.com.au",
]
INVALID_EMAILS = [
    "jane@", "not an email", "bob@gmail", "mary at example.com", "n/a",
]
UNPARSEABLE_PHONES = [
    "ask reception", "12", "n/a", "see notes", "000",
]
AU_MOBILE_PREFIXES = [
    "00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15",
    "16", "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31",
    "32", "33", "34", "35", "38", "39", "60", "61", "66", "67", "68", "69",
]
# fmt: on
# (city, state as typed, post code)
# fmt: off
AU_PLACES = [
    ("Melbourne", "VIC", "3000"), ("Fitzroy", "Victoria", "3065"), ("Richmond", "VIC", "3121"),
    ("Brunswick", "Vic", "3056"), ("Carlton North", "VIC", "3054"), ("St Kilda", "VIC", "3182"),
    ("Collingwood", "Victoria", "3066"), ("Northcote", "VIC", "3070"), ("Geelong", "VIC", "3220"),
    ("Ballarat", "Victoria", "3350"), ("Sydney", "NSW", "2000"),
    ("Bondi", "New South Wales", "2026"), ("Newtown", "NSW", "2042"), ("Brisbane", "QLD", "4000"),
    ("Perth", "WA", "6000"), ("Hobart", "Tasmania", "7000"), ("Adelaide", "SA", "5000"),
    ("Canberra", "ACT", "2600"),
]
INTERNATIONAL_PLACES = [
    ("London", "", "SE1 2PF", "United Kingdom", "GB"),
    ("Auckland", "Auckland", "1011", "New Zealand", "NZ"),
    ("Wellington", "", "6011", "New Zealand", "NZ"),
]
STREETS = [
    "Smith Street", "Brunswick St", "Lygon Street", "Chapel St", "High Street", "Sydney Road",
    "Nicholson Street", "Station St", "Church Street", "Queens Parade", "Johnston St",
    "Gertrude Street", "Rathdowne St", "Swan Street", "Victoria Pde",
]
OCCUPATIONS = [
    "Teacher", "Nurse", "Software developer", "Retired", "Student", "Electrician", "Barista",
    "Accountant", "Chef", "Builder", "Graphic designer", "Lawyer",
]
# fmt: on
PATIENT_NOTES = [
    "Prefers afternoon appointments.",
    "Parking at rear — ask for the gate code.\nHard of hearing, speak clearly.",
    "Pays by card only.",
    "Interpreter needed (Vietnamese).",
    "Referred by her sister.\r\nLikes to be called in the car park when ready.",
    "Do NOT book with Tom — conflict of interest.",
    "Needs ground-floor room (walker).",
]
MEDICAL_ALERTS = [
    "Allergic to latex",
    "Pacemaker — no TENS",
    "Type 2 diabetes",
    "Anticoagulants (warfarin)",
    "Osteoporosis",
    "Epilepsy",
    "Pregnant (2nd trimester)",
    "Anaphylaxis: peanuts — EpiPen in bag",
]
COMPLAINTS = [
    "Lower back pain after gardening",
    "Right shoulder pain reaching overhead",
    "Left knee swelling after running",
    "Neck stiffness and headaches (desk work)",
    "Ankle sprain playing netball",
    "Hip pain climbing stairs",
    "Tennis elbow (R)",
    "Post-op ACL rehab, week 6",
    "Plantar fasciitis, worse first thing in the morning",
]
TREATMENTS = [
    "Soft tissue massage to upper traps, thoracic mobilisation grade III.",
    "Dry needling L glute med x2, lumbar rotations.",
    "Taping for patellar tracking.",
    "Graded loading programme reviewed; progressed to single-leg squats.",
    "Education re: pacing & sleep; heat pack 10 min.",
]
# fmt: off
REGIONS = [
    "Neck", "Shoulder", "Upper back", "Lower back", "Hip", "Knee", "Ankle/foot",
]
# fmt: on
LONG_NOTE_SENTENCES = [
    "Pt reports pain reduced from 7/10 to 4/10 since the last session; sleep improving.",
    "Observed antalgic gait on arrival, resolved after 10 min of mobility work.",
    "ROM: flexion 110°, extension 20°, abduction 95° with painful arc 70–110°.",
    "Discussed work set-up: monitor raised, chair height adjusted, breaks every 45 min.",
    "Strength 4/5 hip abductors (L) &lt; (R); reviewed clamshells &amp; side bridges.",
    "<b>Plan:</b> continue HEP, progress load by ~10% weekly if pain &lt; 3/10 next day.",
    "Explained the difference between hurt and harm; pt receptive, questions answered.",
    "Manual therapy: PA glides T4–T8, soft tissue release to levator scapulae.",
    "Pt asked about imaging — not indicated at this stage, will review in 2 weeks.",
    "Liaised with GP (Dr Patel) re: medication; letter to follow.<br>No red flags.",
    "Taping applied for proprioceptive feedback; skin checked, no reaction last time.",
    "Pt will trial walking 20 min daily on flat ground, avoid hills for now.",
]
# fmt: off
COMMUNICATION_REPLIES = [
    "Y", "Yes thanks", "Running 5 min late sorry!", "Can I move to 3pm?", "N", "👍",
]
COLORS = [
    "#2E86DE", "#10AC84", "#F39C12", "#8E44AD", "#E84393", "#0BF", "#C0392B", "#16A085",
]
# fmt: on

# name, category, minutes, color index, max attendees, price cents, item code, taxed
APPOINTMENT_TYPES = [
    ("Initial Consultation", "Physiotherapy", 60, 0, 1, 12000, "500", False),
    ("Standard Consultation", "Physiotherapy", 30, 1, 1, 9000, "505", False),
    ("Clinical Pilates Class", "Pilates", 55, 4, 6, 3500, "PIL", False),
    ("Hydrotherapy (pool)", "Physiotherapy", 45, 7, 1, 8000, "560", False),
    ("Extended Consultation", "Physiotherapy", 45, 2, 1, 11000, "506", False),
    ("Remedial Massage (60 min)", "Massage", 60, 3, 1, 10500, "RM60", True),
    ("Telehealth Review", "Physiotherapy", 30, 5, 1, 8500, "TH1", False),
    ("Dry Needling Add-on", None, 15, 6, 1, 3000, "DN", False),
]
# fmt: off
PRACTITIONER_POOL = [
    ("Dr", "Sarah", "Okafor", "Physiotherapist"), ("", "Tom", "Brennan", "Physiotherapist"),
    ("", "Mei", "Lin", "Remedial Massage Therapist"), ("Dr", "Aroha", "Ngata", "Osteopath"),
    ("", "Lukas", "Schmidt", "Exercise Physiologist"), ("", "Priya", "Raman", "Physiotherapist"),
    ("", "Jess", "O'Connor", "Myotherapist"), ("", "Ben", "Carter", "Pilates Instructor"),
]
CLINIC_NAMES = [
    ("Fitzroy Physio & Wellness", "fitzroy-physio"),
    ("Northside Allied Health", "northside-allied"),
    ("Bayside Sports Physiotherapy", "bayside-sports-physio"),
    ("Harbour Osteo & Pilates", "harbour-osteo"),
]
DOCTORS = [
    ("Dr", "Anil", "Patel", "Brunswick Medical Centre", "general_practitioner"),
    ("Dr", "Helen", "Zhou", "Carlton Family Practice", "general_practitioner"),
    ("Dr", "Michael", "O'Sullivan", "Melbourne Orthopaedic Group", "specialist"),
    ("Dr", "Fiona", "McKenzie", "Northcote GP Clinic", ""),
    ("Dr", "Tuấn", "Phạm", "Footscray Medical", "general_practitioner"),
    ("Dr", "Rachel", "Goldberg", "Sports Med Victoria", "specialist"),
]
PAYERS = [
    ("Bupa", "claims@bupa.example.com"), ("Medibank Private", "claims@medibank.example.com"),
    ("WorkSafe Victoria", "invoices@worksafe.example.vic.gov.au"),
    ("Department of Veterans' Affairs", None), ("TAC", "providers@tac.example.vic.gov.au"),
]
# fmt: on


# --------------------------------------------------------------------------------------------
# The generator


class _Generator:
    """Builds one clinic. Keep per-record work cheap: 100,000 patients must stay feasible."""

    def __init__(self, seed, patients):
        self.seed = seed
        self.size = max(0, int(patients))
        self.rng = random.Random(seed)
        self.clinic = Clinic(seed=seed)
        self.res = self.clinic.resources
        self.edge = self.clinic.edge_cases
        self.seq = int(self.rng.random() * (1 << 12))
        self.legacy = {}

    # -- ids ----------------------------------------------------------------------------------
    LEGACY_BASE = {
        "setup": 1_000_000,
        "patients": 75_000_000,
        "bookings": 120_000_000,
        "attendees": 130_000_000,
        "invoices": 60_000_000,
        "notes": 40_000_000,
        "comms": 210_000_000,
        "other": 9_000_000,
    }

    def new_id(self, t, family="other"):
        if t < LEGACY_ID_CUTOFF:
            last = self.legacy.get(family) or self.LEGACY_BASE[family] + int(
                self.rng.random() * 5000
            )
            last += 1 + int(self.rng.random() * 9)
            self.legacy[family] = last
            return str(last)
        self.seq += 1
        return snowflake(t, self.seq, int(self.rng.random() * 1000))

    def add(self, resource, t, family="other", updated=None, **fields):
        record = new_record(resource, **fields)
        record["id"] = self.new_id(t, family)
        record["created_at"] = iso(t)
        record["updated_at"] = iso(updated if updated is not None else t)
        self.res[resource][record["id"]] = record
        return record

    def token(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # -- entry point --------------------------------------------------------------------------
    def run(self):
        self.setup()
        self.make_patients()
        self.make_groups()
        self.finish()
        self.clinic._seq = self.seq + 1
        return self.clinic

    # -- account set-up -----------------------------------------------------------------------
    def setup(self):
        rng = self.rng
        t0 = CLINIC_OPENED - 30 * DAY
        name, subdomain = rng.choice(CLINIC_NAMES)
        self.clinic_name, self.clinic.subdomain = name, subdomain
        self.mail_domain = subdomain.replace("-", "") + ".example.com"
        self.sms_sender = name.split()[0] + "Physio"

        gst = self.add("taxes", t0, "setup", name="GST", rate="10.0", amount="10.0")
        free = self.add("taxes", t0 + 60, "setup", name="GST free", rate="0.0", amount="0.0")
        self.gst, self.gst_free = gst, free
        self.tax_rate = {gst["id"]: 10, free["id"]: 0}

        self.make_businesses(t0)
        self.make_templates(t0)
        self.make_types(t0)
        self.make_staff(t0)
        self.make_contacts(t0)
        self.make_misc(t0)
        self.make_settings()

    def make_businesses(self, t0):
        rng = self.rng
        count = 1 + int(rng.random() * 3)
        melbourne = ("Melbourne", "Australia/Melbourne")
        places = [
            (
                "Level 1, 123 Brunswick Street",
                "Fitzroy",
                "VIC",
                "3065",
                "Australia",
                "AU",
                melbourne,
            ),
            ("45 Lygon Street", "Carlton", "Victoria", "3053", "Australia", "AU", melbourne),
            rng.choice(
                [
                    (
                        "210 Ponsonby Road",
                        "Auckland",
                        "Auckland",
                        "1011",
                        "New Zealand",
                        "NZ",
                        ("Auckland", "Pacific/Auckland"),
                    ),
                    (
                        "2 Tooley Street",
                        "London",
                        "",
                        "SE1 2PF",
                        "United Kingdom",
                        "GB",
                        ("London", "Europe/London"),
                    ),
                ]
            ),
        ][:count]
        self.businesses = []
        for i, (street, city, state, post, country, code, tz) in enumerate(places):
            label = "%s — %s" % (self.clinic_name, city)
            business = self.add(
                "businesses",
                t0 + 120 + i * DAY * 200,
                "setup",
                business_name=label,
                label=label,
                address_1=street,
                city=city,
                state=state,
                post_code=post,
                country=country,
                country_code=code,
                business_registration_name="ABN"
                if code == "AU"
                else "NZBN"
                if code == "NZ"
                else "VAT",
                business_registration_value="%011d" % int(rng.random() * (10**11)),
                contact_information="Phone: (03) 9%03d %04d"
                % (int(rng.random() * 1000), int(rng.random() * 10000)),
                email_reply_to="reception@" + self.mail_domain,
                website_address="https://www." + self.mail_domain,
                time_zone=tz[0],
                time_zone_identifier=tz[1],
            )
            self.businesses.append(business)
        closed = self.add(
            "businesses",
            t0 + 200,
            "setup",
            business_name="Richmond rooms (closed)",
            label="Richmond rooms (closed)",
            address_1="9 Swan Street",
            city="Richmond",
            state="VIC",
            post_code="3121",
            country="Australia",
            country_code="AU",
            time_zone="Melbourne",
            time_zone_identifier="Australia/Melbourne",
            show_in_online_bookings=False,
            archived_at=iso(OLD_ROOMS_CLOSED_AT),
            updated=OLD_ROOMS_CLOSED_AT,
        )
        self.closed_business = closed
        self.edge["archived_business"] = closed["id"]

    def make_templates(self, t0):
        soap = self.add(
            "treatment_note_templates",
            t0 + 300,
            "setup",
            name="Standard Consultation",
            content=self.note_content(None, template=True),
            print_settings={
                "include_patient_address": True,
                "include_patient_dob": True,
                "include_patient_medicare": None,
                "include_patient_occupation": None,
                "include_patient_reference_number": None,
                "title": None,
            },
        )
        initial = self.add(
            "treatment_note_templates",
            t0 + 360,
            "setup",
            name="Initial Assessment",
            content=self.note_content(None, template=True, initial=True),
            print_settings={
                "include_patient_address": True,
                "include_patient_dob": True,
                "include_patient_medicare": True,
                "include_patient_occupation": True,
                "include_patient_reference_number": None,
                "title": "Initial assessment",
            },
        )
        old = self.add(
            "treatment_note_templates",
            t0 + 400,
            "setup",
            name="Old SOAP (do not use)",
            content=self.note_content(None, template=True),
            deleted_at=iso(CLINIC_OPENED + 90 * DAY),
            updated=CLINIC_OPENED + 90 * DAY,
        )
        self.soap_template, self.initial_template = soap, initial
        self.edge["deleted_treatment_note_template"] = old["id"]
        self.intake_template = self.add(
            "patient_form_templates",
            t0 + 500,
            "setup",
            name="New Patient Intake",
            content=self.form_content(None),
        )

    def make_types(self, t0):
        rng = self.rng
        extra = APPOINTMENT_TYPES[4:]
        count = 5 + int(rng.random() * 4)  # 5..8
        chosen = APPOINTMENT_TYPES[:4] + rng.sample(extra, count - 4)
        self.types, self.items_by_type = [], {}
        for i, (name, category, minutes, color, max_att, price, code, taxed) in enumerate(chosen):
            t = t0 + 600 + i * 60
            item = self.add(
                "billable_items",
                t,
                "setup",
                name=name,
                item_code=code,
                item_type="Service",
                price=money(price),
                tax_id=self.gst["id"] if taxed else self.gst_free["id"],
            )
            archived = name.startswith("Hydrotherapy")
            apt = self.add(
                "appointment_types",
                t,
                "setup",
                name=name,
                category=category,
                color=COLORS[color],
                duration_in_minutes=minutes,
                max_attendees=max_att,
                description="Group class, max %d" % max_att if max_att > 1 else None,
                show_in_online_bookings=not archived and name != "Dry Needling Add-on",
                telehealth_enabled=name.startswith("Telehealth"),
                online_payments_enabled=max_att > 1,
                online_payments_mode="required" if max_att > 1 else None,
                online_bookings_lead_time_hours=rng.choice([0, 2, 12, 24]),
                billable_item_id=item["id"],
                treatment_note_template_id=(
                    self.initial_template["id"]
                    if name.startswith("Initial")
                    else self.soap_template["id"]
                ),
                archived_at=iso(HYDRO_ARCHIVED_AT) if archived else None,
                updated=HYDRO_ARCHIVED_AT if archived else None,
            )
            self.types.append(apt)
            self.items_by_type[apt["id"]] = item
            if archived:
                self.edge["archived_appointment_type"] = apt["id"]
                self.hydro = apt
            if max_att > 1:
                self.edge["group_appointment_type"] = apt["id"]
                self.group_type = apt
        self.initial_type, self.standard_type = self.types[0], self.types[1]
        self.individual_types = [
            a for a in self.types if a["max_attendees"] == 1 and a is not self.initial_type
        ]
        self.report_item = self.add(
            "billable_items",
            t0 + 1200,
            "setup",
            name="Report writing",
            item_code="REP",
            item_type="Other",
            price="150.0",
            tax_id=self.gst["id"],
        )
        self.dna_item = self.add(
            "billable_items",
            t0 + 1260,
            "setup",
            name="Late cancellation / DNA fee",
            item_code="DNA",
            item_type="Other",
            price="45.0",
            tax_id=self.gst_free["id"],
        )
        products = [
            ("Theraband (red, per metre)", "TB-R", 400, 150, "Physio Supplies Co"),
            ("Hot/cold pack", "HCP", 2495, 900, "Physio Supplies Co"),
            ("Foam roller 90 cm", "FR90", 4500, 1800, "Active Gear Pty Ltd"),
            ("Kinesiology tape", "KT5", 1995, 700, ""),
        ]
        self.products = []
        for i, (name, code, price, cost, supplier) in enumerate(products):
            self.products.append(
                self.add(
                    "products",
                    t0 + 1400 + i * 60,
                    "setup",
                    name=name,
                    item_code=code,
                    serial_number="SN-%05d" % int(rng.random() * 100000),
                    notes="",
                    product_supplier_name=supplier,
                    cost_price=money(cost),
                    price_ex_tax=money(price),
                    price_including_tax=money(price + price // 10),
                    stock_level=rng.randrange(0, 60),
                    tax_id=self.gst["id"],
                )
            )
        for business in self.businesses:
            business["appointment_type_ids"] = [a["id"] for a in self.types if not a["archived_at"]]

    def make_staff(self, t0):
        rng = self.rng
        owner = self.add(
            "users",
            t0 + 2000,
            "setup",
            first_name="Dana",
            last_name="Whitfield",
            email="manager@" + self.mail_domain,
            role="administrator",
        )
        self.clinic.key_owner_id = owner["id"]
        self.owner = owner
        self.add(
            "users",
            t0 + 2100,
            "setup",
            first_name="Kylie",
            last_name="Nguyen",
            email="reception@" + self.mail_domain,
            role="receptionist",
        )
        count = 4 + int(rng.random() * 5)  # 4..8
        pool = rng.sample(PRACTITIONER_POOL, count)
        inactive = 2 if count >= 6 else 1
        self.practitioners, self.active_practitioners = [], []
        for i, (title, first, last, designation) in enumerate(pool):
            t = t0 + 2200 + i * 120
            is_active = i < count - inactive
            email = "%s.%s@%s" % (first.lower(), last.lower().replace("'", ""), self.mail_domain)
            if i == 1:
                email = None  # a locum who never set one: matches no Odoo user
            elif i == 2:
                email = " %s.%s+Cliniko@Gmail.Example.COM " % (first, last.replace("'", ""))
            user = self.add(
                "users",
                t,
                "setup",
                title=title,
                first_name=first,
                last_name=last,
                email=email,
                role="administrator" if i == 0 else "practitioner",
                user_active=is_active,
                active=is_active,
                updated=PRACTITIONERS_LEFT_AT if not is_active else None,
            )
            label = "%s %s" % (first, last)
            practitioner = self.add(
                "practitioners",
                t,
                "setup",
                title=title,
                first_name=first,
                last_name=last,
                label=label,
                display_name=" ".join(filter(None, [title, first, last])),
                designation=designation,
                description=None
                if i % 2
                else "%s has a special interest in sports injuries." % first,
                show_in_online_bookings=is_active,
                active=is_active,
                default_appointment_type_id=self.standard_type["id"],
                user_id=user["id"],
                updated=PRACTITIONERS_LEFT_AT if not is_active else None,
            )
            self.practitioners.append(practitioner)
            if is_active:
                self.active_practitioners.append(practitioner)
            else:
                self.edge.setdefault("inactive_practitioner", practitioner["id"])
            if i == 1:
                self.edge["practitioner_without_email"] = practitioner["id"]
            elif i == 2:
                self.edge["practitioner_unusual_email"] = practitioner["id"]
            for business in self.businesses:
                if business["country_code"] == "AU":
                    self.add(
                        "practitioner_reference_numbers",
                        t + 30,
                        "setup",
                        reference_number="%06d%s%s"
                        % (
                            int(rng.random() * (10**6)),
                            rng.choice("0123456789"),
                            rng.choice("ABCDEFHJKLTWXY"),
                        ),
                        business_id=business["id"],
                        practitioner_id=practitioner["id"],
                    )

    def make_contacts(self, t0):
        rng = self.rng
        self.doctors, self.payers = [], []
        extra_doctors = self.size // 400
        for i in range(len(DOCTORS) + extra_doctors):
            title, first, last, practice, kind = DOCTORS[i % len(DOCTORS)]
            if i >= len(DOCTORS):
                first, _ = rng.choice(FIRST_NAMES)
                last, _ = rng.choice(LAST_NAMES)
            t = (
                t0 + 3000 + i * 3600
                if i < len(DOCTORS)
                else CLINIC_OPENED + int(rng.random() * (DEFAULT_NOW - CLINIC_OPENED - 30 * DAY))
            )
            city, state, post = rng.choice(AU_PLACES)
            self.doctors.append(
                self.add(
                    "contacts",
                    t,
                    "setup",
                    title=title,
                    first_name=first,
                    last_name=last,
                    company_name=practice,
                    occupation="General Practitioner"
                    if kind != "specialist"
                    else "Orthopaedic surgeon",
                    email="%s.%s@%s.example.com"
                    % (_slug(first)[:1], _slug(last), "clinic" if i % 2 else "med"),
                    phone_numbers=[
                        {
                            "number": "(03) 9%03d %04d"
                            % (int(rng.random() * 1000), int(rng.random() * 10000)),
                            "phone_type": "Work",
                        },
                        {
                            "number": "(03) 9%03d %04d"
                            % (int(rng.random() * 1000), int(rng.random() * 10000)),
                            "phone_type": "Fax",
                        },
                    ],
                    address_1="%d %s" % (1 + int(rng.random() * 300), rng.choice(STREETS)),
                    city=city,
                    state=state,
                    post_code=post,
                    country="Australia",
                    country_code="AU",
                    provider_number="%06d%s%s"
                    % (
                        int(rng.random() * (10**6)),
                        rng.choice("0123456789"),
                        rng.choice("ABCDEFHJKLTWXY"),
                    ),
                    type="Doctor",
                    type_code=1,
                    doctor_type=kind,
                )
            )
        for i, (company, email) in enumerate(PAYERS):
            self.payers.append(
                self.add(
                    "contacts",
                    t0 + 4000 + i * 600,
                    "setup",
                    company_name=company,
                    email=email or "",
                    type="3rd Party Payer",
                    type_code=2,
                    country="Australia",
                    country_code="AU",
                    notes="Send invoices within 30 days." if i == 2 else "",
                )
            )
        self.add(
            "contacts",
            t0 + 5000,
            "setup",
            first_name="Grace",
            last_name="Holloway",
            company_name="Holloway & Partners Lawyers",
            occupation="Solicitor",
            email="g.holloway@lawyers.example.com",
            type="Standard",
            type_code=0,
            phone_numbers=[{"number": "+61 3 9600 1234", "phone_type": "Work"}],
            country="Australia",
            country_code="AU",
            archived_at=iso(CLINIC_OPENED + 400 * DAY),
            updated=CLINIC_OPENED + 400 * DAY,
        )

    def make_misc(self, t0):
        self.concessions = [
            self.add("concession_types", t0 + 6000 + i * 60, "setup", name=name)
            for i, name in enumerate(["Pensioner", "Student", "Health Care Card"])
        ]
        rst = {}
        for i, (name, referrer, subs) in enumerate(
            [
                ("Client", "Patient", None),
                ("Contact", "Contact", None),
                ("Other", None, None),
                ("Internet", None, ["Google", "Facebook", "Instagram"]),
            ]
        ):
            rst[name] = self.add(
                "referral_source_types",
                t0 + 6500 + i * 60,
                "setup",
                name=name,
                referrer_type=referrer,
                subcategories=subs,
            )
        self.referral_types = rst

    def make_settings(self):
        rng = self.rng
        tokens = [self.token() for _ in range(20)]
        providers = ["Bupa", "Medibank", "HCF", "nib", "Great Insurance"]
        heard = ["Google", "Friend or family", "Doctor referral", "Instagram", "Walked past"]
        self.custom_definition = {
            "sections": [
                {
                    "name": "Insurance coverage",
                    "token": tokens[0],
                    "fields": [
                        {
                            "name": "Provider",
                            "type": "radiobuttons",
                            "token": tokens[1],
                            "other": {"enabled": True},
                            "options": [
                                {"name": n, "token": tokens[2 + i]} for i, n in enumerate(providers)
                            ],
                        },
                        {"name": "Policy number", "type": "text", "token": tokens[7]},
                        {
                            "name": "Old fund code",
                            "type": "text",
                            "token": tokens[8],
                            "archived": True,
                        },
                    ],
                },
                {
                    "name": "About you",
                    "token": tokens[9],
                    "fields": [
                        {
                            "name": "How did you hear about us",
                            "type": "checkboxes",
                            "token": tokens[10],
                            "other": {"enabled": True},
                            "options": [
                                {"name": n, "token": tokens[11 + i]} for i, n in enumerate(heard)
                            ],
                        },
                        {"name": "GP consent date", "type": "date", "token": tokens[16]},
                        {
                            "name": "Anything else we should know?",
                            "type": "paragraph",
                            "token": tokens[17],
                        },
                    ],
                },
            ]
        }
        owner = self.owner
        self.clinic.settings = {
            "terminology": {"patient": "patient"},
            "account": {
                "id": str(rng.randrange(10**17, 10**18)),
                "name": self.clinic_name,
                "country": "Australia",
                "time_zone": "Melbourne",
                "currency_symbol": "$",
                "subdomain": self.clinic.subdomain,
                "email_from": "reception@" + self.mail_domain,
                "admin": {
                    "email": owner["email"],
                    "first_name": owner["first_name"],
                    "last_name": owner["last_name"],
                },
            },
            "calendar": {
                "start_hour": 7,
                "end_hour": 20,
                "timeslot_height_in_pixels": 15,
                "timeslot_size_in_minutes": 15,
                "show_current_time_indicator": True,
                "multiple_appointments_gap": False,
            },
            "online_bookings": {
                "adroll": {"advertiser_id": None, "pixel_id": None},
                "calendar_info": None,
                "enabled": True,
                "google_analytics": {"tracking_id": None},
                "logo_url": None,
                "max_appointments_per_day_segment": 5,
                "min_hours_advance_required_to_book": 2,
                "min_hours_notice_for_patient_cancellation": 24,
                "notify_practitioner_by_email": True,
                "notify_practitioner_by_sms": False,
                "policy": "Cancellations with less than 24 hours' notice may incur a fee.",
                "practitioner_order": [p["id"] for p in self.active_practitioners],
                "require_patient_address": False,
                "show_appointment_duration": True,
                "show_prices": True,
            },
            "patient_custom_fields_definition": self.custom_definition,
            "reminders": {"default_reminder_type": "SMS & Email"},
        }

    # -- content builders ---------------------------------------------------------------------
    def note_content(self, when, template=False, initial=False, draft=False, long_text=None):
        rng = self.rng
        first = "Initial assessment" if initial else "Subjective"
        if template:
            return {
                "sections": [
                    {
                        "name": first,
                        "questions": [
                            {
                                "name": "Presenting complaint",
                                "type": "paragraph",
                                "answer": "<div>Onset, aggravating &amp; easing factors:</div>",
                            },
                            {"name": "Pain score (0-10)", "type": "text"},
                        ],
                    },
                    {
                        "name": "Objective",
                        "questions": [
                            {
                                "name": "Regions treated",
                                "type": "checkboxes",
                                "answers": [{"value": r} for r in REGIONS],
                            },
                            {
                                "name": "Red flags screened",
                                "type": "radiobuttons",
                                "answers": [{"value": "Yes"}, {"value": "No"}],
                            },
                        ],
                    },
                    {
                        "name": "Plan",
                        "questions": [
                            {"name": "Treatment provided", "type": "paragraph"},
                            {"name": "Next review", "type": "date"},
                        ],
                    },
                ]
            }
        pain = 1 + int(rng.random() * 9)
        picked = int(rng.random() * (len(REGIONS)))
        sections = [
            {
                "name": first,
                "questions": [
                    {
                        "name": "Presenting complaint",
                        "type": "paragraph",
                        "answer": "<div>%s. Pain %d/10 at worst, &lt; %d/10 at rest.</div>"
                        % (rng.choice(COMPLAINTS), pain, max(pain - 3, 0)),
                    },
                    {"name": "Pain score (0-10)", "type": "text", "answer": str(pain)},
                ],
            }
        ]
        if draft:
            return {"sections": sections}
        sections.append(
            {
                "name": "Objective",
                "questions": [
                    {
                        "name": "Regions treated",
                        "type": "checkboxes",
                        "answers": [
                            {"value": r, "selected": True} if i == picked else {"value": r}
                            for i, r in enumerate(REGIONS)
                        ],
                    },
                    {
                        "name": "Red flags screened",
                        "type": "radiobuttons",
                        "answers": [{"value": "Yes", "selected": True}, {"value": "No"}],
                    },
                ],
            }
        )
        plan = long_text or "<div>%s</div><div>HEP reviewed.<br>Review in %d weeks.</div>" % (
            rng.choice(TREATMENTS),
            1 + int(rng.random() * 4),
        )
        sections.append(
            {
                "name": "Plan",
                "questions": [
                    {"name": "Treatment provided", "type": "paragraph", "answer": plan},
                    {"name": "Next review", "type": "date", "answer": iso_date(when + 14 * DAY)},
                ],
            }
        )
        return {"sections": sections}

    def long_text(self):
        rng = self.rng
        target = rng.randint(50_000, 200_000)
        order = rng.sample(LONG_NOTE_SENTENCES, len(LONG_NOTE_SENTENCES))
        block = "".join("<div>%s</div>" % s for s in order)
        return block * (target // len(block) + 1)

    def form_content(self, signature_id, symptoms=()):
        questions = [
            {"name": "Please describe your medical history.", "type": "paragraph", "required": True}
        ]
        options = ["Fever", "Headache", "Dizziness", "Numbness or tingling", "Night pain"]
        checkboxes = {
            "name": "Which of the following symptoms do you suffer from?",
            "type": "checkboxes",
            "required": False,
            "answers": [
                {"value": o, "selected": True} if o in symptoms else {"value": o} for o in options
            ],
        }
        signature = {
            "name": "I accept the above privacy policy",
            "type": "signature",
            "required": True,
        }
        if signature_id:
            questions[0]["answer"] = "<div>%s</div>" % self.rng.choice(
                [
                    "Nil significant.",
                    "Asthma (childhood). Appendix out 2009.",
                    "High blood pressure — on medication.",
                    "Broken wrist 2015, fully healed.",
                ]
            )
            signature["signature_id"] = signature_id
        return {
            "sections": [
                {"name": "Medical History", "questions": questions},
                {"name": "Current Condition", "questions": [checkboxes]},
                {
                    "name": "Privacy Policy",
                    "questions": [signature],
                    "description": "<div>We keep your personal information private.</div>",
                },
            ]
        }

    # -- patients -----------------------------------------------------------------------------
    PLANTED_ROLES = (  # priority order: the first ones survive in tiny clinics
        "only_last_name",
        "unparseable_phone",
        "invalid_email",
        "archived",
        "merged_winner",
        "merged_loser",
        "deleted",
        "dup_email_a",
        "dup_email_b",
        "dup_phone_a",
        "dup_phone_b",
    )  # + "legacy" at index 0: 12 patients hold every planted case
    # non-planted patients: one random role each, by cumulative share
    RANDOM_ROLES = (
        (0.040, "archived"),
        (0.045, "deleted"),
        (0.052, "merged_loser"),
        (0.062, "only_last_name"),
        (0.077, "unparseable_phone"),
        (0.097, "invalid_email"),
        (0.112, "dup_email_b"),
        (0.126, "dup_phone_b"),
        (0.134, "sparse"),
    )
    PAST_STATUSES = ((0.10, "cancelled"), (0.17, "dna"), (0.92, "arrived"), (1.0, "unmarked"))
    APPOINTMENT_COUNTS = (0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6, 7, 9)

    def make_patients(self):
        rng, n = self.rng, self.size
        if n == 0:
            return
        span = DEFAULT_NOW - 2 * DAY - CLINIC_OPENED
        times = sorted(CLINIC_OPENED + int(span * rng.random() ** 0.5) for _ in range(n))
        times[0] = CLINIC_OPENED + int(rng.random() * (120 * DAY))  # one legacy-ID patient
        times.sort()
        slots = rng.sample(range(1, n), min(n - 1, len(self.PLANTED_ROLES)))
        # pairs: the first of a pair must exist before the second
        for a, b in (
            ("merged_winner", "merged_loser"),
            ("dup_email_a", "dup_email_b"),
            ("dup_phone_a", "dup_phone_b"),
        ):
            ia, ib = self.PLANTED_ROLES.index(a), self.PLANTED_ROLES.index(b)
            if ib < len(slots) and slots[ia] > slots[ib]:
                slots[ia], slots[ib] = slots[ib], slots[ia]
        self.planted = {slot: role for slot, role in zip(slots, self.PLANTED_ROLES, strict=False)}
        self.planted[0] = "legacy"
        for slot, role in self.planted.items():
            if role in ("dup_phone_a", "merged_winner", "dup_email_a"):
                times[slot] = min(times[slot], DEFAULT_NOW - 400 * DAY - slot * 3600)
        self.plain = []  # ids of active patients with no special role (merge targets)
        self.emails = []  # (id, e-mail) of patients with a valid e-mail
        self.mobiles = []  # (id, phone dict)
        self.eligible = []  # (created, id) of active patients, for group classes
        self.eligible_times = []
        self.pending = {}  # role -> (patient id, detail) waiting for the second of a pair
        for i in range(n):
            role = self.planted.get(i)
            planted = role is not None
            if not planted:
                u = rng.random()
                role = next((r for share, r in self.RANDOM_ROLES if u < share), "plain")
            self.make_patient(times[i], role, planted)
        self.make_orphan()

    def name(self, role, planted):
        rng = self.rng
        if planted and role == "only_last_name":
            return "", "Nguyễn", "", "nguyen"
        if planted and role == "invalid_email":
            return CJK_NAMES[0]
        if planted and role == "dup_phone_b":
            return "Zoë", "Ōtsuka", "zoe", "otsuka"
        r = rng.random
        if r() < 0.03:
            return CJK_NAMES[int(r() * len(CJK_NAMES))]
        firsts = _FIRST_NAMES_ACCENTED if r() < 0.1 else _FIRST_NAMES_PLAIN
        lasts = _LAST_NAMES_ACCENTED if r() < 0.08 else _LAST_NAMES_PLAIN
        first, first_a = firsts[int(r() * len(firsts))]
        last, last_a = lasts[int(r() * len(lasts))]
        if role == "only_last_name":
            return "", last, "", last_a
        return first, last, first_a, last_a

    def email(self, first_a, last_a):
        rng = self.rng
        u = rng.random()
        first_a = first_a or "patient"
        if u < 0.45:
            local = "%s.%s" % (first_a, last_a)
        elif u < 0.65:
            local = first_a + last_a
        elif u < 0.8:
            local = "%s.%s" % (first_a[0], last_a)
        else:
            local = "%s_%s" % (first_a, last_a)
        if rng.random() < 0.6:
            local += str(rng.randrange(1, 100))
        address = "%s@%s" % (local, EMAIL_DOMAINS[int(rng.random() * (len(EMAIL_DOMAINS)))])
        u = rng.random()
        if u < 0.08:
            address = messy_case(address)
        elif u < 0.12:
            address = " %s " % address
        return address

    def mobile(self):
        rng = self.rng
        national = "4%s%06d" % (
            AU_MOBILE_PREFIXES[int(rng.random() * (len(AU_MOBILE_PREFIXES)))],
            int(rng.random() * (10**6)),
        )
        u = rng.random()
        if u < 0.5:
            number = "0%s %s %s" % (national[:3], national[3:6], national[6:])
        elif u < 0.7:
            number = "0" + national
        elif u < 0.88:
            number = "+61 %s %s %s" % (national[:3], national[3:6], national[6:])
        else:
            number = "+61" + national
        return {"number": number, "phone_type": "Mobile", "normalized_number": "61" + national}

    def landline(self, kind):
        rng = self.rng
        area = rng.choice("2378")
        local = ("3" if area == "7" else "9") + "%07d" % int(rng.random() * (10**7))
        u = rng.random()
        if u < 0.55:
            number = "(0%s) %s %s" % (area, local[:4], local[4:])
        elif u < 0.8:
            number = "0%s %s %s" % (area, local[:4], local[4:])
        elif u < 0.95:
            number = "+61 %s %s %s" % (area, local[:4], local[4:])
        else:
            number = "%s %s" % (local[:4], local[4:])  # no area code, as people type it
        return {"number": number, "phone_type": kind, "normalized_number": "61" + area + local}

    def foreign_phone(self, country):
        rng = self.rng
        if country == "GB":
            tail = "%03d" % int(rng.random() * 1000)
            return {
                "number": "+44 20 7946 0" + tail,
                "phone_type": "Mobile",
                "normalized_number": "44207946" + "0" + tail,
            }
        digits = "%07d" % int(rng.random() * (10**7))
        return {
            "number": "+64 21 %s %s" % (digits[:3], digits[3:]),
            "phone_type": "Mobile",
            "normalized_number": "6421" + digits,
        }

    def custom_fields(self):
        rng = self.rng
        insurance, about = self.custom_definition["sections"]
        provider, policy = insurance["fields"][0], insurance["fields"][1]
        heard, gp_date = about["fields"][0], about["fields"][1]
        sections = []
        fields = []
        if rng.random() < 0.8:
            pick = int(rng.random() * (len(provider["options"]) + 1))
            options = [
                dict(o, selected=True) if i == pick else dict(o)
                for i, o in enumerate(provider["options"])
            ]
            other = {"enabled": True}
            if pick == len(provider["options"]):
                other.update(selected=True, value=rng.choice(["AHM", "Teachers Health", "GMHBA"]))
            fields.append(
                {
                    "name": provider["name"],
                    "type": "radiobuttons",
                    "token": provider["token"],
                    "options": options,
                    "other": other,
                }
            )
            fields.append(
                {
                    "name": policy["name"],
                    "type": "text",
                    "token": policy["token"],
                    "value": "%s-%07d"
                    % (rng.choice(["ABC", "HX", "M"]), int(rng.random() * (10**7))),
                }
            )
        if fields:
            sections.append(
                {"name": insurance["name"], "token": insurance["token"], "fields": fields}
            )
        fields = []
        if rng.random() < 0.6:
            picks = {int(rng.random() * (len(heard["options"]))) for _ in range(2)}
            fields.append(
                {
                    "name": heard["name"],
                    "type": "checkboxes",
                    "token": heard["token"],
                    "options": [
                        dict(o, selected=True) if i in picks else dict(o)
                        for i, o in enumerate(heard["options"])
                    ],
                    "other": {"enabled": True},
                }
            )
        if rng.random() < 0.2:
            fields.append(
                {
                    "name": gp_date["name"],
                    "type": "date",
                    "token": gp_date["token"],
                    "value": iso_date(CLINIC_OPENED + int(rng.random() * 1500) * DAY),
                }
            )
        if fields:
            sections.append({"name": about["name"], "token": about["token"], "fields": fields})
        return {"sections": sections} if sections else None

    def make_patient(self, t, role, planted):
        rng = self.rng
        r = rng.random
        first, last, first_a, last_a = self.name(role, planted)
        source = None
        if role == "merged_loser":
            source = (
                self.pending.get("merged_winner")
                if planted
                else (self.plain[int(rng.random() * (len(self.plain)))] if self.plain else None)
            )
            if source is None:
                role = "plain"
            else:
                winner = self.res["patients"][source]
                first, last = winner["first_name"], winner["last_name"]
                first_a, last_a = first.lower(), last.lower()
        fields = {
            "title": TITLES[int(rng.random() * (len(TITLES)))],
            "first_name": first,
            "last_name": last,
        }
        if r() < 0.15 and first:
            fields["preferred_first_name"] = NICKNAMES.get(first)
        # the planted only-last-name patient is also the sparse one: no e-mail, phone,
        # address or date of birth, and no appointments
        sparse = role == "sparse" or (planted and role == "only_last_name")

        # e-mail
        email = None if r() < 0.5 else ""
        if role == "invalid_email":
            email = INVALID_EMAILS[0 if planted else int(rng.random() * (len(INVALID_EMAILS)))]
        elif role == "dup_email_b":
            pair = (
                self.pending.get("dup_email_a")
                if planted
                else (self.emails[int(rng.random() * (len(self.emails)))] if self.emails else None)
            )
            if pair is not None:
                email = " %s " % messy_case(pair[1].strip()) if planted else pair[1]
                source = pair[0]
            else:
                email = self.email(first_a, last_a)
        elif role == "merged_loser":
            email = (self.res["patients"][source]["email"] or "").strip().upper() or None
        elif not sparse and (r() < 0.88 or role == "dup_email_a"):
            email = self.email(first_a, last_a)
            if role == "dup_email_a":
                email = email.strip().lower()
        fields["email"] = email

        # address
        country_code = "AU"
        legacy = planted and role == "legacy"
        if not sparse and (r() < 0.85 or legacy):
            if r() < 0.04 and not legacy:
                city, state, post, country, country_code = INTERNATIONAL_PLACES[
                    int(rng.random() * (len(INTERNATIONAL_PLACES)))
                ]
            else:
                city, state, post = AU_PLACES[int(rng.random() * (len(AU_PLACES)))]
                country = "Australia" if r() < 0.9 else None
                if r() < 0.03:
                    city += " "
            number = 1 + int(rng.random() * 250)
            fields.update(
                address_1=(
                    "%d/%d %s"
                    % (
                        1 + int(rng.random() * 20),
                        number,
                        STREETS[int(rng.random() * (len(STREETS)))],
                    )
                    if r() < 0.2
                    else "%d %s" % (number, STREETS[int(rng.random() * (len(STREETS)))])
                ),
                address_2="" if r() < 0.9 else "Apartment %d" % (1 + int(rng.random() * 40)),
                city=city,
                state=state,
                post_code=post,
                country=country,
                country_code=country_code if (country or r() < 0.5) else None,
            )

        # phones
        phones = []
        if role == "unparseable_phone":
            phones.append(
                {
                    "number": UNPARSEABLE_PHONES[
                        0 if planted else int(rng.random() * (len(UNPARSEABLE_PHONES)))
                    ],
                    "phone_type": "Mobile",
                    "normalized_number": None,
                }
            )
        elif role == "dup_phone_b":
            pair = (
                self.pending.get("dup_phone_a")
                if planted
                else (
                    self.mobiles[int(rng.random() * (len(self.mobiles)))] if self.mobiles else None
                )
            )
            if pair is not None:
                phones.append(dict(pair[1]))
                source = pair[0]
        if legacy:  # an Australian resident who kept a UK mobile
            phones.append(self.foreign_phone("GB"))
        if not sparse and not phones:
            if country_code != "AU" and country_code:
                phones.append(self.foreign_phone(country_code))
            elif r() < 0.9 or role in ("dup_phone_a", "legacy"):
                phones.append(self.mobile())
            if r() < 0.25:
                phones.append(self.landline("Home"))
            if r() < 0.08:
                phones.append(self.landline("Work"))
        fields["patient_phone_numbers"] = phones

        # everything else
        if not sparse and r() < 0.92:
            fields["date_of_birth"] = iso_date(-12784 * DAY + int(rng.random() * 31500) * DAY)
        if sparse:
            fields["title"] = ""
        else:
            u = r()
            fields.update(
                sex="Female" if u < 0.5 else "Male" if u < 0.95 else None,
                gender="Female" if u < 0.5 else "Male" if u < 0.95 else None,
                gender_identity=None if u < 0.97 else "Non-binary",
                occupation=OCCUPATIONS[int(rng.random() * (len(OCCUPATIONS)))] if r() < 0.4 else "",
                reminder_type=("SMS & Email", "SMS", "Email", "None")[int(rng.random() * 4)],
                receives_confirmation_emails=r() < 0.8,
                accepted_privacy_policy=True if r() < 0.7 else None,
                accepted_email_marketing=r() < 0.3,
                accepted_sms_marketing=r() < 0.2,
                time_zone="Australia/Melbourne" if r() < 0.6 else None,
            )
            if r() < 0.2:
                fields["notes"] = PATIENT_NOTES[int(rng.random() * (len(PATIENT_NOTES)))]
            if r() < 0.2:
                fields["emergency_contact"] = "%s (partner) 04%02d %03d %03d" % (
                    FIRST_NAMES[int(rng.random() * (len(FIRST_NAMES)))][0],
                    int(rng.random() * 100),
                    int(rng.random() * 1000),
                    int(rng.random() * 1000),
                )
            if r() < 0.05:
                fields["appointment_notes"] = "Allow extra time — uses a wheelchair."
            if country_code == "AU" and r() < 0.45:
                card = "%d%09d" % (2 + int(rng.random() * 5), int(rng.random() * (10**9)))
                if r() < 0.4:  # typed with spaces, as printed on the card
                    card = "%s %s %s" % (card[:4], card[4:9], card[9:])
                fields["medicare"] = card
                fields["medicare_reference_number"] = (
                    "" if r() < 0.1 else str(1 + int(rng.random() * 5))
                )
            if r() < 0.02:
                fields["dva_card_number"] = "%sX%06d" % (
                    rng.choice("NVQSWT"),
                    int(rng.random() * (10**6)),
                )
                fields["invoice_default_to"] = "Department of Veterans' Affairs"
            elif r() < 0.05:
                payer, payer_email = PAYERS[int(rng.random() * (len(PAYERS)))]
                fields.update(
                    invoice_default_to=payer,
                    invoice_email=payer_email or "",
                    invoice_extra_information="Claim #%08d\r\nPolicy #%06d"
                    % (int(rng.random() * (10**8)), int(rng.random() * (10**6))),
                )
            if r() < 0.1:
                fields["concession_type_id"] = self.concessions[
                    int(rng.random() * (len(self.concessions)))
                ]["id"]
            if r() < 0.15:
                fields["referring_doctor_id"] = self.doctors[
                    int(rng.random() * (len(self.doctors)))
                ]["id"]
            if r() < 0.2:
                fields["referral_source"] = rng.choice(
                    ["Google", "Dr Patel", "Friend", "Walked past", "Facebook"]
                )
            if r() < 0.4:
                fields["custom_fields"] = self.custom_fields()
        if legacy:
            fields["old_reference_id"] = "PM-%05d" % int(rng.random() * 100000)
            fields["medicare"] = "2123 45670 1"
            fields["medicare_reference_number"] = ""
        elif t < LEGACY_ID_CUTOFF and r() < 0.5:
            fields["old_reference_id"] = "PM-%05d" % int(rng.random() * 100000)

        # lifecycle
        updated = t if r() < 0.4 else min(t + int(rng.random() * (400 * DAY)), DEFAULT_NOW - 60)
        end = DEFAULT_NOW - 60
        if role in ("archived", "merged_loser", "deleted"):
            when = t + max(60, int((end - t) * (0.2 + 0.7 * r())))
            end = updated = when
            if role == "deleted":
                fields["deleted_at"] = iso(when)
            else:
                fields["archived_at"] = iso(when)
            if role == "merged_loser":
                fields["merged_at"] = iso(when)
                fields["merged_with_patient_id"] = source
        patient = self.add("patients", t, "patients", updated=updated, **fields)
        patient["label"] = _label(patient) or None
        pid = patient["id"]

        # bookkeeping for later pairs and for the edge-case index
        if role in ("merged_winner", "dup_email_a", "dup_phone_a"):
            detail = {
                "merged_winner": pid,
                "dup_email_a": (pid, email),
                "dup_phone_a": (pid, phones[0] if phones else None),
            }[role]
            if planted:
                self.pending[role] = detail
        if role == "plain" or (role in ("merged_winner", "dup_email_a", "dup_phone_a")):
            self.plain.append(pid)
        if email and is_valid_email(email) and role not in ("merged_loser", "deleted"):
            self.emails.append((pid, email))
        if (
            phones
            and phones[0].get("normalized_number")
            and role not in ("merged_loser", "deleted")
        ):
            self.mobiles.append((pid, phones[0]))
        if planted:
            self.record_edge(role, pid, source)
        self.edge_scan(patient)

        # history
        if role in ("deleted", "merged_loser") or sparse:
            return
        if role not in ("archived",):
            self.eligible.append(pid)
            self.eligible_times.append(t)
        self.patient_history(patient, t, end, regular=planted and role == "dup_phone_a")

    def record_edge(self, role, pid, source):
        edge = self.edge
        simple = {
            "legacy": "legacy_id_patient",
            "only_last_name": "only_last_name",
            "unparseable_phone": "unparseable_phone",
            "invalid_email": "invalid_email",
            "archived": "archived_patient",
            "deleted": "deleted_patient",
            "sparse": "sparse_patient",
            "merged_winner": "merged_into",
            "merged_loser": "merged_patient",
        }
        if role in simple:
            edge[simple[role]] = pid
        if role == "only_last_name":
            edge["sparse_patient"] = edge["patient_without_appointments"] = pid
        if role == "invalid_email":
            edge["cjk_name"] = pid
        if role == "dup_email_b" and source:
            edge["duplicate_email"] = [source, pid]
            edge["messy_email"] = pid
        if role == "dup_phone_b" and source:
            edge["duplicate_phone"] = [source, pid]
            edge["unicode_name"] = pid
        if role == "dup_phone_a":
            edge["regular_patient"] = pid
        if role == "legacy":
            edge["international_phone"] = pid
            edge["medicare_without_irn"] = pid

    def edge_scan(self, patient):
        """Record the first occurrence of edge cases that random patients may also carry."""
        edge = self.edge
        if (
            "unicode_name" not in edge
            and not (patient["first_name"] + patient["last_name"]).isascii()
            and not patient["archived_at"]
            and not patient["deleted_at"]
        ):
            edge["unicode_name"] = patient["id"]

    # -- appointments, invoices, notes, communications ----------------------------------------
    def practitioner_at(self, t, usual):
        if usual is not None and (usual["active"] or t < PRACTITIONERS_LEFT_AT):
            if self.rng.random() < 0.8:
                return usual
        pool = self.practitioners if t < PRACTITIONERS_LEFT_AT else self.active_practitioners
        return pool[int(self.rng.random() * (len(pool)))]

    def business_at(self, t, usual):
        if t < OLD_ROOMS_CLOSED_AT and self.rng.random() < 0.15:
            return self.closed_business
        return usual

    def slot(self, t):
        """A 15-minute slot between 8am and 6pm Melbourne time, on or after ``t``."""
        day = int(t) // DAY
        start = day * DAY + (21 * 3600 + int(self.rng.random() * 44) * 900) % DAY
        return start + DAY if start < t else start

    def patient_history(self, patient, created, end, regular=False):
        rng = self.rng
        r = rng.random
        pid = patient["id"]
        usual_prac = self.practitioner_at(created, None)
        usual_biz = (
            self.businesses[0]
            if r() < 0.7
            else self.businesses[int(rng.random() * (len(self.businesses)))]
        )
        count = self.APPOINTMENT_COUNTS[int(rng.random() * (len(self.APPOINTMENT_COUNTS)))]
        horizon = (
            min(end, DEFAULT_NOW + 60 * DAY) if patient["archived_at"] else DEFAULT_NOW + 60 * DAY
        )
        starts = sorted(
            self.slot(created + 3600 + r() * max(horizon - created - 7200, 3600))
            for _ in range(count)
        )
        if patient["archived_at"]:
            starts = [s for s in starts if s + 3 * 3600 < end]
        plan = [(s, None) for s in starts]
        if regular:
            # a full, known history: arrived (long note, all attachments), DNA (deleted fee
            # invoice), cancelled, deleted, and one booked in the future
            base = max(created + 2 * DAY, DEFAULT_NOW - 200 * DAY)
            plan = [
                (self.slot(base), "arrived_long"),
                (self.slot(base + 20 * DAY), "dna"),
                (self.slot(base + 40 * DAY), "cancelled"),
                (self.slot(base + 45 * DAY), "deleted"),
                (self.slot(base + 60 * DAY), "arrived"),
                (self.slot(DEFAULT_NOW + 7 * DAY), "future"),
            ]
        booked = []
        for j, (start, forced) in enumerate(plan):
            kind = (
                self.initial_type
                if j == 0
                else (
                    self.standard_type
                    if r() < 0.6
                    else self.individual_types[int(rng.random() * (len(self.individual_types)))]
                )
            )
            if kind is getattr(self, "hydro", None) and start >= HYDRO_ARCHIVED_AT:
                kind = self.standard_type
            prac = self.practitioner_at(start, usual_prac)
            biz = self.business_at(start, usual_biz)
            booked.append(
                self.appointment(patient, created, start, kind, (prac, biz), forced=forced)
            )
        if regular:
            self.plant_regular_extras(patient, booked)
        # the patient's other records
        if r() < 0.06 or regular:
            for _ in range(1 + (r() < 0.3)):
                t = created + int(r() * (min(end, DEFAULT_NOW) - created))
                self.add(
                    "medical_alerts",
                    t,
                    "other",
                    name=MEDICAL_ALERTS[int(rng.random() * (len(MEDICAL_ALERTS)))],
                    patient_id=pid,
                )
        if r() < 0.3:
            self.referral_source(patient, created)
        if r() < 0.06 and not regular:
            kind = int(rng.random() * 3)
            self.attachment(patient, created + int(r() * (min(end, DEFAULT_NOW) - created)), kind)
        if r() < 0.03:
            self.note(
                patient,
                created + int(r() * (min(end, DEFAULT_NOW) - created)),
                None,
                None,
                draft=False,
            )
        if r() < 0.03 and patient["email"]:
            self.product_sale(
                patient, created + int(r() * (min(end, DEFAULT_NOW) - created)), usual_biz
            )
        if r() < 0.02:
            t = created + int(r() * (min(end, DEFAULT_NOW) - created))
            self.communication(
                patient,
                t,
                12,
                3,
                content="Called re: referral letter. Left voicemail.",
                sender="%s %s" % (self.owner["first_name"], self.owner["last_name"]),
                to=_full_name(patient),
                confidential=r() < 0.3,
            )
        if (r() < 0.05 and patient["referring_doctor_id"]) or regular:
            self.patient_case(patient, created, booked)
        if booked and (r() < 0.25 or regular):
            self.patient_form(patient, booked[0])

    def appointment(self, patient, patient_created, start, kind, staff, *, forced=None):
        """One individual appointment with its attendee, and what follows from it.

        ``staff`` is (practitioner, business); ``forced`` a status to plant instead of a random one.
        """
        prac, biz = staff
        rng = self.rng
        r = rng.random
        now = DEFAULT_NOW
        pid = patient["id"]
        duration = kind["duration_in_minutes"] * 60
        end = start + duration
        created = max(start - int(r() * 21 * DAY), patient_created + 60)
        created = max(
            min(created, now - 3600 - int(rng.random() * (10 * DAY)), start), patient_created
        )
        u = r()
        if forced:
            status = forced
        elif end >= now:
            status = "cancelled" if u < 0.05 else "future"
        else:
            status = next(s for share, s in self.PAST_STATUSES if u < share)
        deleted = status == "deleted" or (forced is None and r() < 0.01)
        if status == "deleted":
            status = "unmarked"
        fields = dict(
            starts_at=iso(start),
            ends_at=iso(end),
            patient_id=pid,
            patient_name=_full_name(patient),
            practitioner_id=prac["id"],
            business_id=biz["id"],
            appointment_type_id=kind["id"],
            has_patient_appointment_notes=bool(patient["appointment_notes"]),
            notes=None if r() < 0.85 else "Parking validated at reception.",
            booking_ip_address="203.0.113.%d" % int(rng.random() * 256) if r() < 0.3 else None,
            telehealth_url="https://%s.%s.cliniko.com/appointments/{id}/connect"
            % (self.clinic.subdomain, self.clinic.shard),
        )
        if fields["booking_ip_address"]:
            fields["online_booking_policy_accepted"] = True
        updated = created
        if status == "cancelled":
            cancelled = max(
                created + 60, min(start - 3600 - int(rng.random() * (3 * DAY)), now - 60)
            )
            reason = (10, 20, 30, 31, 40, 50, 60)[int(rng.random() * 7)]
            fields.update(
                cancelled_at=iso(cancelled),
                cancellation_reason=reason,
                cancellation_reason_description=CANCELLATION_REASONS[reason],
                cancellation_note=None
                if r() < 0.5
                else rng.choice(["Rang at 8am", "Sick kid", "Will rebook", "Texted cancel"]),
            )
            updated = cancelled
        elif status in ("arrived", "arrived_long"):
            fields["patient_arrived"] = True
            updated = end
        elif status == "dna":
            fields["did_not_arrive"] = True
            updated = end + 1800
        appointment = self.add("individual_appointments", created, "bookings", **fields)
        aid = appointment["id"]
        appointment["telehealth_url"] = appointment["telehealth_url"].replace("{id}", aid)
        attendee = self.add(
            "attendees",
            created,
            "attendees",
            booking_id=aid,
            patient_id=pid,
            arrived=True if fields.get("patient_arrived") else (False if status == "dna" else None),
            booking_ip_address=fields["booking_ip_address"],
            online_booking_policy_accepted=fields.get("online_booking_policy_accepted"),
            cancelled_at=fields.get("cancelled_at"),
            cancellation_reason=fields.get("cancellation_reason"),
            cancellation_reason_description=fields.get("cancellation_reason_description", ""),
            cancellation_note=fields.get("cancellation_note"),
            telehealth_url="https://%s.cliniko.com/c/%s"
            % (self.clinic.subdomain, "%x" % rng.getrandbits(48)),
        )
        # reminders and confirmations
        mobile = next(
            (
                p
                for p in patient["patient_phone_numbers"]
                if p["phone_type"] == "Mobile" and p.get("normalized_number")
            ),
            None,
        )
        email = patient["email"] if is_valid_email(patient["email"]) else None
        if (
            mobile
            and "SMS" in patient["reminder_type"]
            and start - DAY < now
            and r() < 0.7
            and status != "cancelled"
        ):
            sent = start - DAY
            self.communication(
                patient,
                sent,
                1,
                1,
                to=mobile["number"],
                sender=self.sms_sender,
                content="Hi %s, reminder of your appointment with %s at %s. Reply Y to confirm."
                % (
                    patient["first_name"] or patient["last_name"],
                    prac["display_name"],
                    time.strftime("%a %d %b, %I:%M %p", time.gmtime(start + MELBOURNE_OFFSET)),
                ),
                booking=aid,
                attendee=attendee["id"],
            )
            appointment["sms_reminder_sent"] = attendee["sms_reminder_sent"] = True
            attendee["sent_sms_reminders_count"] = 1
            if r() < 0.1:
                self.communication(
                    patient,
                    sent + 600 + int(rng.random() * 3600),
                    8,
                    1,
                    direction=2,
                    to=self.sms_sender,
                    sender=mobile["number"],
                    content=COMMUNICATION_REPLIES[int(rng.random() * (len(COMMUNICATION_REPLIES)))],
                    booking=aid,
                )
        if email and patient["receives_confirmation_emails"] and r() < 0.3:
            self.communication(
                patient,
                created + 60,
                4,
                2,
                to=email.strip(),
                sender="reception@" + self.mail_domain,
                subject="Appointment confirmation",
                content="Your %s on %s is confirmed." % (kind["name"], iso(start)),
                booking=aid,
                attendee=attendee["id"],
            )
            appointment["email_reminder_sent"] = attendee["email_reminder_sent"] = r() < 0.5
        # invoice and note
        invoice_status = note_status = None
        if not deleted and status in ("arrived", "arrived_long") and (forced or r() < 0.85):
            lines = [("item", self.items_by_type[kind["id"]])]
            if r() < 0.15:
                lines.append(("product", self.products[int(rng.random() * (len(self.products)))]))
            inv_t = min(end + 60 + int(rng.random() * 3600), now - 30)
            invoice = self.invoice(
                patient, inv_t, biz, prac, lines, appointment=aid, attendee=attendee["id"]
            )
            invoice_status = invoice["status"]
            updated = max(updated, inv_t)
            if email and r() < 0.3:
                self.communication(
                    patient,
                    inv_t + 120,
                    3,
                    2,
                    to=email.strip(),
                    sender="accounts@" + self.mail_domain,
                    subject="Invoice",  # numbered in finish()
                    content="Please find your invoice attached.",
                    invoice=invoice["id"],
                )
        if not deleted and status in ("arrived", "arrived_long") and (forced or r() < 0.75):
            note_t = min(end + 300 + int(rng.random() * (2 * DAY)), now - 20)
            draft = forced is None and r() < 0.12
            note = self.note(
                patient,
                note_t,
                prac,
                aid,
                draft=draft,
                attendee=attendee["id"],
                long=status == "arrived_long" or r() < 0.001,
                initial=kind is self.initial_type,
            )
            note_status = 10 if draft else 90
            updated = max(updated, note_t)
            if draft:
                self.edge.setdefault("draft_treatment_note", note["id"])
            if status == "arrived_long":
                self.edge["long_treatment_note"] = note["id"]
        if status == "dna" and not deleted and forced is None and r() < 0.3:
            inv_t = min(end + DAY, now - 30)
            invoice = self.invoice(
                patient,
                inv_t,
                biz,
                prac,
                [("item", self.dna_item)],
                appointment=aid,
                attendee=attendee["id"],
            )
            invoice_status = invoice["status"]
            updated = max(updated, inv_t)
        if deleted:
            gone = min(max(updated, created) + 60 + int(rng.random() * DAY), now - 10)
            appointment["deleted_at"] = attendee["deleted_at"] = iso(gone)
            updated = gone
        updated = min(max(updated, created), now - 1)
        appointment["invoice_status"] = attendee["invoice_status"] = invoice_status
        appointment["treatment_note_status"] = attendee["treatment_note_status"] = note_status
        appointment["updated_at"] = attendee["updated_at"] = iso(updated)
        # planted edge cases
        edge = self.edge
        if forced == "dna" or (status == "dna" and "did_not_arrive_appointment" not in edge):
            edge["did_not_arrive_appointment"] = aid
        if forced == "cancelled" or (status == "cancelled" and "cancelled_appointment" not in edge):
            edge["cancelled_appointment"] = aid
        if forced == "future" or (status == "future" and "future_appointment" not in edge):
            edge["future_appointment"] = aid
        if forced == "deleted" or (deleted and "deleted_appointment" not in edge):
            edge["deleted_appointment"] = aid
        if forced == "arrived_long":
            edge["arrived_appointment"] = aid
        return appointment, attendee, status

    def plant_regular_extras(self, patient, booked):
        (arrived, _, _), (dna, dna_att, _) = booked[0], booked[1]
        start = parse_iso(arrived["starts_at"])
        # a DNA fee invoice that was later deleted (with its items)
        t = parse_iso(dna["ends_at"]) + 3600
        invoice = self.invoice(
            patient,
            t,
            self.businesses[0],
            self.practitioners[0],
            [("item", self.dna_item)],
            appointment=dna["id"],
            attendee=dna_att["id"],
        )
        gone = iso(t + DAY)
        invoice["deleted_at"] = invoice["updated_at"] = gone
        for item in self.last_items:
            item["deleted_at"] = item["updated_at"] = gone
        self.edge["deleted_invoice"] = invoice["id"]
        # an invoice for goods only: no appointment, no practitioner
        self.edge["invoice_without_appointment"] = self.product_sale(
            patient, start + 2 * DAY, self.businesses[0]
        )["id"]
        # one attachment of each kind
        self.edge["attachments"] = {
            kind: self.attachment(patient, start + 3600 + i * 60, i)["id"]
            for i, kind in enumerate(("png", "pdf", "txt"))
        }
        # a note tied to no booking, and one deleted note
        self.edge["unlinked_treatment_note"] = self.note(
            patient, start + DAY, self.practitioners[0], None, draft=False
        )["id"]
        deleted = self.note(patient, start + 2 * DAY, self.practitioners[0], None, draft=True)
        deleted["deleted_at"] = deleted["updated_at"] = iso(start + 3 * DAY)
        self.edge["deleted_treatment_note"] = deleted["id"]
        alert = self.add(
            "medical_alerts",
            start - DAY,
            name="Old alert: recent surgery",
            patient_id=patient["id"],
            deleted_at=iso(start + 30 * DAY),
            updated=start + 30 * DAY,
        )
        self.edge["deleted_medical_alert"] = alert["id"]
        memo = self.communication(
            patient,
            start + 5 * DAY,
            12,
            3,
            direction=2,
            confidential=False,
            sender=_full_name(patient),
            to="%s %s" % (self.owner["first_name"], self.owner["last_name"]),
            content="Patient rang: knee much better, wants to push next visit back a week.",
        )
        self.edge["memo_communication"] = memo["id"]
        if "draft_treatment_note" not in self.edge:
            self.edge["draft_treatment_note"] = self.note(
                patient, start + 4 * DAY, self.practitioners[0], None, draft=True
            )["id"]

    def invoice(self, patient, t, biz, prac, lines, *, appointment=None, attendee=None):
        rng = self.rng
        now = DEFAULT_NOW
        t = min(t, now - 30)
        u = rng.random()
        status = 20 if u < 0.8 else 10 if u < 0.95 else 30 if u < 0.98 else 40
        closed = None
        if status in (20, 30):
            closed = t + int(rng.random() * (14 * DAY))
            if closed >= now:
                status, closed = 10, None
        concession = None
        if patient["concession_type_id"]:
            concession = self.res["concession_types"][patient["concession_type_id"]]
        invoice = self.add(
            "invoices",
            t,
            "invoices",
            updated=closed or t,
            issue_date=iso_date(t + MELBOURNE_OFFSET),
            status=status,
            status_description=INVOICE_STATUSES[status],
            closed_at=iso(closed),
            invoice_to=(patient["invoice_default_to"] or _full_name(patient)),
            patient_extra_information=(
                patient["invoice_extra_information"]
                or (
                    (
                        "Medicare: %s %s"
                        % (patient["medicare"], patient["medicare_reference_number"])
                    ).strip()
                    if patient["medicare"]
                    else None
                )
            ),
            patient_id=patient["id"],
            business_id=biz["id"],
            practitioner_id=prac["id"] if prac else None,
            appointment_id=appointment,
            attendee_id=attendee,
        )
        net_total = tax_total = discount_total = 0
        self.last_items = []
        for kind, thing in lines:
            price = int(
                round(float(thing["price"] if kind == "item" else thing["price_ex_tax"]) * 100)
            )
            quantity = 1 if kind == "item" else 1 + (rng.random() < 0.2)
            rate = self.tax_rate.get(thing["tax_id"], 0)
            percent = 10 if concession is not None and kind == "item" else 0
            discount = price * quantity * percent // 100
            net = price * quantity - discount
            tax = (net * rate + 50) // 100
            item = self.add(
                "invoice_items",
                t,
                "invoices",
                name=thing["name"],
                code=thing["item_code"],
                quantity=quantity,
                unit_price=money(price),
                net_price=money(net),
                discount_percentage=money(percent * 100),
                discounted_amount=money(discount),
                is_monetary_discount=False,
                concession_type_name=concession["name"] if percent else "",
                tax_name=self.res["taxes"][thing["tax_id"]]["name"],
                tax_rate=money(rate * 100),
                tax_amount=money(tax),
                total_including_tax=money(net + tax),
                invoice_id=invoice["id"],
                billable_item_id=thing["id"] if kind == "item" else None,
                product_id=thing["id"] if kind == "product" else None,
            )
            self.last_items.append(item)
            net_total += net
            tax_total += tax
            discount_total += discount
        invoice.update(
            net_amount=money(net_total),
            tax_amount=money(tax_total),
            total_amount=money(net_total + tax_total),
            discounted_amount=money(discount_total),
        )
        if status == 40:
            invoice["notes"] = "Overpaid by card; credit kept on account."
        return invoice

    def product_sale(self, patient, t, biz):
        product = self.products[int(self.rng.random() * (len(self.products)))]
        return self.invoice(patient, t, biz, None, [("product", product)])

    def note(self, patient, t, prac, booking, *, draft, attendee=None, long=False, initial=False):
        rng = self.rng
        prac = prac or self.practitioners[int(rng.random() * (len(self.practitioners)))]
        t = min(t, DEFAULT_NOW - 20)
        content = self.note_content(
            t, initial=initial, draft=draft, long_text=self.long_text() if long else None
        )
        finalized = None if draft else min(t + int(rng.random() * 3600), DEFAULT_NOW - 10)
        template = self.initial_template if initial else self.soap_template
        return self.add(
            "treatment_notes",
            t,
            "notes",
            updated=finalized or t,
            title=template["name"] if booking else "Phone consultation",
            content=content,
            draft=draft,
            author_name=prac["label"],
            patient_id=patient["id"],
            practitioner_id=prac["id"],
            treatment_note_template_id=template["id"],
            booking_id=booking,
            attendee_id=attendee,
            finalized_at=iso(finalized),
        )

    def communication(
        self,
        patient,
        t,
        category,
        type_code,
        *,
        content=None,
        to=None,
        sender=None,
        subject=None,
        direction=1,
        booking=None,
        attendee=None,
        invoice=None,
        confidential=None,
    ):
        if t >= DEFAULT_NOW:
            return None
        fields = dict(
            category=COMMUNICATION_CATEGORIES[category],
            category_code=category,
            type=COMMUNICATION_TYPES[type_code],
            type_code=type_code,
            direction_code=direction,
            direction_description="Sent" if direction == 1 else "Received",
            to=to,
            content=content,
            patient_id=patient["id"],
            booking_id=booking,
            attendee_id=attendee,
            invoice_id=invoice,
        )
        fields["from"] = sender
        if type_code == 2:
            fields["content_subject"] = subject
        if category == 12:
            fields["confidential"] = bool(confidential)
        return self.add("communications", int(t), "comms", **fields)

    def attachment(self, patient, t, kind):
        rng = self.rng
        t = min(t, DEFAULT_NOW - 600)
        name = _full_name(patient) or "patient"
        ascii_name = name.encode("ascii", "ignore").decode() or "patient"
        if kind == 0:
            data = png_bytes(
                8 + int(rng.random() * 24),
                8 + int(rng.random() * 24),
                (int(rng.random() * 256), int(rng.random() * 256), int(rng.random() * 256)),
            )
            filename, ctype, description = "posture-photo.png", "image/png", "Posture photo"
        elif kind == 1:
            data = pdf_bytes(
                "Referral letter",
                [
                    "Re: %s" % ascii_name,
                    "Date: %s" % iso_date(t),
                    "Please assess and treat. Kind regards, %s" % self.doctors[0]["last_name"],
                ],
            )
            filename, ctype, description = (
                "Referral letter %s.pdf" % iso_date(t),
                "application/pdf",
                "GP referral",
            )
        else:
            data = (
                "Home exercise programme for %s\n\n1. Clamshells 3×10\n2. Bridges 3×12\n"
                "3. Walk 20 min — flat ground\n\nCall us if pain > 5/10.\n" % name
            ).encode("utf-8")
            filename, ctype, description = "home_exercises.txt", "text/plain", None
        record = self.add(
            "patient_attachments",
            t,
            "other",
            updated=t + 5,
            filename=filename,
            content_type=ctype,
            size=len(data),
            description=description,
            processing_completed=True,
            processed_at=iso(t + 5),
            patient_id=patient["id"],
            user_id=self.owner["id"],
        )
        self.clinic.files[record["id"]] = data
        return record

    def referral_source(self, patient, t):
        rng = self.rng
        u = rng.random()
        types = self.referral_types
        if u < 0.3 and self.doctors:
            kind, referrer, sub = (
                types["Contact"],
                self.doctors[int(rng.random() * (len(self.doctors)))]["id"],
                None,
            )
        elif u < 0.5 and len(self.plain) > 1:
            kind, referrer, sub = (
                types["Client"],
                self.plain[int(rng.random() * (len(self.plain)))],
                None,
            )
            if referrer == patient["id"]:
                kind, referrer = types["Other"], None
        elif u < 0.8:
            kind, referrer, sub = (
                types["Internet"],
                None,
                rng.choice(types["Internet"]["subcategories"]),
            )
        else:
            kind, referrer, sub = types["Other"], None, None
        self.add(
            "referral_sources",
            t,
            "other",
            patient_id=patient["id"],
            referral_source_type_id=kind["id"],
            referrer_type=kind["referrer_type"],
            referrer_id=referrer,
            subcategory=sub,
            notes=None if rng.random() < 0.7 else "Mentioned on first visit",
        )

    def patient_case(self, patient, created, booked):
        rng = self.rng
        t = created + 3600
        doctor = patient["referring_doctor_id"] or self.doctors[0]["id"]
        medicare = rng.random() < 0.7 or not patient["dva_card_number"]
        attendees = [att["id"] for _, att, status in booked[:5] if status != "cancelled"]
        case = self.add(
            "patient_cases",
            t,
            "other",
            name="Medicare CDM (EPC) referral" if medicare else "DVA referral",
            notes="5 sessions per calendar year" if medicare else "D904 — 12 sessions",
            issue_date=iso_date(t),
            expiry_date=iso_date(t + 365 * DAY),
            max_sessions=5 if medicare else 12,
            closed=t + 365 * DAY < DEFAULT_NOW,
            closed_at=iso(t + 365 * DAY) if t + 365 * DAY < DEFAULT_NOW else None,
            include_cancelled_attendees=False,
            include_dna_attendees=True,
            referral=True,
            referral_type="medicare" if medicare else "dva",
            attendee_ids=attendees,
            patient_id=patient["id"],
            contact_id=doctor,
        )
        for appointment, attendee, status in booked[:5]:
            if status != "cancelled":
                appointment["patient_case_id"] = attendee["patient_case_id"] = case["id"]
        self.edge.setdefault("patient_case", case["id"])

    def patient_form(self, patient, first_booking):
        rng = self.rng
        appointment, attendee, _ = first_booking
        start = parse_iso(appointment["starts_at"])
        created = parse_iso(appointment["created_at"])
        t = min(created + 120, DEFAULT_NOW - 120)
        completed = rng.random() < 0.9 and min(start, DEFAULT_NOW) > t + 3600
        done = (
            t + int(rng.random() * (max(int(min(start, DEFAULT_NOW) - t), 3600)))
            if completed
            else None
        )
        signature = str(self.new_id(done, "other")) if completed else None
        symptoms = ["Headache"] if rng.random() < 0.3 else []
        self.add(
            "patient_forms",
            t,
            "other",
            updated=done or t,
            name="New Patient Intake",
            restricted_to_practitioner=rng.random() < 0.2,
            url="https://%s.%s.cliniko.com/f/?%x"
            % (self.clinic.subdomain, self.clinic.shard, rng.getrandbits(120)),
            completed_at=iso(done),
            content=self.form_content(signature, symptoms),
            signatures=[signature] if signature else None,
            patient_id=patient["id"],
            attendee_id=attendee["id"],
            booking_id=appointment["id"],
        )

    def make_orphan(self):
        """An appointment whose patient is gone for good (not even on /patients/deleted)."""
        rng = self.rng
        t = CLINIC_OPENED + 200 * DAY
        ghost = {
            "id": self.new_id(t - 30 * DAY, "patients"),
            "first_name": "Margaret",
            "last_name": "Oldfield",
            "created_at": iso(t - 30 * DAY),
            "appointment_notes": "",
            "patient_phone_numbers": [],
            "email": None,
            "reminder_type": "None",
            "receives_confirmation_emails": False,
            "concession_type_id": None,
            "invoice_default_to": "",
            "invoice_extra_information": "",
            "medicare": "",
        }
        while ghost["id"] in self.res["patients"]:
            ghost["id"] = self.new_id(t, "patients")
        appointment, _, _ = self.appointment(
            ghost,
            t - 30 * DAY,
            self.slot(t),
            self.standard_type,
            (self.practitioners[0], self.businesses[0]),
            forced="unmarked",
        )
        self.edge["orphan_appointment"] = appointment["id"]
        self.edge["orphan_patient_id"] = ghost["id"]
        for _ in range(self.size // 300):  # a few more in big clinics
            t = CLINIC_OPENED + int(rng.random() * (DEFAULT_NOW - CLINIC_OPENED - 60 * DAY))
            ghost = dict(ghost, id=self.new_id(t - DAY, "patients"), created_at=iso(t - DAY))
            self.appointment(
                ghost,
                t - DAY,
                self.slot(t),
                self.standard_type,
                (self.practitioners[0], self.businesses[0]),
                forced="unmarked",
            )

    # -- group classes ------------------------------------------------------------------------
    def make_groups(self):
        rng = self.rng
        if not self.eligible:
            return
        kind = self.group_type
        count = max(3, self.size // 25)
        first = self.eligible_times[0] + DAY
        starts = sorted(
            first + int(rng.random() * (max(DEFAULT_NOW + 30 * DAY - first, DAY)))
            for _ in range(count - 1)
        )
        starts.append(DEFAULT_NOW - 20 * DAY)  # one recent past class, with planted cases
        starts.sort()
        planted = starts.index(DEFAULT_NOW - 20 * DAY)
        starts = [
            self.slot(s) if i != planted else DEFAULT_NOW - 20 * DAY + 22 * 3600
            for i, s in enumerate(starts)
        ]
        for i, start in enumerate(starts):
            prac = self.practitioner_at(start, None)
            created = min(start - rng.randrange(1, 30) * DAY, DEFAULT_NOW - DAY)
            known = bisect.bisect_right(self.eligible_times, created)
            if known == 0:
                created = self.eligible_times[0] + 60
                known = 1
            end = start + kind["duration_in_minutes"] * 60
            group = self.add(
                "group_appointments",
                created,
                "bookings",
                starts_at=iso(start),
                ends_at=iso(end),
                max_attendees=kind["max_attendees"],
                appointment_type_id=kind["id"],
                business_id=self.businesses[0]["id"],
                practitioner_id=prac["id"],
                notes=None if rng.random() < 0.7 else "Bring a towel.",
            )
            size = min(known, 1 + int(rng.random() * kind["max_attendees"]))
            if i == planted:
                size = max(size, min(3, known))
            members = [self.eligible[k] for k in rng.sample(range(known), size)]
            deleted = i == planted - 1 if planted > 0 else i == planted + 1
            current = []
            for k, pid in enumerate(members):
                patient = self.res["patients"][pid]
                cancel = (i == planted and k == 0 and size > 1) or rng.random() < 0.05
                attendee = self.add(
                    "attendees",
                    created + k * 60,
                    "attendees",
                    booking_id=group["id"],
                    patient_id=pid,
                    arrived=True if end < DEFAULT_NOW and not cancel else None,
                )
                if cancel:
                    when = min(start - 3600, DEFAULT_NOW - 60)
                    attendee.update(
                        cancelled_at=iso(when),
                        cancellation_reason=40,
                        cancellation_reason_description="Away",
                        cancellation_note="On holiday",
                        arrived=None,
                        updated_at=iso(when),
                    )
                    if i == planted:
                        self.edge["cancelled_attendee"] = attendee["id"]
                    continue
                current.append(pid)
                if end < DEFAULT_NOW and not deleted and rng.random() < 0.6:
                    inv_t = min(end + 600, DEFAULT_NOW - 30)
                    invoice = self.invoice(
                        patient,
                        inv_t,
                        self.businesses[0],
                        prac,
                        [("item", self.items_by_type[kind["id"]])],
                        attendee=attendee["id"],
                    )
                    attendee["invoice_status"] = invoice["status"]
                    attendee["updated_at"] = iso(inv_t)
            group["patient_ids"] = current
            if deleted:
                gone = iso(min(created + DAY, DEFAULT_NOW - 60))
                group["deleted_at"] = group["updated_at"] = gone
                for attendee in self.res["attendees"].values():
                    if attendee["booking_id"] == group["id"]:
                        attendee["deleted_at"] = attendee["updated_at"] = gone
                self.edge["deleted_group_appointment"] = group["id"]
            if i == planted:
                self.edge["group_appointment"] = group["id"]

    # -- final pass ---------------------------------------------------------------------------
    def finish(self):
        invoices = sorted(
            self.res["invoices"].values(), key=lambda v: (v["created_at"], int(v["id"]))
        )
        numbers = {}
        for number, invoice in enumerate(invoices, 1):
            invoice["number"] = number
            numbers[invoice["id"]] = number
        for message in self.res["communications"].values():
            if message["category_code"] == 3 and message["invoice_id"]:
                message["content_subject"] = "Invoice #%d from %s" % (
                    numbers[message["invoice_id"]],
                    self.clinic_name,
                )
        self.clinic.version += 1


def messy_case(address):
    """``jane.doe@example.com`` -> ``Jane.Doe@Example.COM``."""
    local, _, domain = address.partition("@")
    parts = domain.split(".")
    return "%s@%s" % (
        ".".join(p[:1].upper() + p[1:] for p in local.split(".")),
        ".".join([parts[0].capitalize()] + [p.upper() for p in parts[1:]]),
    )


def is_valid_email(value):
    value = (value or "").strip()
    local, at, domain = value.partition("@")
    return bool(local and at and "." in domain and " " not in value and "@" not in domain)


def generate_clinic(seed=1, patients=12):
    """A deterministic clinic with ``patients`` patients (12 to 100,000)."""
    paused = gc.isenabled()
    gc.disable()  # millions of small dicts: the cyclic GC would make generation superlinear
    try:
        return _Generator(seed, patients).run()
    finally:
        if paused:
            gc.enable()
