"""The pure reading rules of Cliniko's Data Exports (no database): file names, BOM, Excel's
``="…"`` ids, ZIPs, the date order, row-level errors and the proposed column map."""

import io
import zipfile

import pytest

from ..migration import exports
from ..tools import sandbox_clinic, sandbox_exports

HEADER = "Patient ID,First Name,Last Name,Date of Birth,Unapplied Account Credit\r\n"


def read(text, name="Patients-Cliniko-20260710.csv", **options):
    data = text.encode("utf-8") if isinstance(text, str) else text
    (export,) = exports.read_upload(name, data, **options)
    return export


def test_file_name_gives_type_and_date():
    export = read(HEADER + "12,Ann,Lee,,\r\n")
    assert export.export_type == "patients"
    assert export.file_date.isoformat() == "2026-07-10"


def test_headers_give_the_type_when_the_name_does_not():
    export = read(HEADER + "12,Ann,Lee,,\r\n", name="download (3).csv")
    assert export.export_type == "patients"
    assert export.file_date is None


def test_unknown_types_are_refused_in_words():
    with pytest.raises(exports.ExportError, match="does not read"):
        read("Invoice ID,Total\r\n1,2\r\n", name="Invoices-Cliniko-20260710.csv")
    with pytest.raises(exports.ExportError, match="not a Cliniko Data Export"):
        read("Colour,Size\r\nred,2\r\n", name="sizes.csv")
    with pytest.raises(exports.ExportError, match="empty"):
        read("", name="Patients-Cliniko-20260710.csv")


def test_bom_and_excel_wrapped_ids():
    data = b"\xef\xbb\xbf" + (HEADER + '="1558354464010667075",Ann,Lee,,\r\n').encode()
    export = read(data)
    assert export.had_bom
    assert export.headers[0] == "Patient ID"
    ((_row, record, reason),) = exports.to_records(export, {"Patient ID": "id"})
    assert reason is None
    assert record["id"] == "1558354464010667075"
    # the quoted spelling a CSV writer gives the same cell
    export = read(HEADER + '"=""1558354464010667075""",Ann,Lee,,\r\n')
    assert exports.to_records(export, {"Patient ID": "id"})[0][1]["id"] == "1558354464010667075"


def test_zip_of_csvs():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export/Patients-Cliniko-20260710.csv", HEADER + "12,Ann,Lee,,\r\n")
        archive.writestr("__MACOSX/._Patients-Cliniko-20260710.csv", b"junk")
        archive.writestr("readme.txt", "not a csv")
    found = exports.read_upload("exports.zip", buffer.getvalue())
    assert [export.name for export in found] == ["Patients-Cliniko-20260710.csv"]


def test_ragged_and_badly_encoded_rows_fail_alone():
    data = (HEADER + "12,Ann,Lee,,\r\n13,Bob\r\n").encode() + b"14,Z\xe9,Lee,,\r\n15,Cy,Ro,,\r\n"
    export = read(data)
    assert [row for row, _values in export.rows] == [2, 5]
    assert export.errors[0][0] == 3 and "ragged" in export.errors[0][1]
    assert export.errors[1][0] == 4 and "UTF-8" in export.errors[1][1]


def test_non_numeric_id_fails_its_row():
    export = read(HEADER + "12,Ann,Lee,,\r\nabc,Bob,Lee,,\r\n")
    results = exports.to_records(export, {h: t for h, t in _proposed(export).items()})
    assert results[1][1] is None and "is not a number" in results[1][2]
    assert results[1][0] == 3


def test_date_order_detected_from_values():
    export = read(HEADER + "1,A,B,25/12/1980,\r\n2,C,D,03/04/1990,\r\n")
    assert export.date_order == exports.DMY
    assert "1 date(s) fit only day/month" in export.date_order_reason
    export = read(HEADER + "1,A,B,12/25/1980,\r\n2,C,D,03/04/1990,\r\n")
    assert export.date_order == exports.MDY
    records = exports.to_records(export, _proposed(export))
    assert records[1][1]["date_of_birth"] == "1990-03-04"


def test_ambiguous_and_mixed_dates_are_listed():
    export = read(HEADER + "1,A,B,01/02/1980,\r\n2,C,D,03/04/1990,\r\n")
    assert export.ambiguous_columns == ["Date of Birth"]
    assert "confirm" in export.date_order_reason
    export = read(HEADER + "1,A,B,25/12/1980,\r\n2,C,D,12/25/1990,\r\n3,E,F,26/12/1980,\r\n")
    assert export.mixed_columns == ["Date of Birth"]
    records = exports.to_records(export, _proposed(export))
    assert records[1][1] is None and "only fits month/day" in records[1][2]
    # the admin's order wins
    export = read(HEADER + "1,A,B,01/02/1980,\r\n", date_order=exports.MDY)
    assert exports.to_records(export, _proposed(export))[0][1]["date_of_birth"] == "1980-01-02"


def test_a_date_fitting_neither_order_fails_its_row():
    export = read(HEADER + "1,A,B,31/02/1980,\r\n2,C,D,13/13/1990,\r\n3,E,F,1980-05-06,\r\n")
    results = exports.to_records(export, _proposed(export))
    assert "is not a date in either order" in results[0][2]
    assert "is not a date in either order" in results[1][2]
    assert results[2][1]["date_of_birth"] == "1980-05-06"


def test_money_blank_means_zero():
    export = read(HEADER + '1,A,B,,"$1,250.50"\r\n2,C,D,,\r\n3,E,F,,lots\r\n')
    results = exports.to_records(export, _proposed(export))
    assert results[0][1]["account_credit"] == 1250.5
    assert results[1][1]["account_credit"] == 0.0
    assert "is not an amount" in results[2][2]


def test_proposal_exact_then_similar_then_profile_then_custom():
    text = (
        "Patient ID,Given Name,Surname Of Patient,Contact E-mail Addr,Favourite Colour\r\n"
        "1,Ann,Lee,ann@example.com,red\r\n2,Bob,Ray,bob@example.com,blue\r\n"
    )
    proposals = {p["header"]: p for p in exports.propose_columns(read(text))}
    assert proposals["Patient ID"]["target"] == "id"
    assert proposals["Patient ID"]["confidence"] == 100 and proposals["Patient ID"]["confirmed"]
    assert proposals["Given Name"]["target"] == "first_name"  # a known spelling
    assert "another spelling" in proposals["Given Name"]["reason"]
    assert proposals["Surname Of Patient"]["target"] == "last_name"  # label similarity
    assert "similar" in proposals["Surname Of Patient"]["reason"]
    assert proposals["Contact E-mail Addr"]["target"] == "email"
    assert proposals["Favourite Colour"]["target"] == exports.CUSTOM  # listed, never dropped
    record = exports.to_records(read(text), {h: p["target"] for h, p in proposals.items()})[0][1]
    (section,) = record["custom_fields"]["sections"]
    assert section["fields"][0]["name"] == "Favourite Colour"


def test_email_found_by_its_values_alone():
    text = "Patient ID,Last Name,Qx7\r\n1,Lee,ann@example.com\r\n2,Ray,bob@example.com\r\n"
    proposals = {p["header"]: p for p in exports.propose_columns(read(text))}
    assert proposals["Qx7"]["target"] == "email"
    assert "values look like email" in proposals["Qx7"]["reason"]


def test_signature_ignores_order_and_case():
    assert exports.header_signature("patients", ["Patient ID", "Email"]) == (
        exports.header_signature("patients", ["email", "PATIENT  ID"])
    )


def test_the_sandbox_export_reads_back_as_the_clinic():
    clinic = sandbox_clinic.generate_clinic(2, 10)
    for options in ({}, {"date_order": "mdy", "escape_ids": "all", "bom": False}):
        data = sandbox_exports.patients_csv(clinic, **options)
        export = read(data, name=sandbox_exports.file_name(clinic))
        assert export.errors == []
        records = exports.to_records(export, _proposed(export))
        patients = {p["id"]: p for p in sandbox_exports.export_patients(clinic)}
        assert {record["id"] for _row, record, _reason in records} == set(patients)
        for _row, record, _reason in records:
            patient = patients[record["id"]]
            assert record["updated_at"] == patient["updated_at"]
            assert record["date_of_birth"] == (patient["date_of_birth"] or None)
            assert record["last_name"] == (patient["last_name"] or "")


def test_sandbox_layout_is_configurable():
    clinic = sandbox_clinic.generate_clinic(2, 4)
    data = sandbox_exports.patients_csv(
        clinic,
        headers={"Email": "E-mail Address", "Title": None},
        order=["Patient ID", "Last Name", "E-mail Address"],
    )
    assert data.decode("utf-8-sig").splitlines()[0] == "Patient ID,Last Name,E-mail Address"


def _proposed(export):
    return {p["header"]: p["target"] for p in exports.propose_columns(export)}
