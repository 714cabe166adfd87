"""The pure reading rules: text, ids, dates, e-mails and phone numbers (no database)."""

from datetime import date, datetime

from ..migration import graph
from ..migration.values import (
    link_id,
    normalize_email,
    normalize_phone,
    parse_date,
    parse_datetime,
    text,
)


def test_empty_text_and_null_are_the_same():
    assert text("") is None
    assert text("   ") is None
    assert text(None) is None
    assert text("  Zoë ") == "Zoë"


def test_link_id_reads_the_last_path_segment():
    assert link_id(
        {"links": {"self": "https://api.au1.cliniko.com/v1/patients/836447129235883061"}}
    ) == ("836447129235883061")
    assert link_id({"links": {"self": "http://127.0.0.1:5000/v1/contacts/82?page=1"}}) == "82"
    assert link_id(None) is None
    assert link_id({}) is None


def test_datetimes_are_naive_utc_and_dates_are_not_shifted():
    assert parse_datetime("2016-07-21T03:45:00Z") == datetime(2016, 7, 21, 3, 45)
    assert parse_datetime("2016-07-21T13:45:00+10:00") == datetime(2016, 7, 21, 3, 45)
    assert parse_datetime("") is None
    assert parse_date("1984-02-29") == date(1984, 2, 29)


def test_email_is_trimmed_and_lower_cased_when_valid():
    assert normalize_email("  Jane.Doe@Example.COM ") == ("jane.doe@example.com", True)


def test_invalid_email_is_kept_as_typed_and_flagged():
    assert normalize_email("jane@") == ("jane@", False)
    assert normalize_email(" not an email ") == ("not an email", False)
    assert normalize_email("") == (None, True)


def test_local_phone_numbers_use_the_clinic_country():
    assert normalize_phone("0412 345 678", "AU") == ("+61412345678", True)
    assert normalize_phone("(03) 9123 4567", "AU") == ("+61391234567", True)


def test_international_phone_numbers_keep_their_own_country():
    assert normalize_phone("+44 20 7946 0958", "AU") == ("+442079460958", True)


def test_unreadable_phone_numbers_are_kept_as_typed_and_flagged():
    assert normalize_phone("ask reception", "AU") == ("ask reception", False)
    assert normalize_phone("12", "AU") == ("12", False)
    assert normalize_phone("0412 345 678", None) == ("0412 345 678", False)


def test_load_order_puts_prerequisites_first_and_rollback_reverses_it():
    order = [resource.name for resource in graph.load_order()]
    for resource in graph.GRAPH:
        for dependency in resource.depends:
            assert order.index(dependency) < order.index(resource.name)
    assert [r.name for r in graph.rollback_order()] == list(reversed(order))
