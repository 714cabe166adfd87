"""Cliniko's Data Exports (Settings > Data exports): read the CSV files, propose a column map,
turn rows into patient records shaped like the API's. Pure Python: nothing here imports Odoo.

What is known about the files is in ``/work/shared/cliniko-api/DATA_EXPORTS.md``, and little of
it is confirmed: the file name ``<Type>-Cliniko-<YYYYMMDD>.csv``, a header row, and five patient
headers (``Patient ID``, ``Last Appointment``, ``Next Appointment``, ``Updated At``,
``Unapplied Account Credit``). Every other header name below is ASSUMED (``confirmed=False``),
so nothing depends on column positions or on those names: each header is *proposed* a target,
the way Odoo's ``base_import`` does it (the exact header, then label similarity, then what the
values look like), and the admin confirms the map before anything moves.

Reading rules:

* UTF-8 with or without a BOM. A row holding bytes that are not UTF-8 fails on its own (its
  row number and why); the other rows are read.
* Excel's ``="…"`` wrapper (long ids written so that Excel keeps every digit) is stripped from
  every cell.
* A row with more or fewer cells than the header row fails on its own ("ragged").
* Dates: ISO dates and times are read as they are; ``a/b/yyyy`` dates are read day/month or
  month/day, detected from the values (a first part above 12 can only be a day, a second part
  above 12 only a day too). The file's order is said, with why; columns holding both are
  listed as mixed, and a file where every date fits both orders is listed as ambiguous for the
  admin to confirm. A date that fits neither order, or only the order the file is not read in,
  fails its row.
* A ZIP holds several CSV files; each is read as if uploaded alone.
* A file of a type not known here is refused in plain words (``ExportError``).

Row numbers are the spreadsheet's: the header row is row 1, the first patient row 2.
"""

import csv
import io
import re
import zipfile
from datetime import date, datetime

from .proposer import label_similarity, value_profile
from .values import text

FILE_NAME_RE = re.compile(
    r"^(?P<type>[A-Za-z][A-Za-z _]*?)-Cliniko-(?P<date>\d{8})(?: ?\(\d+\))?\.csv$", re.IGNORECASE
)
EXCEL_WRAPPED_RE = re.compile(r'^="(.*)"$', re.DOTALL)
SLASH_DATE_RE = re.compile(
    r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$"
)
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
MONEY_CLEAN_RE = re.compile(r"[$€£\s,]|AUD|NZD|USD|GBP|CAD|EUR", re.IGNORECASE)
DIGITS_RE = re.compile(r"^\d{1,20}$")

DMY, MDY = "dmy", "mdy"
ORDER_WORDS = {DMY: "day/month", MDY: "month/day"}

# The export types this importer knows, by the type word of the file name.
KNOWN_TYPES = {"patients": "Patients"}

# Targets of a patients export: key (of the API-shaped record, or CSV-only), label, kind,
# the header Cliniko writes (None: unknown) and whether that header is CONFIRMED by a source
# (DATA_EXPORTS.md §2) or ASSUMED here, and other spellings an export may use.
# Keys ``phone:<type>`` become ``patient_phone_numbers``; CSV-only keys are ``account_credit``,
# ``last_appointment`` and ``next_appointment`` (the API has no such fields).
# fmt: off
PATIENT_TARGETS = (
    ("id", "Patient ID", "id", True, ("Patient Id", "ID", "Id")),
    ("updated_at", "Updated At", "datetime", True, ("Last Updated", "Updated")),
    ("last_appointment", "Last Appointment", "date", True, ("Last Appointment Date",)),
    ("next_appointment", "Next Appointment", "date", True, ("Next Appointment Date",)),
    ("account_credit", "Unapplied Account Credit", "money", True, ("Account Credit",)),
    ("title", "Title", "text", False, ()),
    ("first_name", "First Name", "text", False, ("Given Name", "First")),
    ("preferred_first_name", "Preferred First Name", "text", False, ("Preferred Name",)),
    ("last_name", "Last Name", "text", False, ("Surname", "Family Name", "Last")),
    ("email", "Email", "email", False, ("Email Address", "E-mail")),
    ("phone:Mobile", "Mobile Phone", "phone", False, ("Mobile", "Mobile Number", "Cell")),
    ("phone:Home", "Home Phone", "phone", False, ("Home",)),
    ("phone:Work", "Work Phone", "phone", False, ("Work",)),
    ("phone:Other", "Other Phone", "phone", False, ("Phone", "Phone Number")),
    ("phone:Fax", "Fax", "phone", False, ("Fax Number",)),
    ("date_of_birth", "Date of Birth", "date", False, ("DOB", "Birth Date", "Birthday")),
    ("sex", "Sex", "text", False, ()),
    ("gender", "Gender", "text", False, ()),
    ("gender_identity", "Gender Identity", "text", False, ()),
    ("pronouns", "Pronouns", "text", False, ()),
    ("address_1", "Address 1", "text", False, ("Address Line 1", "Address", "Street")),
    ("address_2", "Address 2", "text", False, ("Address Line 2",)),
    ("address_3", "Address 3", "text", False, ("Address Line 3",)),
    ("city", "City", "text", False, ("Suburb", "Town")),
    ("state", "State", "text", False, ("Region", "Province")),
    ("post_code", "Post Code", "text", False, ("Postcode", "Zip", "Zip Code", "Postal Code")),
    ("country", "Country", "text", False, ()),
    ("occupation", "Occupation", "text", False, ()),
    ("emergency_contact", "Emergency Contact", "text", False, ()),
    ("medicare", "Medicare Number", "text", False, ("Medicare",)),
    ("medicare_reference_number", "Medicare Reference Number", "text", False,
     ("Medicare IRN", "Medicare Reference")),
    ("dva_card_number", "DVA Card Number", "text", False, ("DVA Number", "DVA")),
    ("referral_source", "Referral Source", "text", False, ("Referral",)),
    ("notes", "Notes", "text", False, ("Patient Notes",)),
    ("appointment_notes", "Appointment Notes", "text", False, ()),
    ("invoice_default_to", "Invoice To", "text", False, ("Invoice Default To",)),
    ("invoice_email", "Invoice Email", "email", False, ("Invoice E-mail",)),
    ("invoice_extra_information", "Invoice Extra Information", "text", False,
     ("Invoice Extra Info",)),
    ("reminder_type", "Reminder Type", "text", False, ("Reminders",)),
    ("old_reference_id", "Old Reference ID", "text", False, ("Reference ID",)),
    ("time_zone", "Time Zone", "text", False, ("Timezone",)),
    ("created_at", "Created At", "datetime", False, ("Created", "Date Created")),
    ("archived_at", "Archived At", "datetime", False, ("Archived",)),
)
# fmt: on
CUSTOM, SKIP = "custom", "skip"  # to the lead's custom-field table / left out
CSV_ONLY = ("account_credit", "last_appointment", "next_appointment")
# What only the API has: the patient's record fields no known or assumed header carries.
API_ONLY = (
    "custom_fields (the clinic's own patient fields, with their sections and types)",
    "patient_phone_numbers[].normalized_number",
    "referring_doctor, concession_type (links to other records)",
    "receives_confirmation_emails, accepted_privacy_policy, accepted_email_marketing, "
    "accepted_sms_marketing (consents)",
    "merged_at, merged_with_patient, deleted_at (the patient's lifecycle)",
)
PROPOSE_AT = 0.7  # below this label similarity, the values decide (or the column stays custom)
CUSTOM_SECTION = "Data export"


class ExportError(Exception):
    """A file that cannot be read at all (unknown type, no header row); the message says why."""


def targets(export_type="patients"):
    """``{key: {"key", "label", "kind", "confirmed", "aliases"}}`` of an export type."""
    if export_type != "patients":
        return {}
    return {
        key: {"key": key, "label": label, "kind": kind, "confirmed": confirmed, "aliases": aliases}
        for key, label, kind, confirmed, aliases in PATIENT_TARGETS
    }


def normalize_header(value):
    return " ".join(re.findall(r"[a-z0-9]+", (value or "").lower()))


def header_signature(export_type, headers):
    """What two files share when the same confirmed map fits both: type and headers (order,
    case and punctuation aside)."""
    return "%s:%s" % (export_type, "|".join(sorted(normalize_header(h) for h in headers)))


def unwrap(value):
    """``="1558354464010667075"`` -> ``1558354464010667075`` (Excel's guard for long ids)."""
    found = EXCEL_WRAPPED_RE.match(value or "")
    return found.group(1) if found else value


# -- reading a file -------------------------------------------------------------------------
class ExportFile:
    """One parsed file: its type and date, headers, rows and what went wrong."""

    def __init__(self, name):
        self.name = name
        self.export_type = None
        self.file_date = None  # the date in the file name: the data's "as of" date
        self.headers = []
        self.rows = []  # [(row number, {header: value})]
        self.errors = []  # [(row number, reason)]
        self.had_bom = False
        self.date_order = None
        self.date_order_reason = ""
        self.date_columns = {}  # header -> {"dmy": n, "mdy": n, "both": n, "neither": n}
        self.mixed_columns = []
        self.ambiguous_columns = []

    def error(self, row, reason):
        self.errors.append((row, reason))

    @property
    def signature(self):
        return header_signature(self.export_type, self.headers)

    def report(self):
        """What the admin reads: JSON-safe."""
        return {
            "file": self.name,
            "type": self.export_type,
            "date": self.file_date.isoformat() if self.file_date else None,
            "rows": len(self.rows) + len({row for row, _reason in self.errors}),
            "readable_rows": len(self.rows),
            "bom": self.had_bom,
            "date_order": self.date_order,
            "date_order_reason": self.date_order_reason,
            "mixed_columns": list(self.mixed_columns),
            "ambiguous_columns": list(self.ambiguous_columns),
            "errors": [{"row": row, "reason": reason} for row, reason in self.errors],
        }


def read_upload(name, data, date_order=None, default_order=DMY):
    """The files of one upload (a CSV, or a ZIP of CSVs) as ``ExportFile`` objects.
    Raises ExportError for a file that cannot be read at all."""
    if data[:4] == b"PK\x03\x04" or name.lower().endswith(".zip"):
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as error:
            raise ExportError("%s is not a readable ZIP file (%s)." % (name, error)) from None
        found = []
        for member in archive.infolist():
            base = member.filename.rsplit("/", 1)[-1]
            if member.is_dir() or base.startswith(".") or not base.lower().endswith(".csv"):
                continue
            found.append(read_export(base, archive.read(member), date_order, default_order))
        if not found:
            raise ExportError("%s holds no CSV file." % name)
        return found
    return [read_export(name, data, date_order, default_order)]


def read_export(name, data, date_order=None, default_order=DMY):
    """Parse one CSV file (bytes). ``date_order`` forces the order (the admin's choice);
    otherwise it is detected, falling back to ``default_order`` when the values cannot tell."""
    export = ExportFile(name)
    if data.startswith(b"\xef\xbb\xbf"):
        export.had_bom = True
        data = data[3:]
    # Bytes that are not UTF-8 become lone surrogates, so the row holding them can be told
    # and failed alone while every other row is read.
    content = data.decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header_row = next(reader)
    except StopIteration:
        raise ExportError("%s is empty: a Cliniko export has a header row." % name) from None
    except csv.Error as error:
        raise ExportError("%s is not a CSV file (%s)." % (name, error)) from None
    if _has_surrogates(header_row):
        raise ExportError("%s is not UTF-8 text: its header row cannot be read." % name)
    headers = [text(unwrap(cell)) or "" for cell in header_row]
    while headers and not headers[-1]:
        headers.pop()  # a trailing comma on the header row
    if not any(headers):
        raise ExportError("%s has an empty header row." % name)
    export.headers = headers
    export.export_type, export.file_date = recognise(name, headers)
    number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            number += 1
            export.error(number, "not readable as CSV (%s)" % error)
            continue
        number += 1
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if _has_surrogates(cells):
            export.error(number, "not UTF-8 text (the file's encoding is not UTF-8 here)")
            continue
        while len(cells) > len(headers) and not cells[-1].strip():
            cells = cells[:-1]  # trailing empty cells are not raggedness
        if len(cells) != len(headers):
            export.error(
                number, "ragged row: %s cells where the header has %s" % (len(cells), len(headers))
            )
            continue
        export.rows.append((number, {h: unwrap(c) for h, c in zip(headers, cells, strict=True)}))
    detect_date_order(export, date_order, default_order)
    return export


def _has_surrogates(cells):
    return any("\udc80" <= ch <= "\udcff" for cell in cells for ch in cell)


def recognise(name, headers):
    """``(export type, file date)`` from the file name, else from the headers; ExportError
    in plain words when neither tells a type this importer knows."""
    found = FILE_NAME_RE.match(name.rsplit("/", 1)[-1])
    file_date = None
    if found:
        try:
            file_date = datetime.strptime(found.group("date"), "%Y%m%d").date()
        except ValueError:
            file_date = None
        kind = found.group("type").strip().lower().replace(" ", "_")
        if kind in KNOWN_TYPES:
            return kind, file_date
        raise ExportError(
            "%s is Cliniko's %r export, which this importer does not read: only the %s export "
            "is known (its columns are described nowhere else)."
            % (name, found.group("type"), ", ".join(KNOWN_TYPES.values()))
        )
    normalized = {normalize_header(h) for h in headers}
    if "patient id" in normalized or (
        {"first name", "last name"} <= normalized and normalized & {"id", "patient id"}
    ):
        return "patients", None
    raise ExportError(
        "%s is not a Cliniko Data Export this importer knows: its name is not "
        "<Type>-Cliniko-<YYYYMMDD>.csv and its headers name no Patient ID." % name
    )


# -- dates ----------------------------------------------------------------------------------
def _slash_parts(value):
    found = SLASH_DATE_RE.match(value.strip())
    if not found:
        return None
    first, second, year, hour, minute, second_s, ampm = found.groups()
    year = int(year)
    if year < 100:
        year += 2000 if year <= datetime.now().year % 100 else 1900
    clock = None
    if hour is not None:
        hour = int(hour)
        if ampm:
            hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
        clock = (hour, int(minute), int(second_s or 0))
    return int(first), int(second), year, clock


def date_fits(value):
    """The orders a ``a/b/yyyy`` value fits (a subset of {dmy, mdy}); None when the value is
    not such a date (ISO or not a date at all)."""
    parts = _slash_parts(value)
    if parts is None:
        return None
    first, second, year, _clock = parts
    fits = set()
    for order, (day, month) in ((DMY, (first, second)), (MDY, (second, first))):
        try:
            date(year, month, day)
        except ValueError:
            continue
        fits.add(order)
    return fits


def looks_like_date(value):
    value = value.strip()
    return bool(ISO_DATE_RE.match(value) or SLASH_DATE_RE.match(value))


def detect_date_order(export, forced=None, default_order=DMY):
    """Set the file's date order and say why; list mixed and ambiguous date columns."""
    columns = {}
    for header in export.headers:
        values = [v.strip() for _n, row in export.rows if (v := row.get(header, "")).strip()]
        if not values:
            continue
        dated = [v for v in values if looks_like_date(v)]
        if len(dated) < 0.8 * len(values):
            continue
        counts = {DMY: 0, MDY: 0, "both": 0, "neither": 0}
        for value in dated:
            fits = date_fits(value)
            if fits is None:
                continue  # ISO: no order to tell
            key = "both" if len(fits) == 2 else next(iter(fits)) if fits else "neither"
            counts[key] += 1
        columns[header] = counts
    export.date_columns = columns
    day_first = sum(c[DMY] for c in columns.values())
    month_first = sum(c[MDY] for c in columns.values())
    export.mixed_columns = [h for h, c in columns.items() if c[DMY] and c[MDY]]
    if forced in (DMY, MDY):
        export.date_order = forced
        export.date_order_reason = "%s, as confirmed by the admin" % ORDER_WORDS[forced]
    elif day_first or month_first:
        order = DMY if day_first >= month_first else MDY
        export.date_order = order
        export.date_order_reason = "%s: %s date(s) fit only day/month, %s only month/day" % (
            ORDER_WORDS[order],
            day_first,
            month_first,
        )
        if day_first and month_first:
            export.date_order_reason += " (mixed: confirm the order)"
    else:
        export.date_order = default_order
        slash = [h for h, c in columns.items() if c["both"]]
        export.ambiguous_columns = slash
        export.date_order_reason = (
            "%s by default: every date fits both orders (confirm the order)"
            % ORDER_WORDS[default_order]
            if slash
            else "%s by default: no date in the file needs an order" % ORDER_WORDS[default_order]
        )


def parse_date_value(value, order, with_time=False):  # noqa: PLR0911 - one return per format
    """``(date or datetime, None)`` or ``(None, reason)`` for one cell, read in ``order``."""
    value = (value or "").strip()
    if not value:
        return None, None
    if ISO_DATE_RE.match(value):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" UTC", ""))
        except ValueError:
            return None, "is not a date"
        if parsed.tzinfo:  # to naive UTC, as the API's timestamps are stored
            parsed = (parsed - parsed.utcoffset()).replace(tzinfo=None)
        return (parsed if with_time else parsed.date()), None
    parts = _slash_parts(value)
    if parts is None:
        return None, "is not a date"
    fits = date_fits(value)
    if not fits:
        return None, "is not a date in either order (day/month or month/day)"
    if order not in fits:
        (other,) = fits
        return None, "only fits %s, but the file is read %s" % (
            ORDER_WORDS[other],
            ORDER_WORDS[order],
        )
    first, second, year, clock = parts
    day, month = (first, second) if order == DMY else (second, first)
    if with_time:
        hour, minute, second_s = clock or (0, 0, 0)
        try:
            return datetime(year, month, day, hour, minute, second_s), None
        except ValueError:
            return None, "has a time that does not exist"
    return date(year, month, day), None


def parse_money(value):
    """``(float, None)`` or ``(None, reason)``; blank is 0 (DATA_EXPORTS.md: blank means 0)."""
    value = (value or "").strip()
    if not value:
        return 0.0, None
    negative = value.startswith("(") and value.endswith(")")
    cleaned = MONEY_CLEAN_RE.sub("", value.strip("()"))
    try:
        amount = float(cleaned)
    except ValueError:
        return None, "is not an amount"
    return (-amount if negative else amount), None


# -- the column map proposal --------------------------------------------------------------
def column_profile(export, header):
    values = [row.get(header, "") for _n, row in export.rows]
    filled = [v for v in values if v.strip()]
    profile, share = value_profile(filled)
    result = "%s of %s filled" % (len(filled), len(values))
    if profile != "empty":
        result += "; looks like %s (%d%%)" % (profile, round(share * 100))
    return result, profile, share


PROFILE_TARGETS = {"email": "email", "phone": "phone:Mobile", "money": "account_credit"}


def propose_columns(export):
    """One proposal per header, in file order: ``{"header", "target", "confidence", "reason",
    "profile", "confirmed"}`` (``confirmed``: the header name is confirmed by a source). Each
    target is given to one header at most; the rest go to the custom-field table."""
    known = targets(export.export_type)
    by_name = {}
    for target in known.values():
        for name in (target["label"], *target["aliases"]):
            by_name.setdefault(normalize_header(name), target)
    proposals, used = {}, set()
    # 1. exact header (label or a known spelling)
    for header in export.headers:
        target = by_name.get(normalize_header(header))
        if target and target["key"] not in used:
            used.add(target["key"])
            exact = normalize_header(header) == normalize_header(target["label"])
            proposals[header] = _proposal(
                target,
                100 if target["confirmed"] and exact else 95,
                "exact header%s; %s"
                % (
                    "" if exact else " (another spelling of %r)" % target["label"],
                    "named by DATA_EXPORTS.md" if target["confirmed"] else "assumed header name",
                ),
            )
    # 2. label similarity, best pairs first
    scored = []
    for header in export.headers:
        if header in proposals or not header:
            continue
        for target in known.values():
            if target["key"] in used:
                continue
            score, name = max(
                (similarity(header, name), name) for name in (target["label"], *target["aliases"])
            )
            if score >= PROPOSE_AT:
                scored.append((-score, export.headers.index(header), header, target["key"], name))
    for score, _index, header, key, name in sorted(scored):
        if header in proposals or key in used:
            continue
        used.add(key)
        proposals[header] = _proposal(
            known[key],
            round(-score * 90),
            "header %r is %d%% similar to %r" % (header, round(-score * 100), name),
        )
    # 3. the values' profile
    for header in export.headers:
        if header in proposals or not header:
            continue
        _text, profile, share = column_profile(export, header)
        key = PROFILE_TARGETS.get(profile)
        if key and key in known and key not in used and share >= 0.9:
            used.add(key)
            proposals[header] = _proposal(
                known[key], 50, "unknown header; its values look like %s" % profile
            )
    result = []
    for header in export.headers:
        proposal = proposals.get(header) or {
            "target": CUSTOM if header else SKIP,
            "confidence": 0,
            "reason": "unknown column; kept in the lead's custom fields (%s)" % CUSTOM_SECTION
            if header
            else "a column without a header",
            "confirmed": False,
        }
        result.append(dict(proposal, header=header, profile=column_profile(export, header)[0]))
    return result


def similarity(header, name):
    """0..1: the proposer's label similarity, raised when every word of ``name`` is in the
    header ("Surname of patient" holds "Surname"): the more of the header it covers, the more."""
    score = label_similarity(header, name)
    header_words, name_words = (
        set(normalize_header(header).split()),
        set(normalize_header(name).split()),
    )
    if name_words and name_words <= header_words:
        score = max(score, 0.7 + 0.2 * len(name_words) / len(header_words))
    return score


def _proposal(target, confidence, reason):
    return {
        "target": target["key"],
        "confidence": confidence,
        "reason": reason,
        "confirmed": target["confirmed"],
    }


# -- rows -> API-shaped records -----------------------------------------------------------
def to_records(export, column_map):
    """Turn the file's rows into patient records shaped like the API's, following
    ``column_map`` ({header: target key | "custom" | "skip"}).

    Returns ``[(row number, record or None, reason or None)]``, failed rows included (parse
    errors first), ordered by row. A record also carries the CSV-only values
    (``account_credit``...) under those keys."""
    known = targets(export.export_type)
    order = export.date_order or DMY
    results = [(row, None, reason) for row, reason in export.errors]
    for number, row in export.rows:
        record, problems = {"patient_phone_numbers": []}, []
        custom = []
        for header, cell in row.items():
            key = column_map.get(header, CUSTOM if header else SKIP)
            value = (cell or "").strip()
            if key == SKIP:
                continue
            if key == CUSTOM:
                if value:
                    custom.append(
                        {
                            "name": header,
                            "token": "export:%s" % normalize_header(header).replace(" ", "_"),
                            "type": "text",
                            "value": value,
                        }
                    )
                continue
            kind = known[key]["kind"] if key in known else "text"
            if kind == "id":
                if not value:
                    problems.append("%s is empty" % header)
                elif not DIGITS_RE.match(value):
                    problems.append("%s %r is not a number" % (header, value[:30]))
                record["id"] = value
            elif kind in ("date", "datetime"):
                parsed, reason = parse_date_value(value, order, with_time=kind == "datetime")
                if reason:
                    problems.append("%s %s" % (header, reason))
                elif parsed is None:
                    record[key] = None
                elif kind == "datetime":
                    record[key] = parsed.strftime("%Y-%m-%dT%H:%M:%SZ")
                else:
                    record[key] = parsed.isoformat()
            elif kind == "money":
                amount, reason = parse_money(value)
                if reason:
                    problems.append("%s %r %s" % (header, value[:30], reason))
                record[key] = amount
            elif key.startswith("phone:"):
                if value:
                    record["patient_phone_numbers"].append(
                        {"number": value, "phone_type": key.split(":", 1)[1]}
                    )
            else:
                record[key] = value
        if "id" not in record and not problems:
            problems.append("no column is mapped to the Patient ID")
        if custom:
            record["custom_fields"] = {"sections": [{"name": CUSTOM_SECTION, "fields": custom}]}
        if problems:
            results.append((number, None, "; ".join(problems)))
        else:
            results.append((number, record, None))
    results.sort(key=lambda result: result[0])
    return results


def present_keys(column_map):
    """The record keys a file carries (its mapped targets; phones as one key)."""
    keys = set()
    for target in column_map.values():
        if target == CUSTOM:
            keys.add("custom_fields")
        elif target.startswith("phone:"):
            keys.add("patient_phone_numbers")
        elif target != SKIP:
            keys.add(target)
    return keys
