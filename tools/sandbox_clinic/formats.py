"""Time, money, ID and name formats, and the fixed dates of the clinic's story.

Shared by the clinic (:mod:`.clinic`) and every generator; nothing here draws random numbers.
"""

import calendar
import time

DEFAULT_NOW = calendar.timegm((2026, 11, 1, 0, 0, 0))
CLINIC_OPENED = calendar.timegm((2021, 9, 6, 0, 0, 0))
# Records created before this date keep short legacy IDs: on au1, Cliniko went from 7-9 digit
# IDs to 18-19 digit ones about 2022-02-28.
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


def snowflake(t, seq, jitter_ms):
    """A Cliniko-style 18-19 digit ID that grows with its creation time."""
    ms = (int(t) - SNOWFLAKE_EPOCH) * 1000 + jitter_ms
    return str((ms << 22) | (seq & 0x3FFFFF))


def full_name(patient):
    return " ".join(
        filter(
            None,
            [(patient.get("first_name") or "").strip(), (patient.get("last_name") or "").strip()],
        )
    )


def slug(text):
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


def patient_label(patient):
    first = (patient.get("preferred_first_name") or patient.get("first_name") or "").strip()
    return " ".join(filter(None, [first, (patient.get("last_name") or "").strip()]))


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
