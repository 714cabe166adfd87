"""The sandbox is as strict as SPEC.md about filters: plain pytest functions, no Odoo.

SPEC.md (the Cliniko API digest) is parsed here, so the sandbox cannot drift from it: for every
list the sandbox serves, each ``q[]`` field SPEC.md lists for that resource is accepted, and
every other field a record of it carries answers ``400 {"message": "This column is not
searchable."}``, as Cliniko does (SPEC §1.11). The lifecycle columns are the one addition SPEC
makes outside the per-resource lists (§1.12, §4.6): ``archived_at`` on the lists that hide
archived rows and ``cancelled_at`` on appointments and attendees. Legacy ``/deleted`` lists
take only ``id`` and ``deleted_at``; ``/archived``, ``/cancelled`` and ``/inactive`` take
their resource's filters.

SPEC.md is the copy in ``tests/data/cliniko_api_spec.md`` (or the file ``$CLINIKO_SPEC_MD``
names).
"""

import os
import re
import sys
from pathlib import Path

import pytest
import requests

try:  # inside the addon package (pytest-odoo)
    from ..tools import cliniko_sandbox as sandbox_module
except ImportError:  # plain pytest: import the tools directory directly
    TOOLS = str(Path(__file__).resolve().parent.parent / "tools")
    if TOOLS not in sys.path:
        sys.path.insert(0, TOOLS)
    import cliniko_sandbox as sandbox_module

ClinikoSandbox = sandbox_module.ClinikoSandbox
HEADERS = {"Accept": "application/json", "User-Agent": "Strictness tests (tests@example.com)"}
NOT_SEARCHABLE = {"message": "This column is not searchable."}
CANCELLABLE = {"individual_appointments", "attendees", "bookings"}
# A value each filter type accepts (the operator is valid for the type, SPEC §1.11).
VALID = {
    "datetime": ">2000-01-01T00:00:00Z",
    "date": ">2000-01-01",
    "int": "=1",
    "string": "~a",
    "boolean": "=true",
    "array": "~1",
}


# A copy of the Cliniko API digest the sandbox is written against, kept with the tests so the
# check runs wherever the repository is checked out (CI included). CLINIKO_SPEC_MD may name a
# newer digest to check the sandbox against.
SPEC_COPY = Path(__file__).parent / "data" / "cliniko_api_spec.md"


def spec_path():
    return Path(os.environ.get("CLINIKO_SPEC_MD") or SPEC_COPY)


def _fields_in(text):
    """Field names in backticks, leaving out sentences about other lists or non-filters."""
    kept = []
    for sentence in re.split(r"(?<=\.)\s+", text):
        if re.search(r"legacy|cannot|must be|not filterable", sentence, re.IGNORECASE):
            continue
        kept.append(sentence)
    return set(re.findall(r"`([a-z_*]+)`", " ".join(kept))) - {"*"}


def _filter_text(lines, start):
    """The text of the ``Filters`` item at ``lines[start]``: its own line and its deeper
    indented sub-items, or, when the line ends at its colon, the list below it."""
    first = lines[start]
    indent = len(first) - len(first.lstrip())
    own = first.split("ilters", 1)[1]
    list_below = not own.strip(" *:")
    text = [own]
    for line in lines[start + 1 :]:
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            break
        deeper = len(line) - len(stripped) > indent
        if not deeper and not (list_below and stripped.startswith("* ")):
            break
        text.append(stripped)
    return " ".join(text)


def parse_spec(path):
    """``{resource: set of filterable fields}`` from SPEC.md §2 (plus ``{resource: section}``)."""
    sections, current = {}, None
    for line in path.read_text(encoding="utf-8").splitlines():
        # "### 2.10 Treatment notes (`/treatment_notes`)", or "### 2.25 Referral sources"
        heading = re.match(r"### 2\.\w+ (?:.*?\(`/([a-z_]+)`|([A-Za-z ]+)$)", line)
        if line.startswith("### "):
            current = None
            if heading:
                current = heading.group(1) or heading.group(2).strip().lower().replace(" ", "_")
            if current:
                sections[current] = []
            continue
        if current:
            sections[current].append(line)
    filters = {}
    for resource, lines in sections.items():
        for index, line in enumerate(lines):
            if re.match(r"\s*(\* )?\*\*Filters\*\*", line):
                filters[resource] = _fields_in(_filter_text(lines, index))
                break
            if re.match(r"\s*\* No filters\.", line):
                filters[resource] = set()
                break
    # Two documented lists live inside other sections.
    everything = path.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(everything):
        if "**Legacy `/appointments`**" in line:
            sub = next(i for i in range(index, len(everything)) if "Filters:" in everything[i])
            filters["appointments"] = _fields_in(_filter_text(everything, sub))
            sections["appointments"] = everything[index : sub + 1]
    for resource, fields in filters.items():
        if "*_template_ids" in fields:  # "the `*_template_ids` arrays" of appointment types
            fields.discard("*_template_ids")
            fields.update(re.findall(r"`([a-z_]+_template_ids)`", "\n".join(sections[resource])))
    return filters, sections


@pytest.fixture(scope="module")
def spec():
    path = spec_path()
    assert path.is_file(), "the Cliniko API digest is missing: %s" % path
    filters, sections = parse_spec(path)
    allowed = {}
    for resource, listed in filters.items():
        fields = set(listed)
        # §1.12/§4.6: archived_at:* (and cancelled_at:* for appointments and attendees) let
        # hidden rows into any list whose records carry the column.
        if "archived_at" in "\n".join(sections[resource]) and resource != "appointments":
            fields.add("archived_at")
        if resource in CANCELLABLE:
            fields.add("cancelled_at")
        allowed[resource] = fields
    return allowed


@pytest.fixture(scope="module")
def sandbox():
    with ClinikoSandbox(seed=3, patients=6, rate_limit=0) as server:
        yield server


@pytest.fixture(scope="module")
def api(sandbox):
    session = requests.Session()
    session.headers.update(HEADERS)
    session.auth = (sandbox.api_key, "")
    return session


def test_spec_is_parsed(spec):
    """The parser reads what SPEC.md says for a few resources (guards the parser itself)."""
    assert spec["treatment_notes"] >= {"booking_id", "patient_id", "created_at", "updated_at"}
    assert "deleted_at" not in spec["treatment_notes"]  # only on the legacy /deleted list
    assert "notes" not in spec["patients"]  # "notes cannot be filtered"
    assert spec["referral_sources"] == set()
    assert "patient_ids" in spec["bookings"]
    assert "appointment_reminder_template_ids" in spec["appointment_types"]
    assert spec["appointments"] >= {"appointment_start", "practitioner_id"}
    assert len(spec) >= 25


def test_every_served_list_filters_exactly_what_spec_lists(spec):
    served = sandbox_module.FILTERS
    missing = sorted(set(served) - set(spec))
    assert not missing, "lists SPEC.md gives no filters for: %s" % missing
    drift = {
        resource: {
            "accepted, not in SPEC": sorted(set(served[resource]) - spec[resource]),
            "in SPEC, refused": sorted(spec[resource] - set(served[resource])),
        }
        for resource in served
        if set(served[resource]) != spec[resource]
    }
    assert not drift, drift


def _candidates(sandbox, resource, spec):
    """Every field a client might try on this list: the record's keys, its relations'
    ``*_id`` names, the lifecycle columns, SPEC's list and a free-text one."""
    store = sandbox_module.SOURCES.get(resource, (resource,))[0]
    fields = set(sandbox_module.sandbox_clinic.DEFAULTS[store])
    fields |= {"archived_at", "cancelled_at", "deleted_at", "notes", "id", "patient_case_id"}
    fields |= spec.get(resource, set())
    return sorted(f for f in fields if re.fullmatch(r"[a-z_]+", f))


@pytest.mark.parametrize("resource", sorted(sandbox_module.FILTERS))
def test_each_field_of_each_list(api, sandbox, spec, resource):
    served = sandbox_module.FILTERS[resource]
    wrong = []
    for field in _candidates(sandbox, resource, spec):
        if field in spec[resource]:
            condition = "%s:%s" % (field, VALID[served[field]])
            response = api.get(sandbox.url("/" + resource), params={"q[]": condition}, timeout=10)
            if response.status_code != 200:
                wrong.append((condition, response.status_code, response.text[:80]))
        else:
            response = api.get(
                sandbox.url("/" + resource), params={"q[]": "%s:*" % field}, timeout=10
            )
            if response.status_code != 400 or response.json() != NOT_SEARCHABLE:
                wrong.append((field, response.status_code, response.text[:80]))
    assert not wrong, wrong


@pytest.mark.parametrize(
    ("resource", "state"),
    sorted(
        (resource, state)
        for resource, states in sandbox_module.LEGACY_STATES.items()
        for state in states
    ),
)
def test_legacy_lists(api, sandbox, spec, resource, state):
    """/deleted: only id and deleted_at (SPEC §1.12); the other legacy lists: the resource's."""
    allowed = {"id", "deleted_at"} if state == "deleted" else spec[resource]
    url = sandbox.url("/%s/%s" % (resource, state))
    wrong = []
    for field in _candidates(sandbox, resource, spec) + ["updated_at"]:
        response = api.get(url, params={"q[]": "%s:*" % field}, timeout=10)
        expected = 200 if field in allowed else 400
        refused_right = expected != 400 or response.json() == NOT_SEARCHABLE
        if response.status_code != expected or not refused_right:
            wrong.append((field, response.status_code, response.text[:80]))
    assert not wrong, wrong


def test_the_single_legacy_q_is_checked_too(api, sandbox):
    response = api.get(sandbox.url("/treatment_notes"), params={"q": "deleted_at:*"}, timeout=10)
    assert response.status_code == 400
    assert response.json() == NOT_SEARCHABLE


def test_hostile_options(api, sandbox):
    """refuse() answers 403/404 on a whole resource; plant() spoils exactly one record."""
    sandbox.refuse("medical_alerts", 403)
    sandbox.refuse("group_appointments", 404)
    try:
        forbidden = api.get(sandbox.url("/medical_alerts"), timeout=10)
        assert forbidden.status_code == 403
        assert "permission" in forbidden.json()["message"]
        assert api.get(sandbox.url("/group_appointments/1"), timeout=10).status_code == 404
        assert api.get(sandbox.url("/patients"), timeout=10).status_code == 200
    finally:
        sandbox.refused.clear()
    kinds = ("number_for_string", "object_for_list", "bad_date", "missing_key")
    planted = {kind: sandbox.plant("patients", kind) for kind in kinds}
    linked = {
        kind: sandbox.plant("individual_appointments", kind)
        for kind in ("null_link", "foreign_link", "missing_key")
    }
    try:
        assert len(set(planted.values())) == len(planted)  # one record each
        served = {
            p["id"]: p
            for p in api.get(sandbox.url("/patients"), params={"per_page": 100}, timeout=10).json()[
                "patients"
            ]
        }
        assert served[planted["number_for_string"]]["first_name"] == 40417
        assert isinstance(served[planted["object_for_list"]]["patient_phone_numbers"], dict)
        assert served[planted["bad_date"]]["date_of_birth"] == "31/02/2024 25:61"
        assert "first_name" not in served[planted["missing_key"]]
        clean = [pid for pid in served if pid not in planted.values()]
        assert clean and all(isinstance(served[pid]["first_name"], str) for pid in clean)
        one = api.get(sandbox.url("/patients/" + planted["bad_date"]), timeout=10).json()
        assert one["date_of_birth"] == "31/02/2024 25:61"  # GET one is spoilt the same way
        visits = {
            v["id"]: v
            for v in api.get(
                sandbox.url("/individual_appointments"), params={"per_page": 100}, timeout=10
            ).json()["individual_appointments"]
        }
        assert visits[linked["null_link"]]["patient"] is None
        assert visits[linked["foreign_link"]]["patient"]["links"]["self"].startswith(
            sandbox_module.FOREIGN_HOST + "/v1/patients/"
        )
        assert "patient" not in visits[linked["missing_key"]]
    finally:
        sandbox.malformed.clear()
    broken = sandbox.break_file(how="fail")
    try:
        content = api.get(
            sandbox.url("/patient_attachments/%s/content" % broken), timeout=10
        )  # requests follows the redirect to the file host, which refuses
        assert content.status_code == 403
    finally:
        sandbox.broken_files.clear()
