"""A deterministic, believable and MESSY Cliniko clinic for the sandbox server (no I/O).

``generate_clinic(seed, patients)`` builds a :class:`Clinic`. Same seed and size, same data,
whatever the wall clock says: the clinic owns its clock (``clinic.now``, fixed at
2026-11-01T00:00:00Z and moved only by ``clinic.tick``).

How records are stored
    ``clinic.resources[<resource>][<id>]`` is a plain dict in the API's field set (see the
    ``DEFAULTS`` table in :mod:`.schema`), with IDs as strings, date-times as
    ``YYYY-MM-DDTHH:MM:SSZ`` strings, dates as ``YYYY-MM-DD`` and money as decimal strings.
    Relations are stored as ID strings under ``<name>_id`` keys (``patient_id``,
    ``practitioner_id``, ...); has-many and ``links`` are not stored.
    ``clinic.render(resource, record, base_url)`` turns a stored record into exactly what the API
    serves (relation links, list links, ``links.self``) and ``clinic.get(resource, id)`` renders
    a copy against ``clinic.base_url``.

Every edge case a migration must cope with is planted even in a 12-patient clinic; their IDs are
in ``clinic.edge_cases`` (see ``EDGE_CASE_KEYS``).

Where things are
    ``clinic``      the Clinic: the store the sandbox serves, its clock and its write helpers
    ``schema``      each resource's stored fields, relations, list links and code tables
    ``formats``     time, money, ID and name formats; the fixed dates of the clinic's story
    ``generator``   ``generate_clinic`` and the generator class, one mixin per group below
    ``reference``   account set-up: taxes, businesses, templates, types, products, staff
    ``patients``    patients, contacts (doctors, payers) and referral sources
    ``appointments``  individual appointments, patient cases and group classes
    ``history``     treatment notes, patient forms and communications
    ``billing``     invoices and their items
    ``files``       attachment bytes (PNG, PDF, text) and attachment records
    ``edge_cases``  ``EDGE_CASE_KEYS`` and the planting of the edge cases
    ``vocabulary``  the word lists the generators draw from

The package re-exports the names the single module ``sandbox_clinic`` had, so that
``from .sandbox_clinic import X`` and ``sandbox_clinic.X`` keep working.
"""

from .clinic import Clinic
from .edge_cases import EDGE_CASE_KEYS
from .files import pdf_bytes, png_bytes
from .formats import (
    CLINIC_OPENED,
    DAY,
    DEFAULT_NOW,
    HYDRO_ARCHIVED_AT,
    LEGACY_ID_CUTOFF,
    MELBOURNE_OFFSET,
    OLD_ROOMS_CLOSED_AT,
    PRACTITIONERS_LEFT_AT,
    SNOWFLAKE_EPOCH,
    is_valid_email,
    iso,
    iso_date,
    messy_case,
    money,
    parse_iso,
    snowflake,
)
from .generator import generate_clinic
from .schema import (
    CANCELLATION_REASONS,
    COMMUNICATION_CATEGORIES,
    COMMUNICATION_TYPES,
    DEFAULTS,
    FOREIGN_KEYS,
    INVOICE_STATUSES,
    LIST_LINKS,
    OPTIONAL_RELATIONS,
    PATIENT_CHILDREN,
    RESOURCE_NAMES,
    new_record,
)
from .vocabulary import (
    APPOINTMENT_TYPES,
    AU_MOBILE_PREFIXES,
    AU_PLACES,
    CJK_NAMES,
    CLINIC_NAMES,
    COLORS,
    COMMUNICATION_REPLIES,
    COMPLAINTS,
    DOCTORS,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    INTERNATIONAL_PLACES,
    INVALID_EMAILS,
    LAST_NAMES,
    LONG_NOTE_SENTENCES,
    MEDICAL_ALERTS,
    NICKNAMES,
    OCCUPATIONS,
    PATIENT_NOTES,
    PAYERS,
    PRACTITIONER_POOL,
    REGIONS,
    STREETS,
    TITLES,
    TREATMENTS,
    UNPARSEABLE_PHONES,
)
