"""Pure helpers that read Cliniko values: text, ids, datetimes, e-mails and phone numbers.

Nothing here imports Odoo, so the rules can be read and tested on their own.
"""

import re
from datetime import UTC, date, datetime

import phonenumbers

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def text(value):
    """Cliniko sends empty text as "" or null: both become None; other text is stripped."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def link_id(link):
    """The id at the end of a relation ``{"links": {"self": ".../patients/82"}}``."""
    if not link:
        return None
    url = link.get("links", {}).get("self") if isinstance(link, dict) else link
    if not url:
        return None
    last = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return last or None


def parse_datetime(value):
    """A Cliniko UTC timestamp (``2016-07-21T03:45:00Z``) as a naive UTC datetime."""
    value = text(value)
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def parse_date(value):
    """A ``YYYY-MM-DD`` date; never shifted by a time zone."""
    value = text(value)
    return date.fromisoformat(value[:10]) if value else None


def normalize_email(value):
    """Return ``(email, ok)``: a valid address trimmed and lower-cased, or the text as given."""
    value = text(value)
    if not value:
        return None, True
    if _EMAIL_RE.match(value):
        return value.lower(), True
    return value, False


def normalize_phone(value, region=None):
    """Return ``(number, ok)``: E.164 when the number can be read, else the text as given.

    ``region`` (ISO country code, e.g. "AU") reads numbers written without a country code.
    """
    value = text(value)
    if not value:
        return None, True
    try:
        number = phonenumbers.parse(value, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return value, False
    if not phonenumbers.is_possible_number(number):
        return value, False
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), True
