"""The Cliniko sandbox itself, over real HTTP: plain pytest functions, no Odoo, no mocks.

They run with the rest of the suite under pytest-odoo (``tools/test.sh``). To run them without
Odoo, collect the file from OUTSIDE the addon package (the addon root's ``__init__.py`` imports
Odoo models, so plain pytest cannot import ``<addon>.tests.*``), e.g.::

    mkdir -p /tmp/sbx && ln -sf "$PWD/tests/test_sandbox.py" /tmp/sbx/
    python3 -m pytest -q -p no:odoo -p no:cacheprovider --rootdir=/tmp/sbx /tmp/sbx/test_sandbox.py
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

try:  # inside the addon package (pytest-odoo)
    from ..tools import sandbox_clinic
    from ..tools.cliniko_sandbox import ClinikoSandbox, SteppingClock
except ImportError:  # plain pytest: import the tools directory directly
    TOOLS = str(Path(__file__).resolve().parent.parent / "tools")
    if TOOLS not in sys.path:
        sys.path.insert(0, TOOLS)
    import sandbox_clinic
    from cliniko_sandbox import ClinikoSandbox, SteppingClock

SANDBOX_SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "cliniko_sandbox.py"
HEADERS = {"Accept": "application/json", "User-Agent": "Sandbox tests (tests@example.com)"}
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def session_for(sandbox, key=None):
    session = requests.Session()
    session.headers.update(HEADERS)
    session.auth = (sandbox.api_key if key is None else key, "")
    return session


def walk(session, url, params=None):
    """Every page of a list, following links.next; returns (pages, records)."""
    pages, records = [], []
    while url:
        response = session.get(url, params=params, timeout=10)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        key = next(k for k, v in page.items() if isinstance(v, list))
        records.extend(page[key])
        url, params = page["links"].get("next"), None
    return pages, records


@pytest.fixture(scope="module")
def sandbox():
    with ClinikoSandbox(seed=1, patients=12) as server:
        yield server


@pytest.fixture(scope="module")
def big_sandbox():
    with ClinikoSandbox(seed=3, patients=150) as server:
        yield server


@pytest.fixture()
def api(sandbox):
    return session_for(sandbox)


@pytest.fixture()
def clinic(sandbox):
    return sandbox.clinic


def listed_patient_ids(clinic, archived=True):
    return {
        pid
        for pid, p in clinic.resources["patients"].items()
        if not p["deleted_at"] and (archived or not p["archived_at"])
    }


# -- pagination --------------------------------------------------------------------------------


def test_pagination_follows_next_links_and_returns_every_record_once(sandbox, api):
    pages, records = walk(api, sandbox.url("/patients"), {"per_page": 3, "q[]": "archived_at:*"})
    ids = [r["id"] for r in records]
    assert len(pages) >= 4
    assert len(ids) == len(set(ids))
    assert set(ids) == listed_patient_ids(sandbox.clinic)


def test_total_entries_counts_every_match_not_just_the_page(sandbox, api):
    page = api.get(sandbox.url("/patients"), params={"per_page": 2}).json()
    assert len(page["patients"]) == 2
    assert page["total_entries"] == len(listed_patient_ids(sandbox.clinic, archived=False))


def test_next_and_previous_links_carry_per_page_filters_and_sort(sandbox, api):
    page = api.get(
        sandbox.url("/patients"),
        params={"page": 2, "per_page": 2, "q[]": "archived_at:*", "sort": "updated_at:desc"},
    ).json()
    for name in ("self", "next", "previous"):
        link = page["links"][name]
        assert link.startswith(sandbox.base_url + "/patients?")
        assert "per_page=2" in link and "q%5B%5D=archived_at%3A%2A" in link
        assert "sort=updated_at%3Adesc" in link
    assert "page=3" in page["links"]["next"] and "page=1" in page["links"]["previous"]


def test_per_page_above_100_is_clamped_to_100(big_sandbox):
    page = (
        session_for(big_sandbox)
        .get(big_sandbox.url("/patients"), params={"per_page": 500, "q[]": "archived_at:*"})
        .json()
    )
    assert page["total_entries"] > 100
    assert len(page["patients"]) == 100
    assert "per_page=100" in page["links"]["next"]


@pytest.mark.parametrize("value", ["0", "-3", "lots"])
def test_per_page_below_one_or_not_a_number_is_400(sandbox, api, value):
    response = api.get(sandbox.url("/patients"), params={"per_page": value})
    assert response.status_code == 400
    assert "per_page" in response.json()["message"]


def test_page_past_the_end_is_an_empty_list_without_next(sandbox, api):
    page = api.get(sandbox.url("/patients"), params={"page": 99}).json()
    assert page["patients"] == []
    assert "next" not in page["links"]
    assert page["total_entries"] > 0


def test_default_order_is_created_at_ascending_with_ties_by_id(sandbox, api):
    _, records = walk(api, sandbox.url("/individual_appointments"), {"per_page": 100})
    keys = [(r["created_at"], int(r["id"])) for r in records]
    assert keys == sorted(keys)


# -- filters -----------------------------------------------------------------------------------


def test_id_filter_takes_a_comma_list(sandbox, api, clinic):
    wanted = sorted(listed_patient_ids(clinic, archived=False))[:3]
    page = api.get(sandbox.url("/patients"), params={"q[]": "id:=" + ",".join(wanted)}).json()
    assert sorted(p["id"] for p in page["patients"]) == wanted


def test_created_at_range_filters_are_anded(sandbox, api, clinic):
    rows = sorted(a["created_at"] for a in clinic.resources["individual_appointments"].values())
    low, high = rows[len(rows) // 4], rows[3 * len(rows) // 4]
    _, records = walk(
        api,
        sandbox.url("/individual_appointments"),
        [
            ("q[]", "created_at:>=" + low),
            ("q[]", "created_at:<" + high),
            ("q[]", "cancelled_at:*"),
            ("per_page", "100"),
        ],
    )
    assert records
    assert all(low <= r["created_at"] < high for r in records)
    expected = {
        a["id"]
        for a in clinic.resources["individual_appointments"].values()
        if low <= a["created_at"] < high and not a["deleted_at"]
    }
    assert {r["id"] for r in records} == expected


def test_updated_at_filter_finds_only_newer_changes(sandbox, api, clinic):
    newest = max(p["updated_at"] for p in clinic.resources["patients"].values())
    page = api.get(
        sandbox.url("/patients"),
        params=[("q[]", "updated_at:>" + newest), ("q[]", "archived_at:*")],
    ).json()
    assert page["patients"] == [] and page["total_entries"] == 0


def test_patient_id_filter_narrows_to_one_patients_appointments(sandbox, api, clinic):
    pid = clinic.edge_cases["regular_patient"]
    _, records = walk(
        api,
        sandbox.url("/individual_appointments"),
        [("q[]", "patient_id:=" + pid), ("q[]", "cancelled_at:*")],
    )
    assert records
    assert {r["patient"]["links"]["self"] for r in records} == {sandbox.url("/patients/" + pid)}


def test_archived_patients_are_hidden_by_default(sandbox, api, clinic):
    _, records = walk(api, sandbox.url("/patients"))
    assert clinic.edge_cases["archived_patient"] not in {r["id"] for r in records}
    assert all(not r["archived_at"] for r in records)


def test_archived_at_star_lets_archived_patients_in(sandbox, api, clinic):
    _, records = walk(api, sandbox.url("/patients"), {"q[]": "archived_at:*"})
    ids = {r["id"] for r in records}
    assert clinic.edge_cases["archived_patient"] in ids
    assert clinic.edge_cases["merged_patient"] in ids
    assert clinic.edge_cases["deleted_patient"] not in ids


def test_archived_at_question_mark_lists_only_archived_patients(sandbox, api, clinic):
    _, records = walk(api, sandbox.url("/patients"), {"q[]": "archived_at:?"})
    expected = {
        pid
        for pid, p in clinic.resources["patients"].items()
        if p["archived_at"] and not p["deleted_at"]
    }
    assert {r["id"] for r in records} == expected


def test_cancelled_at_star_lets_cancelled_appointments_in(sandbox, api, clinic):
    cancelled = clinic.edge_cases["cancelled_appointment"]
    _, default = walk(api, sandbox.url("/individual_appointments"), {"per_page": 100})
    _, everything = walk(
        api, sandbox.url("/individual_appointments"), {"per_page": 100, "q[]": "cancelled_at:*"}
    )
    assert cancelled not in {r["id"] for r in default}
    assert cancelled in {r["id"] for r in everything}


def test_non_filterable_field_is_400(sandbox, api):
    response = api.get(sandbox.url("/patients"), params={"q[]": "notes:~back"})
    assert response.status_code == 400
    assert response.json() == {"message": "This column is not searchable."}


def test_non_numeric_value_for_a_numeric_filter_is_400(sandbox, api):
    response = api.get(sandbox.url("/invoices"), params={"q[]": "status:=awaiting_payment"})
    assert response.status_code == 400
    assert response.json()["message"] == "Filter value for status must be a number"


def test_datetime_filter_rejects_the_equals_operator(sandbox, api):
    response = api.get(sandbox.url("/patients"), params={"q[]": "created_at:=2024-01-01T00:00:00Z"})
    assert response.status_code == 400


def test_repeated_plain_q_keeps_only_the_last(sandbox, api, clinic):
    first, second = sorted(listed_patient_ids(clinic, archived=False))[:2]
    page = api.get(
        sandbox.url("/patients"), params=[("q", "id:=" + first), ("q", "id:=" + second)]
    ).json()
    assert [p["id"] for p in page["patients"]] == [second]


def test_date_of_birth_wildcard_matches_a_month(sandbox, api, clinic):
    dob = next(
        p["date_of_birth"]
        for p in clinic.resources["patients"].values()
        if p["date_of_birth"] and not p["archived_at"] and not p["deleted_at"]
    )
    month = dob[5:7]
    page = api.get(
        sandbox.url("/patients"), params={"q[]": "date_of_birth:=****-%s-**" % month}
    ).json()
    assert page["patients"]
    assert all(p["date_of_birth"][5:7] == month for p in page["patients"])


# -- lifecycle lists ----------------------------------------------------------------------------


def test_deleted_patients_are_stubs_on_the_deleted_list_only(sandbox, api, clinic):
    deleted = clinic.edge_cases["deleted_patient"]
    page = api.get(sandbox.url("/patients/deleted")).json()
    assert [p["id"] for p in page["patients"]] == [deleted]
    assert set(page["patients"][0]) == {"id", "deleted_at", "links"}
    assert api.get(sandbox.url("/patients/" + deleted)).status_code == 404


def test_deleted_lists_filter_only_on_id_and_deleted_at(sandbox, api):
    bad = api.get(
        sandbox.url("/patients/deleted"), params={"q[]": "updated_at:>2020-01-01T00:00:00Z"}
    )
    assert bad.status_code == 400
    assert bad.json() == {"message": "This column is not searchable."}
    good = api.get(
        sandbox.url("/patients/deleted"), params={"q[]": "deleted_at:>2020-01-01T00:00:00Z"}
    )
    assert good.status_code == 200 and good.json()["total_entries"] == 1


@pytest.mark.parametrize(
    "path",
    [
        "/patients/archived",
        "/individual_appointments/cancelled",
        "/individual_appointments/deleted",
        "/attendees/cancelled",
        "/attendees/deleted",
        "/group_appointments/deleted",
        "/invoices/deleted",
        "/invoice_items/deleted",
        "/medical_alerts/deleted",
        "/treatment_notes/deleted",
        "/treatment_note_templates/deleted",
        "/appointment_types/archived",
        "/practitioners/inactive",
        "/businesses/archived",
    ],
)
def test_legacy_state_lists_are_served_and_not_empty(sandbox, api, path):
    response = api.get(sandbox.url(path))
    assert response.status_code == 200, response.text
    key = path.strip("/").split("/")[0]
    assert response.json()["total_entries"] == len(response.json()[key]) > 0


def test_merged_patient_links_to_the_patient_it_was_merged_into(sandbox, api, clinic):
    merged = api.get(sandbox.url("/patients/" + clinic.edge_cases["merged_patient"])).json()
    assert merged["merged_at"] and merged["archived_at"]
    assert merged["merged_with_patient"]["links"]["self"] == sandbox.url(
        "/patients/" + clinic.edge_cases["merged_into"]
    )


# -- sorting ------------------------------------------------------------------------------------


def test_sort_desc_reverses_the_default_order(sandbox, api):
    _, ascending = walk(api, sandbox.url("/patients"), {"q[]": "archived_at:*"})
    _, descending = walk(
        api, sandbox.url("/patients"), {"q[]": "archived_at:*", "sort": "created_at:desc"}
    )
    assert [r["id"] for r in descending] == [r["id"] for r in reversed(ascending)]


def test_legacy_order_desc_is_accepted(sandbox, api):
    _, ascending = walk(api, sandbox.url("/patients"))
    _, descending = walk(api, sandbox.url("/patients"), {"order": "desc"})
    assert [r["id"] for r in descending] == [r["id"] for r in reversed(ascending)]


def test_sort_on_two_columns(sandbox, api):
    _, records = walk(
        api,
        sandbox.url("/individual_appointments"),
        {"sort": "starts_at,created_at:desc", "per_page": 100},
    )
    keys = [r["starts_at"] for r in records]
    assert keys == sorted(keys)


# -- headers and auth ---------------------------------------------------------------------------


def test_bad_key_is_401_with_a_plain_text_body(sandbox):
    response = session_for(sandbox, "wrongkeywrongkey-au1").get(sandbox.url("/patients"))
    assert response.status_code == 401
    assert response.text.strip() == "HTTP Basic: Access denied."
    assert response.headers["Content-Type"].startswith("text/plain")


def test_key_is_accepted_without_its_shard_suffix(sandbox):
    bare = sandbox.api_key.rsplit("-", 1)[0]
    assert session_for(sandbox, bare).get(sandbox.url("/patients")).status_code == 200


def test_key_with_another_shard_suffix_is_refused(sandbox):
    other = sandbox.api_key.rsplit("-", 1)[0] + "-uk2"
    assert session_for(sandbox, other).get(sandbox.url("/patients")).status_code == 401


def test_missing_user_agent_is_403(sandbox):
    response = requests.get(
        sandbox.url("/patients"),
        auth=(sandbox.api_key, ""),
        headers={"Accept": "application/json", "User-Agent": "python-requests"},
        timeout=10,
    )
    assert response.status_code == 403
    assert "User-Agent" in response.json()["message"]


def test_missing_accept_header_is_406(sandbox):
    response = requests.get(
        sandbox.url("/patients"),
        auth=(sandbox.api_key, ""),
        headers={"User-Agent": HEADERS["User-Agent"], "Accept": "*/*"},
        timeout=10,
    )
    assert response.status_code == 406
    assert response.json()["message"]


# -- routes -------------------------------------------------------------------------------------


def test_get_one_serves_the_record_exactly_as_clinic_get(sandbox, api, clinic):
    pid = clinic.edge_cases["regular_patient"]
    assert api.get(sandbox.url("/patients/" + pid)).json() == clinic.get("patients", pid)


def test_unknown_id_is_a_json_404(sandbox, api):
    response = api.get(sandbox.url("/patients/123456789012345678"))
    assert response.status_code == 404
    assert response.json() == {"message": "Not found"}


def test_unknown_route_wrong_verb_and_post_invoices_are_404(sandbox, api):
    assert api.get(sandbox.url("/no_such_resource")).status_code == 404
    assert api.post(sandbox.url("/invoices"), json={}).status_code == 404
    assert (
        api.delete(
            sandbox.url("/patients/" + sandbox.clinic.edge_cases["regular_patient"])
        ).status_code
        == 404
    )


def test_relations_are_absolute_links_on_the_same_host(sandbox, api, clinic):
    invoice = next(
        i
        for i in clinic.resources["invoices"].values()
        if i["appointment_id"] and not i["deleted_at"]
    )
    served = api.get(sandbox.url("/invoices/" + invoice["id"])).json()
    assert served["links"]["self"] == sandbox.url("/invoices/" + invoice["id"])
    assert served["appointment"]["links"]["self"] == sandbox.url(
        "/appointments/" + invoice["appointment_id"]
    )
    legacy = api.get(served["appointment"]["links"]["self"]).json()
    assert legacy["appointment_start"] and "starts_at" not in legacy
    items = api.get(served["invoice_items"]["links"]["self"]).json()["invoice_items"]
    assert {i["invoice"]["links"]["self"] for i in items} == {served["links"]["self"]}


def test_individual_appointment_has_one_attendee(sandbox, api, clinic):
    aid = clinic.edge_cases["arrived_appointment"]
    appointment = api.get(sandbox.url("/individual_appointments/" + aid)).json()
    attendees = api.get(appointment["attendees"]["links"]["self"]).json()["attendees"]
    assert len(attendees) == 1
    assert attendees[0]["booking"]["links"]["self"] == sandbox.url("/bookings/" + aid)
    assert attendees[0]["arrived"] is True


def test_bookings_mix_individual_and_group_appointments(sandbox, api, clinic):
    _, records = walk(api, sandbox.url("/bookings"), {"per_page": 100})
    ids = {r["id"] for r in records}
    assert clinic.edge_cases["group_appointment"] in ids
    assert clinic.edge_cases["arrived_appointment"] in ids
    assert all(r["links"]["self"].startswith(sandbox.url("/bookings/")) for r in records)


def test_settings_and_user(sandbox, api, clinic):
    settings = api.get(sandbox.url("/settings")).json()
    assert settings["account"]["country"] == "Australia"
    assert settings["account"]["time_zone"]
    sections = settings["patient_custom_fields_definition"]["sections"]
    assert "Insurance coverage" in [s["name"] for s in sections]
    user = api.get(sandbox.url("/user")).json()
    assert user["id"] == clinic.key_owner_id and user["role"] == "administrator"


# -- rate limit and faults ----------------------------------------------------------------------


def test_rate_limit_answers_429_with_x_ratelimit_reset():
    clock = SteppingClock()  # the sandbox's clock: the window passes without real waiting
    with ClinikoSandbox(seed=1, rate_limit=3, rate_window=2.0, clock=clock.time) as server:
        api = session_for(server)
        statuses = [api.get(server.url("/taxes")).status_code for _ in range(3)]
        started = clock.time()
        limited = api.get(server.url("/taxes"))
        assert statuses == [200, 200, 200]
        assert limited.status_code == 429
        reset = int(limited.headers["X-RateLimit-Reset"])
        assert started - 1 <= reset <= started + 3
        assert "message" in limited.json()
        assert server.requests_log[-1]["status"] == 429
        clock.sleep(max(0.0, reset - clock.time()) + 0.05)
        assert api.get(server.url("/taxes")).status_code == 200


def test_reset_rate_limit_restores_the_budget():
    with ClinikoSandbox(seed=1, rate_limit=1, rate_window=60) as server:
        api = session_for(server)
        assert api.get(server.url("/taxes")).status_code == 200
        assert api.get(server.url("/taxes")).status_code == 429
        server.reset_rate_limit()
        assert api.get(server.url("/taxes")).status_code == 200


def test_fail_next_answers_500_then_recovers(sandbox, api):
    sandbox.fail_next(count=2, status=500, path_contains="/taxes")
    statuses = [api.get(sandbox.url("/taxes")).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert [r["status"] for r in sandbox.requests_log if r["path"] == "/v1/taxes"][-3:] == [
        500,
        500,
        200,
    ]


def test_fail_next_only_hits_matching_paths(sandbox, api):
    sandbox.fail_next(count=1, status=503, path_contains="/products")
    assert api.get(sandbox.url("/taxes")).status_code == 200
    assert api.get(sandbox.url("/products")).status_code == 503
    assert api.get(sandbox.url("/products")).status_code == 200


def test_fail_next_with_429_is_a_storm_with_cliniko_s_reset(sandbox, api):
    sandbox.fail_next(count=3, status=429, path_contains="/taxes")
    answers = [api.get(sandbox.url("/taxes")) for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 429, 200]
    for limited in answers[:3]:
        assert int(limited.headers["X-RateLimit-Reset"]) > time.time() - 1
        assert "message" in limited.json()


def test_fail_next_with_status_0_drops_the_connection(sandbox):
    sandbox.fail_next(count=1, status=0, path_contains="/taxes")
    with pytest.raises(requests.ConnectionError):
        session_for(sandbox).get(sandbox.url("/taxes"), timeout=5)
    assert session_for(sandbox).get(sandbox.url("/taxes"), timeout=5).status_code == 200
    assert [r["status"] for r in sandbox.requests_log if r["path"] == "/v1/taxes"][-2:] == [0, 200]


def test_random_faults_are_deterministic_for_a_seed():
    def statuses():
        with ClinikoSandbox(
            seed=9, fault_rate=0.3, drop_rate=0.2, clinic=sandbox_clinic.generate_clinic(9, 12)
        ) as server:
            api = session_for(server)
            out = []
            for _ in range(20):
                try:
                    out.append(api.get(server.url("/taxes"), timeout=5).status_code)
                except requests.ConnectionError:
                    out.append(0)
            return out

    first = statuses()
    assert first == statuses()
    assert {0, 500, 200} <= set(first)


def test_slow_rate_delays_answers():
    with ClinikoSandbox(seed=1, slow_rate=1.0, slow_seconds=0.3) as server:
        started = time.time()
        assert session_for(server).get(server.url("/taxes")).status_code == 200
        assert time.time() - started >= 0.3


# -- attachments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind,magic", [("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF-"), ("txt", b"Home exercise")]
)
def test_attachment_content_redirects_to_bytes_of_the_recorded_size(
    sandbox, api, clinic, kind, magic
):
    attachment_id = clinic.edge_cases["attachments"][kind]
    record = api.get(sandbox.url("/patient_attachments/" + attachment_id)).json()
    assert record["processing_completed"] is True
    redirect = api.get(record["content"]["links"]["self"], allow_redirects=False)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert location.startswith(sandbox.base_url.rsplit("/v1", 1)[0] + "/files/")
    download = requests.get(location, timeout=10)  # no auth needed
    assert download.status_code == 200
    assert download.headers["Content-Type"] == record["content_type"]
    assert len(download.content) == record["size"]
    assert download.content.startswith(magic)


def test_png_and_pdf_attachments_are_well_formed(clinic):
    png = clinic.files[clinic.edge_cases["attachments"]["png"]]
    pdf = clinic.files[clinic.edge_cases["attachments"]["pdf"]]
    assert png[12:16] == b"IHDR" and png.endswith(b"IEND\xaeB`\x82")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert pdf[xref : xref + 4] == b"xref" and pdf.rstrip().endswith(b"%%EOF")


# -- determinism and data shape -----------------------------------------------------------------


def test_same_seed_gives_the_same_data_and_another_seed_does_not():
    first = sandbox_clinic.generate_clinic(4, 40)
    second = sandbox_clinic.generate_clinic(4, 40)
    assert first.resources == second.resources
    assert first.edge_cases == second.edge_cases
    assert (
        ClinikoSandbox(seed=4, clinic=first).api_key
        == ClinikoSandbox(seed=4, clinic=second).api_key
    )
    assert (
        sandbox_clinic.generate_clinic(5, 40).resources["patients"] != first.resources["patients"]
    )


def test_ids_are_strings_mostly_long_with_a_few_legacy_ones(clinic):
    ids = [rid for store in clinic.resources.values() for rid in store]
    assert all(isinstance(i, str) and i.isdigit() for i in ids)
    lengths = [len(i) for i in ids]
    assert sum(18 <= n <= 19 for n in lengths) > len(ids) / 2
    assert any(7 <= n <= 9 for n in lengths)
    assert set(lengths) <= {7, 8, 9, 18, 19}
    assert len(clinic.edge_cases["legacy_id_patient"]) <= 9


def test_timestamps_are_utc_and_updated_never_before_created(clinic):
    for name, store in clinic.resources.items():
        for record in store.values():
            assert ISO_DATETIME.match(record["created_at"]), (name, record["id"])
            assert record["created_at"] <= record["updated_at"] <= clinic.now_iso(), (
                name,
                record["id"],
            )
            for key in ("archived_at", "deleted_at", "cancelled_at", "merged_at"):
                if record.get(key):
                    assert ISO_DATETIME.match(record[key]) and record[key] <= clinic.now_iso()


def test_invoice_totals_add_up_and_appointments_agree_with_their_invoices(clinic):
    items = {}
    for item in clinic.resources["invoice_items"].values():
        items.setdefault(item["invoice_id"], []).append(item)
    cents = lambda text: round(float(text) * 100)  # noqa: E731
    for invoice in clinic.resources["invoices"].values():
        lines = items[invoice["id"]]
        assert cents(invoice["net_amount"]) == sum(cents(i["net_price"]) for i in lines)
        assert cents(invoice["total_amount"]) == sum(cents(i["total_including_tax"]) for i in lines)
        assert invoice["status_description"] == sandbox_clinic.INVOICE_STATUSES[invoice["status"]]
    live = {
        i["appointment_id"]: i["status"]
        for i in clinic.resources["invoices"].values()
        if i["appointment_id"] and not i["deleted_at"]
    }
    for appointment in clinic.resources["individual_appointments"].values():
        assert appointment["invoice_status"] == live.get(appointment["id"])
    notes = {
        n["booking_id"]: (10 if n["draft"] else 90)
        for n in clinic.resources["treatment_notes"].values()
        if n["booking_id"] and not n["deleted_at"]
    }
    for appointment in clinic.resources["individual_appointments"].values():
        assert appointment["treatment_note_status"] == notes.get(appointment["id"])


def test_a_large_clinic_has_as_many_patients_as_asked_each_with_its_own_id():
    # How fast it generates is the benchmark's business, not a test's.
    clinic = sandbox_clinic.generate_clinic(11, 3_000)
    patients = clinic.resources["patients"]
    assert len(patients) == 3_000
    assert len({p["id"] for p in patients.values()}) == 3_000
    assert all(str(pid) == str(p["id"]) for pid, p in patients.items())


# -- the messy clinic: every edge case is planted in the default 12-patient clinic --------------


def active(clinic, pid):
    patient = clinic.resources["patients"][pid]
    return not patient["archived_at"] and not patient["deleted_at"]


def test_clinic_has_a_patient_with_only_a_last_name(clinic):
    patient = clinic.resources["patients"][clinic.edge_cases["only_last_name"]]
    assert patient["first_name"] == "" and patient["last_name"].strip()
    assert active(clinic, patient["id"])


def test_clinic_has_unicode_and_cjk_names(clinic):
    for key in ("unicode_name", "cjk_name"):
        patient = clinic.resources["patients"][clinic.edge_cases[key]]
        assert not (patient["first_name"] + patient["last_name"]).isascii()
        assert active(clinic, patient["id"])


def test_clinic_has_an_unparseable_phone(clinic):
    patient = clinic.resources["patients"][clinic.edge_cases["unparseable_phone"]]
    numbers = [n["number"] for n in patient["patient_phone_numbers"]]
    assert any(sum(ch.isdigit() for ch in n) < 6 for n in numbers)


def test_clinic_has_an_international_phone(clinic):
    patient = clinic.resources["patients"][clinic.edge_cases["international_phone"]]
    assert any(n["number"].startswith("+44") for n in patient["patient_phone_numbers"])


def test_clinic_has_invalid_and_messy_emails(clinic):
    invalid = clinic.resources["patients"][clinic.edge_cases["invalid_email"]]["email"]
    assert not sandbox_clinic.is_valid_email(invalid)
    messy = clinic.resources["patients"][clinic.edge_cases["messy_email"]]["email"]
    assert messy != messy.strip().lower() and sandbox_clinic.is_valid_email(messy)


def test_clinic_has_a_duplicate_email(clinic):
    first, second = (
        clinic.resources["patients"][pid] for pid in clinic.edge_cases["duplicate_email"]
    )
    assert first["email"].strip().lower() == second["email"].strip().lower()
    assert (
        first["id"] != second["id"] and active(clinic, first["id"]) and active(clinic, second["id"])
    )


def test_clinic_has_a_duplicate_phone(clinic):
    first, second = (
        clinic.resources["patients"][pid] for pid in clinic.edge_cases["duplicate_phone"]
    )
    normalized = lambda p: {n["normalized_number"] for n in p["patient_phone_numbers"]}  # noqa: E731
    assert normalized(first) & normalized(second)


def test_clinic_has_archived_merged_and_deleted_patients(clinic):
    patients = clinic.resources["patients"]
    archived = patients[clinic.edge_cases["archived_patient"]]
    assert archived["archived_at"] and not archived["merged_at"] and not archived["deleted_at"]
    merged = patients[clinic.edge_cases["merged_patient"]]
    assert merged["merged_at"] and merged["archived_at"] and not merged["deleted_at"]
    assert merged["merged_with_patient_id"] == clinic.edge_cases["merged_into"]
    assert active(clinic, clinic.edge_cases["merged_into"])
    assert patients[clinic.edge_cases["deleted_patient"]]["deleted_at"]


def test_clinic_has_a_sparse_patient_without_contact_details(clinic):
    patient = clinic.resources["patients"][clinic.edge_cases["sparse_patient"]]
    assert not patient["email"] and not patient["patient_phone_numbers"]
    assert not patient["address_1"] and not patient["date_of_birth"]


def test_clinic_has_an_orphaned_appointment(sandbox, api, clinic):
    appointment = clinic.resources["individual_appointments"][
        clinic.edge_cases["orphan_appointment"]
    ]
    assert appointment["patient_id"] == clinic.edge_cases["orphan_patient_id"]
    assert appointment["patient_id"] not in clinic.resources["patients"]
    served = api.get(sandbox.url("/individual_appointments/" + appointment["id"])).json()
    assert api.get(served["patient"]["links"]["self"]).status_code == 404


def test_clinic_has_a_very_long_treatment_note(clinic):
    note = clinic.resources["treatment_notes"][clinic.edge_cases["long_treatment_note"]]
    answers = [q.get("answer") or "" for s in note["content"]["sections"] for q in s["questions"]]
    assert max(len(a.encode("utf-8")) for a in answers) >= 50_000
    assert note["booking_id"] == clinic.edge_cases["arrived_appointment"]


def test_clinic_has_appointments_in_every_state(clinic):
    appointments = clinic.resources["individual_appointments"]
    assert appointments[clinic.edge_cases["cancelled_appointment"]][
        "cancellation_reason_description"
    ]
    assert appointments[clinic.edge_cases["did_not_arrive_appointment"]]["did_not_arrive"] is True
    assert appointments[clinic.edge_cases["future_appointment"]]["starts_at"] > clinic.now_iso()
    assert appointments[clinic.edge_cases["deleted_appointment"]]["deleted_at"]
    assert appointments[clinic.edge_cases["arrived_appointment"]]["patient_arrived"] is True


def test_clinic_has_sms_email_and_memo_communications(clinic):
    kinds = {(m["type"], m["category"]) for m in clinic.resources["communications"].values()}
    assert ("SMS", "Appointment Reminder") in kinds
    assert any(kind == "Email" for kind, _ in kinds)
    memo = clinic.resources["communications"][clinic.edge_cases["memo_communication"]]
    assert memo["category_code"] == 12 and memo["type"] == "Phone call"
    emails = [m for m in clinic.resources["communications"].values() if m["type_code"] == 2]
    assert all(m["content_subject"] for m in emails)


def test_every_documented_edge_case_is_recorded(clinic):
    assert set(sandbox_clinic.EDGE_CASE_KEYS) <= set(clinic.edge_cases)


# -- mutation helpers ---------------------------------------------------------------------------


def test_update_bumps_updated_at_and_a_delta_filter_finds_it():
    with ClinikoSandbox(seed=1) as server:
        clinic, api = server.clinic, session_for(server)
        watermark = clinic.now_iso()
        pid = clinic.edge_cases["regular_patient"]
        clinic.tick(60)
        clinic.update("patients", pid, city="Ballarat")
        page = api.get(
            server.url("/patients"),
            params=[
                ("q[]", "updated_at:>" + watermark),
                ("q[]", "archived_at:*"),
                ("sort", "updated_at:asc"),
            ],
        ).json()
        assert [p["id"] for p in page["patients"]] == [pid]
        assert page["patients"][0]["city"] == "Ballarat"
        assert page["patients"][0]["updated_at"] == clinic.now_iso()


def test_create_archive_cancel_delete_and_merge_helpers():
    with ClinikoSandbox(seed=1) as server:
        clinic, api = server.clinic, session_for(server)
        clinic.tick(3600)
        created = clinic.create("patients", first_name="New", last_name="Patient")
        assert api.get(server.url("/patients/" + created["id"])).json()["label"] == "New Patient"
        clinic.archive("patients", created["id"])
        assert created["id"] not in {
            p["id"] for p in api.get(server.url("/patients")).json()["patients"]
        }
        aid = clinic.edge_cases["future_appointment"]
        clinic.cancel("individual_appointments", aid, reason=40, note="Away")
        cancelled = api.get(server.url("/individual_appointments/cancelled")).json()
        row = next(a for a in cancelled["individual_appointments"] if a["id"] == aid)
        assert row["cancellation_reason_description"] == "Away"
        clinic.delete("individual_appointments", aid)
        assert api.get(server.url("/individual_appointments/" + aid)).status_code == 404
        loser, winner = (
            clinic.edge_cases["duplicate_email"][1],
            clinic.edge_cases["duplicate_email"][0],
        )
        clinic.merge_patients(loser, winner)
        merged = api.get(server.url("/patients/" + loser)).json()
        assert merged["merged_with_patient"]["links"]["self"] == server.url("/patients/" + winner)
        assert not [
            a
            for a in clinic.resources["individual_appointments"].values()
            if a["patient_id"] == loser
        ]


def test_stop_closes_the_socket():
    server = ClinikoSandbox(seed=1).start()
    url = server.url("/taxes")
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, headers=HEADERS, timeout=2)


# -- command line -------------------------------------------------------------------------------


def test_command_line_prints_base_url_and_key_then_exits_cleanly_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, str(SANDBOX_SCRIPT), "--port", "0", "--seed", "2", "--patients", "15"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=""),
    )
    try:
        base_url = process.stdout.readline().strip()
        api_key = process.stdout.readline().strip()
        assert re.fullmatch(r"base_url=http://127\.0\.0\.1:\d+/v1", base_url)
        assert re.fullmatch(r"api_key=[A-Za-z0-9]+-au1", api_key)
        response = requests.get(
            base_url.split("=", 1)[1] + "/patients",
            headers=HEADERS,
            auth=(api_key.split("=", 1)[1], ""),
            timeout=5,
        )
        assert response.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
