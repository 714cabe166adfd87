"""The sandbox's Cliniko Data Exports: the CSV files an administrator would download from
Settings > Data exports, written from the very clinic the sandbox serves over the API.

    from tools.sandbox_exports import patients_csv, write_exports
    data = patients_csv(sandbox.clinic)                      # bytes of Patients-Cliniko-<date>.csv
    write_exports(sandbox.clinic, "/tmp/exports")            # the files, on disk

or ``python3 tools/cliniko_sandbox.py --write-exports DIR`` (see its ``--export-*`` options).

THE LAYOUT IS INVENTED. No source shows a header row of a Cliniko export
(/work/shared/cliniko-api/DATA_EXPORTS.md). Only these are CONFIRMED and written as confirmed:
the file name ``Patients-Cliniko-<YYYYMMDD>.csv``, a header row, comma separated, one row per
patient, and the headers ``Patient ID`` (long ids Excel-escaped as ``="…"``), ``Last
Appointment`` (the latest non-cancelled appointment), ``Next Appointment``, ``Updated At`` (the
API's ``updated_at``) and ``Unapplied Account Credit`` (blank means 0; the API has none, so
the sandbox invents a credit balance per patient, seeded). Every other header, the column
order, the date and money formats, the encoding and whether archived patients are included are
guesses, and every one of them is configurable (``headers``, ``order``, ``date_order``,
``escape_ids``, ``bom``, ``include_archived``).
"""

import hashlib
import os
from datetime import datetime

CONFIRMED_HEADERS = (
    "Patient ID",
    "Last Appointment",
    "Next Appointment",
    "Updated At",
    "Unapplied Account Credit",
)


def _phone(kind):
    def get(patient, _context):
        for phone in patient.get("patient_phone_numbers") or []:
            if phone.get("phone_type") == kind:
                return phone.get("number") or ""
        return ""

    return get


def _field(name):
    return lambda patient, _context: patient.get(name) or ""


# (header, value getter). INVENTED except the five CONFIRMED_HEADERS; kinds say how a value is
# written: "id", "date", "datetime", "money" or text.
# fmt: off
DEFAULT_COLUMNS = (
    ("Patient ID", "id", lambda p, c: p["id"]),
    ("Title", "text", _field("title")),
    ("First Name", "text", _field("first_name")),
    ("Preferred First Name", "text", _field("preferred_first_name")),
    ("Last Name", "text", _field("last_name")),
    ("Date of Birth", "date", _field("date_of_birth")),
    ("Sex", "text", _field("sex")),
    ("Gender Identity", "text", _field("gender_identity")),
    ("Email", "text", _field("email")),
    ("Mobile Phone", "text", _phone("Mobile")),
    ("Home Phone", "text", _phone("Home")),
    ("Work Phone", "text", _phone("Work")),
    ("Address 1", "text", _field("address_1")),
    ("Address 2", "text", _field("address_2")),
    ("Address 3", "text", _field("address_3")),
    ("City", "text", _field("city")),
    ("State", "text", _field("state")),
    ("Post Code", "text", _field("post_code")),
    ("Country", "text", _field("country")),
    ("Occupation", "text", _field("occupation")),
    ("Emergency Contact", "text", _field("emergency_contact")),
    ("Medicare Number", "text", _field("medicare")),
    ("Medicare Reference Number", "text", _field("medicare_reference_number")),
    ("DVA Card Number", "text", _field("dva_card_number")),
    ("Referral Source", "text", _field("referral_source")),
    ("Concession", "text", lambda p, c: c["concessions"].get(p.get("concession_type_id") or "")),
    ("Notes", "text", _field("notes")),
    ("Old Reference ID", "text", _field("old_reference_id")),
    ("Created At", "datetime", _field("created_at")),
    ("Updated At", "datetime", _field("updated_at")),
    ("Last Appointment", "date", lambda p, c: c["last"].get(p["id"], "")),
    ("Next Appointment", "date", lambda p, c: c["next"].get(p["id"], "")),
    ("Unapplied Account Credit", "money", lambda p, c: account_credit(c["seed"], p["id"])),
)
# fmt: on


def account_credit(seed, patient_id):
    """The sandbox's invented credit balance of a patient (seeded): a third of the patients
    hold 5.00 to 150.00; the others none (blank)."""
    digest = hashlib.sha256(("cliniko-sandbox-credit:%s:%s" % (seed, patient_id)).encode())
    number = int.from_bytes(digest.digest()[:4], "big")
    if number % 3:
        return ""
    return "%.2f" % (5 * (1 + number // 3 % 30))


def appointment_dates(clinic):
    """``({patient id: last date}, {patient id: next date})`` from the clinic's non-cancelled,
    non-deleted individual appointments, relative to the clinic's clock (ISO dates, UTC)."""
    now = clinic.now_iso()
    last, following = {}, {}
    for appointment in clinic.resources["individual_appointments"].values():
        if appointment.get("cancelled_at") or appointment.get("deleted_at"):
            continue
        patient, starts = appointment.get("patient_id"), appointment.get("starts_at") or ""
        if not patient or not starts:
            continue
        if starts <= now:
            last[patient] = max(last.get(patient, ""), starts)
        elif starts < following.get(patient, "9999"):
            following[patient] = starts
    return (
        {key: value[:10] for key, value in last.items()},
        {key: value[:10] for key, value in following.items()},
    )


def _date(value, date_order, with_time):
    if not value:
        return ""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    pattern = "%d/%m/%Y" if date_order == "dmy" else "%m/%d/%Y"
    if date_order == "iso":
        pattern = "%Y-%m-%d"
    if with_time:
        pattern += " %H:%M:%S"
    return parsed.strftime(pattern)


def export_patients(clinic, include_archived=True):
    """The patients one row each, oldest first: deleted and merged-away patients left out."""
    rows = [
        patient
        for patient in clinic.resources["patients"].values()
        if not patient.get("deleted_at")
        and not patient.get("merged_at")
        and (include_archived or not patient.get("archived_at"))
    ]
    return sorted(rows, key=lambda patient: (patient.get("created_at") or "", patient["id"]))


def patients_csv(
    clinic,
    *,
    headers=None,
    order=None,
    date_order="dmy",
    escape_ids="long",
    bom=True,
    include_archived=True,
    patients=None,
):
    """The patients export of ``clinic`` as bytes.

    ``headers`` renames columns ({default header: header written}, None drops it); ``order``
    lists the headers written, in order (default: all, in ``DEFAULT_COLUMNS`` order);
    ``date_order`` is "dmy", "mdy" or "iso"; ``escape_ids`` is "long" (ids of 16+ digits as
    ``="…"``), "all" or "none"; ``bom`` writes a UTF-8 BOM; ``patients`` limits the rows to
    these ids."""
    headers = headers or {}
    columns = [
        (headers.get(name, name), kind, getter)
        for name, kind, getter in DEFAULT_COLUMNS
        if headers.get(name, name) is not None
    ]
    if order:
        by_name = {column[0]: column for column in columns}
        columns = [by_name[name] for name in order if name in by_name]
    last, following = appointment_dates(clinic)
    context = {
        "seed": clinic.seed,
        "last": last,
        "next": following,
        "concessions": {
            key: value.get("name") or ""
            for key, value in clinic.resources["concession_types"].items()
        },
    }
    lines = [",".join(_cell(column[0]) for column in columns)]
    for patient in export_patients(clinic, include_archived):
        if patients is not None and patient["id"] not in patients:
            continue
        cells = []
        for _header, kind, getter in columns:
            value = getter(patient, context)
            if kind == "id":
                value = str(value)
                if escape_ids == "all" or (escape_ids == "long" and len(value) > 15):
                    # written raw, as Excel reads a formula: ="1558354464010667075"
                    cells.append('="%s"' % value)
                    continue
            elif kind in ("date", "datetime"):
                value = _date(value, date_order, kind == "datetime")
            cells.append(_cell("" if value is None else str(value)))
        lines.append(",".join(cells))
    data = "".join(line + "\r\n" for line in lines).encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def _cell(value):
    """One CSV cell, quoted when it holds a comma, a quote or a line break."""
    if any(ch in value for ch in ',"\r\n'):
        return '"%s"' % value.replace('"', '""')
    return value


def file_name(clinic, export_type="Patients"):
    """``Patients-Cliniko-<YYYYMMDD>.csv``, dated by the clinic's clock (the "as of" date)."""
    return "%s-Cliniko-%s.csv" % (export_type, clinic.now.strftime("%Y%m%d"))


def write_exports(clinic, directory, **options):
    """Write the clinic's exports (the patients export) into ``directory``; return the paths."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, file_name(clinic))
    with open(path, "wb") as handle:
        handle.write(patients_csv(clinic, **options))
    return [path]
