"""What a stored record of each resource looks like: its fields with their defaults
(``DEFAULTS``), its relations (``FOREIGN_KEYS``, ``OPTIONAL_RELATIONS``), the has-many links it
renders (``LIST_LINKS``), and the code tables the API spells out (statuses, reasons, categories).
"""

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


def new_record(resource, **fields):
    """A stored record of ``resource`` with every field of its shape (defaults) plus ``fields``."""
    defaults = DEFAULTS[resource]
    record = defaults.copy()
    record.update(fields)
    for key, factory in _MUTABLE_DEFAULTS[resource]:
        if record[key] is defaults[key]:
            record[key] = factory()
    return record
