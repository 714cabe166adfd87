"""A local stand-in for the Cliniko REST API v1, over real HTTP (standard library only).

Used by the tests and the demo::

    with ClinikoSandbox(seed=1, patients=12) as sandbox:
        client = MyClient(api_key=sandbox.api_key, base_url=sandbox.base_url)

or from a shell (prints ``base_url=...`` and ``api_key=...``, serves until SIGINT/SIGTERM)::

    python3 tools/cliniko_sandbox.py --port 0 --seed 1 --patients 500

What it does (as the Cliniko API docs, docs.api.cliniko.com, and the API's observed behaviour
have it):

* Every route is under ``/v1``; only GET is routed (writes are done in Python through the
  ``Clinic`` helpers). Anything else, ``POST /invoices`` included, is an HTML 404.
* HTTP Basic auth with the API key as the user name (any password; with or without its
  ``-shard`` suffix; a suffix naming another shard is refused): 401 ``HTTP Basic: Access
  denied.`` (text/plain). ``Accept: application/json`` is required (406) and so is a
  User-Agent like ``App name (contact@example.com)`` (403).
* Lists: ``{"<resource>": [...], "total_entries": n, "links": {"self", "next"?, "previous"?}}``,
  ``page``/``per_page`` (default 50, clamped to 100, 400 below 1 or not a number), ``sort``
  (``col``, ``col1,col2:desc``) and legacy ``order=desc``, ``q[]`` filters (ANDed; a single
  legacy ``q`` too, and of repeated ``q`` only the last counts) with Cliniko's operators per
  field type (``=`` ``!=`` ``>`` ``>=`` ``<`` ``<=`` ``~`` ``~~`` ``?`` ``!?`` ``*``) and a
  per-resource allow-list (400 ``<field> is not filterable``).
* Lifecycle: normal lists hide archived and deleted rows, and cancelled individual
  appointments/attendees/bookings, unless the request filters on that column
  (``archived_at:*`` lets them in, ``archived_at:?`` shows only them). Legacy lists such as
  ``/patients/archived``, ``/patients/deleted`` (id + deleted_at stubs), ``/.../cancelled``,
  ``/practitioners/inactive`` are served; ``/deleted`` lists filter only on ``id`` and
  ``deleted_at`` (400 ``This column is not searchable.``).
* GET one: 404 ``{"message": "Not found"}`` for unknown or deleted IDs. Archived patients ARE
  served by default (set ``sandbox.archived_patient_404 = True`` for the behaviour of
  github.com/redguava/cliniko-api issue #318).
* Rate limit: ``rate_limit`` requests per ``rate_window`` seconds per key owner, then 429 with
  ``X-RateLimit-Reset`` (epoch seconds, rounded up, when the window ends), on ``clock``
  (``time.time``; a test gives the same stand-in clock to the sandbox and the client).
* Faults: seeded random 500s, slow answers and dropped connections, plus ``fail_next``.
* ``/v1/patient_attachments/{id}/content`` answers 302 to ``/files/<token>/<filename>`` on this
  server, which serves the bytes without authentication.
* ``requests_log`` gets one ``{"method", "path", "query", "status", "total"}`` per request
  (status 0 for a dropped connection; ``total`` is a list's ``total_entries``, else None),
  appended before the answer is sent.
* Hostile options (tests: methods; command line: ``--refuse``, ``--plant``, ``--break-file``):
  ``refuse(resource, 403|404)`` makes a whole resource answer 403 (permission) or 404 (not
  available); ``plant(resource, kind)`` serves one record malformed (``MALFORMED_KINDS``: a
  missing key, a number for a string, an object for a list, a bad date, a null or foreign-host
  link); ``break_file(how="fail"|"oversized")`` makes one download fail (403 from the file
  host) or bring far more bytes than its ``size`` announces.
* Lists over stores of 5,000+ rows are cached by ``clinic.version``: the ``Clinic`` helpers bump
  it; after editing ``clinic.resources`` by hand, call ``clinic.touch()``.
"""

import argparse
import base64
import hashlib
import json
import math
import random
import re
import signal
import socket
import sys
import threading
import time
import traceback
from collections import OrderedDict
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

try:
    from . import sandbox_clinic, sandbox_exports
except ImportError:  # run as a script: python3 tools/cliniko_sandbox.py
    import sandbox_clinic
    import sandbox_exports

# --------------------------------------------------------------------------------------------
# What each list serves: filterable fields (name -> type), lifecycle columns hidden by default,
# and the legacy state lists, as the Cliniko API docs give them per resource

DT, DATE, INT, STR, BOOL, ARRAY = "datetime", "date", "int", "string", "boolean", "array"
BASE_FILTERS = {"id": INT, "created_at": DT, "updated_at": DT}


def _filters(*names, **typed):
    fields = dict(BASE_FILTERS)
    for name in names:
        fields[name] = DT if name.endswith("_at") else INT if name.endswith("_id") else STR
    fields.update(typed)
    return fields


# Exactly the filters SPEC.md §2 lists per resource, plus the lifecycle columns §1.12 and §4.6
# let into any list that hides them by default: ``archived_at`` where records carry it and
# ``cancelled_at`` on appointments and attendees. Anything else answers 400 "This column is
# not searchable." (tests/test_sandbox_strictness.py walks SPEC.md's lists against this).
FILTERS = {
    "patients": _filters(
        "archived_at",
        "email",
        "first_name",
        "last_name",
        old_reference_id=STR,  # a previous system's reference: text, not an id
        date_of_birth=DATE,
    ),
    "individual_appointments": _filters(
        "appointment_type_id",
        "business_id",
        "patient_id",
        "practitioner_id",
        "repeated_from_id",
        "archived_at",
        "cancelled_at",
        "deleted_at",
        "starts_at",
        "ends_at",
        did_not_arrive=BOOL,
    ),
    "group_appointments": _filters(
        "appointment_type_id",
        "business_id",
        "practitioner_id",
        "repeated_from_id",
        "archived_at",
        "starts_at",
        "ends_at",
    ),
    "attendees": _filters("booking_id", "patient_id", "archived_at", "cancelled_at"),
    "bookings": _filters(
        "business_id",
        "practitioner_id",
        "archived_at",
        "cancelled_at",
        "starts_at",
        "ends_at",
        patient_ids=ARRAY,
    ),
    "appointments": _filters(
        "appointment_type_id",
        "business_id",
        "patient_id",
        "practitioner_id",
        appointment_start=DT,
        appointment_end=DT,
    ),
    "appointment_types": _filters(
        "archived_at",
        "category",
        "online_payments_mode",
        show_in_online_bookings=BOOL,
        appointment_confirmation_template_ids=ARRAY,
        appointment_reminder_template_ids=ARRAY,
    ),
    "practitioners": _filters("user_id"),
    "practitioner_reference_numbers": _filters("business_id", "practitioner_id"),
    "users": _filters(),
    "businesses": _filters("archived_at"),
    "treatment_notes": _filters(
        "attendee_id",
        "booking_id",
        "patient_id",
        "practitioner_id",
        "treatment_note_template_id",
        "archived_at",
    ),
    "treatment_note_templates": _filters("archived_at"),
    "invoices": _filters(
        "appointment_id",
        "business_id",
        "patient_id",
        "practitioner_id",
        "archived_at",
        number=INT,
        status=INT,
        issue_date=DATE,
    ),
    "invoice_items": _filters("invoice_id", "archived_at"),
    "billable_items": _filters("tax_id", "archived_at"),
    "products": _filters("tax_id", "name", "archived_at"),
    "taxes": _filters(),
    "contacts": _filters("email", "first_name", "last_name", "archived_at", type_code=INT),
    "concession_types": _filters("archived_at"),
    "referral_source_types": _filters("archived_at"),
    "referral_sources": {},  # SPEC §2.25: no filters
    "communications": _filters("patient_id", "archived_at", "deleted_at", category_code=INT),
    "patient_attachments": _filters(
        "content_type",
        "description",
        "filename",
        "patient_id",
        "user_id",
        "archived_at",
        "processed_at",
        size=INT,
    ),
    "patient_forms": _filters("patient_id", "archived_at", "completed_at"),
    "patient_form_templates": _filters("archived_at"),
    "medical_alerts": _filters("patient_id", "archived_at"),
    "patient_cases": _filters("patient_id", "archived_at", expiry_date=DATE),
}
DELETED_FILTERS = {"id": INT, "deleted_at": DT}
ALIASES = {
    "appointments": {
        "appointment_start": "starts_at",
        "appointment_end": "ends_at",
        "cancellation_time": "cancelled_at",
    }
}
CANCELLABLE = ("individual_appointments", "attendees", "bookings", "appointments")
LEGACY_STATES = {
    "patients": ("archived", "deleted"),
    "individual_appointments": ("cancelled", "deleted"),
    "attendees": ("cancelled", "deleted"),
    "appointments": ("cancelled", "deleted"),
    "group_appointments": ("deleted",),
    "invoices": ("deleted",),
    "invoice_items": ("deleted",),
    "medical_alerts": ("deleted",),
    "treatment_notes": ("deleted",),
    "treatment_note_templates": ("deleted",),
    "appointment_types": ("archived",),
    "practitioners": ("inactive",),
    "businesses": ("archived", "deleted"),
}
# (parent, child) -> how the child list is narrowed: a foreign key of the child, None (all),
# or "@attendee_ids" (the parent's own ID list)
NESTED = {
    ("patients", "medical_alerts"): "patient_id",
    ("patients", "invoices"): "patient_id",
    ("patients", "appointments"): "patient_id",
    ("patients", "treatment_notes"): "patient_id",
    ("patients", "patient_attachments"): "patient_id",
    ("practitioners", "appointments"): "practitioner_id",
    ("practitioners", "invoices"): "practitioner_id",
    ("practitioners", "practitioner_reference_numbers"): "practitioner_id",
    ("practitioners", "appointment_types"): None,
    ("businesses", "practitioners"): None,
    ("businesses", "appointments"): "business_id",
    ("appointment_types", "practitioners"): None,
    ("individual_appointments", "attendees"): "booking_id",
    ("group_appointments", "attendees"): "booking_id",
    ("attendees", "invoices"): "attendee_id",
    ("attendees", "patient_forms"): "attendee_id",
    ("appointments", "invoices"): "appointment_id",
    ("invoices", "invoice_items"): "invoice_id",
    ("patient_cases", "attendees"): "@attendee_ids",
    ("patient_cases", "bookings"): "patient_case_id",
    ("patient_cases", "invoices"): "patient_case_id",
    ("patient_cases", "patient_attachments"): "patient_case_id",
}
# lists that are views over other stores
SOURCES = {
    "bookings": ("individual_appointments", "group_appointments"),
    "appointments": ("individual_appointments",),
}
STATES = ("archived", "deleted", "cancelled", "inactive")
OPERATORS = ("!?", "~~", "!=", ">=", "<=", "?", "*", "=", ">", "<", "~")
TYPE_OPERATORS = {
    DT: {">", ">=", "<", "<=", "?", "!?", "*"},
    DATE: {"=", ">", ">=", "<", "<=", "?", "!?", "*"},
    INT: {"=", "!=", ">", ">=", "<", "<=", "?", "!?", "*"},
    STR: {"=", "!=", "~", "~~", "?", "!?", "*"},
    BOOL: {"=", "!=", "?", "!?", "*"},
    ARRAY: {"~", "?", "!?", "*"},
}
COMPARE = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}
MAX_PER_PAGE, DEFAULT_PER_PAGE = 100, 50
CACHE_MIN_ROWS = 5_000  # smaller lists are recomputed on every request (see Clinic.touch)
USER_AGENT_RE = re.compile(r"\S.*\(\S+@\S+\.\S+\)")
SHARD_SUFFIX_RE = re.compile(r"-([a-z]{2}\d{1,2})$", re.IGNORECASE)
DROP = object()  # answer: close the connection without a response


NOT_SEARCHABLE = "This column is not searchable."  # Cliniko's words (ISS #231)


class BadRequest(Exception):
    pass


def split_shard(key):
    """``"abc-au2"`` -> ``("abc", "au2")``; ``"abc"`` -> ``("abc", None)``."""
    match = SHARD_SUFFIX_RE.search(key or "")
    if not match:
        return key or "", None
    return key[: match.start()], match.group(1).lower()


def make_api_key(seed, owner_id, shard="au1"):
    """Cliniko-looking key: base64("<user id>-<digits>") + "-<shard>", deterministic from seed."""
    counter = 0
    while True:
        digest = hashlib.sha256(("cliniko-sandbox-key:%s:%d" % (seed, counter)).encode()).digest()
        digits = str(int.from_bytes(digest[:8], "big")).rjust(19, "1")[:19]
        key = base64.b64encode(("%s-%s" % (owner_id, digits)).encode()).decode().rstrip("=")
        if key.isalnum():
            return "%s-%s" % (key, shard)
        counter += 1


def _canonical_datetime(field, value):
    text = value.strip()
    try:
        if len(text) == 10:
            parsed = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
    except ValueError:
        raise BadRequest(
            "Filter value for %s must be a date-time (YYYY-MM-DDTHH:MM:SSZ)" % field
        ) from None
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _null(value):
    return value is None or value in ("", [])


def make_predicate(field, key, kind, text):  # noqa: PLR0911
    """One ``q[]`` condition -> a predicate on stored records (None: no constraint)."""
    text = text.lstrip()
    op = next((o for o in OPERATORS if text.startswith(o)), None)
    if op is None:
        raise BadRequest("Invalid filter operator for %s" % field)
    if op not in TYPE_OPERATORS[kind]:
        raise BadRequest("Invalid filter operator %s for %s" % (op, field))
    value = text[len(op) :].strip()
    if op in ("*", "?", "!?"):
        if value:
            raise BadRequest("Invalid filter operator for %s" % field)
        if op == "*":
            return None
        if op == "?":
            return lambda record: not _null(record.get(key))
        return lambda record: _null(record.get(key))
    if kind == INT:
        parts = value.split(",") if op == "=" else [value]
        if not parts or not all(re.fullmatch(r"\s*-?\d+\s*", p) for p in parts):
            raise BadRequest("Filter value for %s must be a number" % field)
        numbers = {int(p) for p in parts}
        if op == "=":
            return lambda record: not _null(v := record.get(key)) and int(v) in numbers
        number, compare = numbers.pop(), COMPARE[op]
        return lambda record: not _null(v := record.get(key)) and compare(int(v), number)
    if kind == BOOL:
        if value.lower() not in ("true", "false"):
            raise BadRequest("Filter value for %s must be true or false" % field)
        wanted, compare = value.lower() == "true", COMPARE[op]
        return lambda record: record.get(key) is not None and compare(record.get(key), wanted)
    if kind == DT:
        stamp, compare = _canonical_datetime(field, value), COMPARE[op]
        return lambda record: not _null(v := record.get(key)) and compare(v, stamp)
    if kind == DATE:
        if not re.fullmatch(r"[\d*]{4}-[\d*]{2}-[\d*]{2}", value) or ("*" in value and op != "="):
            raise BadRequest("Filter value for %s must be a date (YYYY-MM-DD)" % field)
        if "*" in value:
            pattern = re.compile(value.replace("*", r"\d"))
            return lambda record: not _null(v := record.get(key)) and bool(pattern.fullmatch(v))
        compare = COMPARE[op]
        return lambda record: not _null(v := record.get(key)) and compare(v, value)
    if kind == ARRAY:  # bookings: patient_ids contains (individual rows: their patient_id)
        return lambda record: value in (record.get(key) or ()) or record.get("patient_id") == value
    # strings
    if op == "~":
        needle = value.lower()
        return lambda record: not _null(v := record.get(key)) and needle in str(v).lower()
    if op == "~~":
        pattern = re.compile(
            ".*".join(re.escape(p) for p in value.split("%")), re.IGNORECASE | re.DOTALL
        )
        return lambda record: not _null(v := record.get(key)) and bool(pattern.fullmatch(str(v)))
    compare = COMPARE[op]
    return lambda record: record.get(key) is not None and compare(record.get(key), value)


MALFORMED_KINDS = (
    "missing_key",  # a key the record should carry is absent
    "number_for_string",  # a number where a string belongs
    "object_for_list",  # an object where a list belongs
    "bad_date",  # an unparseable date or date-time
    "null_link",  # a relation that is null
    "foreign_link",  # a relation pointing at another host
)
OVERSIZE_BYTES = 8 * 1024 * 1024  # what an "oversized" file brings at least
FOREIGN_HOST = "https://cliniko.evil.example"
# Candidate keys per kind, in order; the first one the rendered record has is spoiled.
_LINKS = ("patient", "booking", "invoice", "practitioner", "appointment_type", "business")
SPOIL_CANDIDATES = {
    "missing_key": (*_LINKS, "first_name", "name", "filename"),
    "number_for_string": (
        "first_name",
        "name",
        "title",
        "filename",
        "content",
        "business_name",
        "notes",
    ),
    "object_for_list": ("patient_phone_numbers", "phone_numbers", "patient_ids", "signatures"),
    "bad_date": ("starts_at", "date_of_birth", "issue_date", "completed_at", "created_at"),
    "null_link": _LINKS,
    "foreign_link": _LINKS,
}


def spoilable(out, kind):
    """The key of the rendered record ``out`` that ``kind`` spoils by default, or None."""
    field = next((f for f in SPOIL_CANDIDATES[kind] if f in out), None)
    if field is None and kind in ("missing_key", "null_link", "foreign_link"):
        field = next(  # any to-one relation (a link ending in an id)
            (
                key
                for key, value in out.items()
                if key != "links"
                and isinstance(value, dict)
                and re.search(r"/\d+$", str((value.get("links") or {}).get("self") or ""))
            ),
            None,
        )
    if field is None and kind == "object_for_list":
        field = "patient_phone_numbers"
    return field


def spoil(out, kind, field=None):
    """The rendered record ``out`` with one malformation of ``kind`` (see ``plant``)."""
    out = dict(out)
    if field is None:
        field = spoilable(out, kind)
        if field is None:
            raise ValueError("nothing to spoil with %s in %s" % (kind, sorted(out)))
    if kind == "missing_key":
        out.pop(field, None)
    elif kind == "number_for_string":
        out[field] = 40417
    elif kind == "object_for_list":
        out[field] = {"number": "0400 000 000", "phone_type": "Mobile"}
    elif kind == "bad_date":
        out[field] = "31/02/2024 25:61"
    elif kind == "null_link":
        out[field] = None
    else:
        link = out.get(field) if isinstance(out.get(field), dict) else {}
        path = urlsplit((link.get("links") or {}).get("self") or "/v1/%ss/1" % field).path
        out[field] = {"links": {"self": FOREIGN_HOST + path}}
    return out


def _sort_key(key, kind):
    if kind == INT:
        return lambda record: (0, 0) if _null(v := record.get(key)) else (1, int(v))
    return lambda record: (0, "") if _null(v := record.get(key)) else (1, str(v))


# --------------------------------------------------------------------------------------------
# HTTP


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ClinikoSandbox/1.0"
    timeout = 30  # idle keep-alive connections are closed after this
    # Headers and body go out as two writes: without this, Nagle's algorithm and the client's
    # delayed ACK hold every answer back ~40 ms.
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.server.sandbox._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.sandbox._track(self.connection, False)

    def log_message(self, format, *args):  # noqa: A002 - quiet unless asked
        if self.server.sandbox.verbose:
            sys.stderr.write("sandbox: %s\n" % (format % args))

    def _handle(self):
        self.server.sandbox._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class SteppingClock:
    """A stand-in for ``time.time`` and ``time.sleep`` that a test hands to both a sandbox
    (``clock=``) and a client (``clock=``, ``sleep=``): a sleep is recorded in ``sleeps`` and
    moves the clock on at once, so rate limits are waited out without real waiting."""

    def __init__(self, start=None):
        self.now = time.time() if start is None else float(start)
        self.sleeps = []
        self._lock = threading.Lock()

    def time(self):
        with self._lock:
            return self.now

    def sleep(self, seconds):
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)


class ClinikoSandbox:
    """A Cliniko API v1 look-alike serving ``clinic`` on ``host:port`` (port 0: any free one)."""

    def __init__(
        self,
        seed=1,
        patients=12,
        *,
        host="127.0.0.1",
        port=0,
        rate_limit=200,
        rate_window=60.0,
        fault_rate=0.0,
        slow_rate=0.0,
        slow_seconds=2.0,
        drop_rate=0.0,
        api_key=None,
        shard="au1",
        clinic=None,
        clock=time.time,
    ):
        self.seed = seed
        self.clock = clock
        self.shard = shard
        self.host, self.port = host, port
        self.rate_limit, self.rate_window = rate_limit, float(rate_window)
        self.fault_rate, self.slow_rate, self.slow_seconds = fault_rate, slow_rate, slow_seconds
        self.drop_rate = drop_rate
        self.clinic = (
            clinic if clinic is not None else sandbox_clinic.generate_clinic(seed, patients)
        )
        owner = self.clinic.key_owner_id or "1"
        self.api_key = api_key or make_api_key(seed, owner, shard)
        self.key_owner_id = owner
        self.base_url = None  # set by start()
        self.requests_log = []
        self.archived_patient_404 = False  # True: GET /patients/{archived id} -> 404 (ISS #318)
        # Hostile options (see refuse(), plant(), break_file())
        self.refused = {}  # resource -> (status, message)
        self.malformed = {}  # (resource, record id) -> (kind, field)
        self.broken_files = {}  # attachment id -> "fail" | "oversized"
        self.verbose = False
        self._lock = threading.Lock()
        self._local = threading.local()  # per request: what goes into requests_log
        self._fault_rng = random.Random("cliniko-sandbox-faults:%s" % seed)
        self._fail_rules = []
        self._windows = {}
        self._cache = OrderedDict()
        self._connections = set()
        self._server = None
        self._thread = None

    # -- life cycle ---------------------------------------------------------------------------
    def start(self):
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), _Handler)
        self._server.sandbox = self
        self.port = self._server.server_address[1]
        self.origin = "http://%s:%d" % (self.host, self.port)
        self.base_url = self.origin + "/v1"
        self.clinic.base_url = self.base_url
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="cliniko-sandbox-%d" % self.port,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- test controls ------------------------------------------------------------------------
    def fail_next(self, count=1, status=500, path_contains=None):
        """The next ``count`` requests whose path (with query) contains ``path_contains`` answer
        ``status`` (500/502/503; 429 as Cliniko's rate limit answers, its X-RateLimit-Reset a
        second on), or with ``status=0`` lose their connection unanswered."""
        with self._lock:
            self._fail_rules.append([int(count), int(status), path_contains])

    def refuse(self, resource, status=403, message=None):
        """Every route under ``/v1/<resource>`` answers ``status``: 403 as for a key whose
        user lacks the permission (JSON message), 404 as for an endpoint the account does not
        have (Cliniko's HTML 404 page, or a JSON message when ``message`` is given)."""
        if status not in (403, 404):
            raise ValueError("refuse() takes 403 or 404")
        if message is None and status == 403:
            message = "You do not have permission to access %s." % resource
        with self._lock:
            self.refused[resource.strip("/")] = (int(status), message)

    def plant(self, resource, kind, record_id=None, field=None):
        """Serve one record of ``resource`` malformed, as a real account sometimes does; returns
        its id. ``kind``: one of ``MALFORMED_KINDS``. ``field`` picks the key to spoil (else the
        first of the kind's usual candidates the record has). Without ``record_id`` the
        oldest record the default list serves that is not planted already is chosen."""
        if kind not in MALFORMED_KINDS:
            raise ValueError("unknown malformation %r; one of %s" % (kind, MALFORMED_KINDS))
        with self.clinic.lock:
            store = self.clinic.resources[resource]
            if record_id is None:
                taken = {rid for (name, rid) in self.malformed if name == resource}
                candidates = [
                    r
                    for r in store.values()
                    if not r.get("deleted_at")
                    and r["id"] not in taken
                    and (resource != "patient_attachments" or r["id"] in self.clinic.files)
                ]
                # the ones a default list serves first; archived or cancelled ones if need be
                visible = sorted(
                    candidates,
                    key=lambda r: (
                        bool(r.get("archived_at") or r.get("cancelled_at")),
                        r.get("created_at") or "",
                        int(r["id"]),
                    ),
                )
                if not visible:
                    raise ValueError("no %s record left to plant %s in" % (resource, kind))
                record_id = visible[0]["id"]
            record_id = str(record_id)
            if record_id not in store:
                raise KeyError("no %s %s" % (resource, record_id))
            if field is None:
                rendered = self._render_clean(self.clinic.base_url, resource, store[record_id])
                field = spoilable(rendered, kind)
                if field is None:
                    raise ValueError("a %s record has nothing %s can spoil" % (resource, kind))
        with self._lock:
            self.malformed[(resource, record_id)] = (kind, field)
        return record_id

    def break_file(self, attachment_id=None, how="fail"):
        """The download of an attachment fails (``"fail"``: the file host answers 403, as an
        expired signed link does) or brings far more bytes than its ``size`` announces
        (``"oversized"``). Returns the attachment id."""
        if how not in ("fail", "oversized"):
            raise ValueError("break_file() takes how='fail' or how='oversized'")
        if attachment_id is None:
            taken = set(self.broken_files) | {
                rid for (name, rid) in self.malformed if name == "patient_attachments"
            }
            attachment_id = next(
                rid
                for rid in sorted(self.clinic.files, key=int)
                if rid not in taken
                and not self.clinic.resources["patient_attachments"][rid].get("archived_at")
            )
        with self._lock:
            self.broken_files[str(attachment_id)] = how
        return str(attachment_id)

    def reset_rate_limit(self):
        with self._lock:
            self._windows.clear()

    def url(self, path):
        """``/patients`` -> an absolute URL on this server."""
        return self.base_url + path

    def _track(self, connection, alive):
        with self._lock:
            (self._connections.add if alive else self._connections.discard)(connection)

    # -- request handling ---------------------------------------------------------------------
    def _handle(self, handler):
        method = handler.command
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        target = urlsplit(handler.path)
        path, query = target.path, target.query
        self._local.total = None
        try:
            answer = self._answer(handler, method, path, query)
        except Exception:  # noqa: BLE001 - a sandbox bug: say so loudly, answer 500
            traceback.print_exc()
            answer = self._json(500, {"message": "Sandbox error (see stderr)"})
        status = 0 if answer is DROP else answer[0]
        with self._lock:
            self.requests_log.append(
                {
                    "method": method,
                    "path": path,
                    "query": query,
                    "status": status,
                    "total": self._local.total,
                }
            )
        if answer is DROP:
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        status, body, content_type, headers = answer
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            handler.send_header(name, value)
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(body)

    @staticmethod
    def _json(status, payload, headers=()):
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return status, body, "application/json; charset=utf-8", list(headers)

    @staticmethod
    def _html_404():
        body = (
            b"<!DOCTYPE html><html><head><title>The page you were looking for doesn't exist"
            b" (404)</title></head><body><h1>The page you were looking for doesn't exist."
            b"</h1></body></html>"
        )
        return 404, body, "text/html; charset=utf-8", []

    def _answer(self, handler, method, path, query):  # noqa: PLR0911
        if path.startswith("/files/"):
            return self._file(path)
        if not (path == "/v1" or path.startswith("/v1/")):
            return self._html_404()
        fault = self._fault(handler.path)
        if fault is not None:
            return fault
        agent = handler.headers.get("User-Agent") or ""
        if not USER_AGENT_RE.search(agent):
            return self._json(
                403,
                {
                    "message": "A User-Agent with your application name and a "
                    "contact e-mail is required, e.g. "
                    "'My App (dev@example.com)'."
                },
            )
        if "application/json" not in (handler.headers.get("Accept") or ""):
            return self._json(
                406,
                {
                    "message": "Requests must accept application/json "
                    "(send 'Accept: application/json')."
                },
            )
        owner = self._authenticate(handler.headers.get("Authorization") or "")
        if owner is None:
            return (
                401,
                b"HTTP Basic: Access denied.\n",
                "text/plain; charset=utf-8",
                [("WWW-Authenticate", 'Basic realm="Application"')],
            )
        limited = self._rate_limit(owner)
        if limited is not None:
            return limited
        if method not in ("GET", "HEAD"):
            return self._html_404()
        refused = self.refused.get(path[len("/v1/") :].split("/", 1)[0])
        if refused is not None:
            status, message = refused
            if message is None:
                return self._html_404()
            return self._json(status, {"message": message})
        origin = "http://" + (handler.headers.get("Host") or "%s:%d" % (self.host, self.port))
        try:
            return self._route(origin, path, query, owner)
        except BadRequest as error:
            return self._json(400, {"message": str(error)})

    def _fault(self, target):
        with self._lock:
            draws = [self._fault_rng.random() for _ in range(3)]
            forced = None
            for rule in self._fail_rules:
                if rule[2] is None or rule[2] in target:
                    forced = rule[1]
                    rule[0] -= 1
                    if rule[0] <= 0:
                        self._fail_rules.remove(rule)
                    break
        if forced == 429:
            return self._json(
                429,
                {"message": "Too many requests."},
                [("X-RateLimit-Reset", str(math.ceil(self.clock()) + 1))],
            )
        if forced is not None:
            return DROP if forced == 0 else self._server_error(forced)
        if draws[0] < self.drop_rate:
            return DROP
        if draws[1] < self.fault_rate:
            return self._server_error(500)
        if draws[2] < self.slow_rate:
            time.sleep(self.slow_seconds)
        return None

    def _server_error(self, status):
        if status == 500:
            return self._json(500, {"message": "We're sorry, but something went wrong."})
        text = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(
            status, "Error"
        )
        body = ("<html><body><h1>%d %s</h1></body></html>" % (status, text)).encode()
        return status, body, "text/html; charset=utf-8", []

    def _authenticate(self, header):
        if not header[:6].lower() == "basic ":
            return None
        try:
            user = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        presented, shard = split_shard(user.split(":", 1)[0])
        expected, own_shard = split_shard(self.api_key)
        if shard is not None and shard != (own_shard or self.shard).lower():
            return None
        return self.key_owner_id if presented and presented == expected else None

    def _rate_limit(self, owner):
        if not self.rate_limit:
            return None
        with self._lock:
            now = self.clock()
            window = self._windows.get(owner)
            if window is None or now >= window[0] + self.rate_window:
                window = self._windows[owner] = [now, 0]
            if window[1] >= self.rate_limit:
                reset = math.ceil(window[0] + self.rate_window)
                return self._json(
                    429,
                    {
                        "message": "Too many requests: the limit is %s requests "
                        "per %g seconds." % (self.rate_limit, self.rate_window)
                    },
                    [("X-RateLimit-Reset", str(reset))],
                )
            window[1] += 1
        return None

    # -- routing ------------------------------------------------------------------------------
    def _route(self, origin, path, query, owner):  # noqa: PLR0911
        api = origin + "/v1"
        segments = [unquote(s) for s in path[len("/v1") :].split("/") if s]
        params = parse_qsl(query, keep_blank_values=True)
        clinic = self.clinic
        if not segments:
            return self._html_404()
        head, rest = segments[0], segments[1:]
        if head == "settings" and len(rest) <= 1 and rest in ([], ["public"]):
            return self._json(200, self._settings(api, public=bool(rest)))
        if head == "user" and not rest:
            with clinic.lock:
                user = clinic.resources["users"].get(owner)
                if user is None:
                    return self._json(404, {"message": "Not found"})
                return self._json(200, clinic.render("users", user, api))
        if head not in clinic.resources and head not in SOURCES:
            return self._html_404()
        if not rest:
            return self._list(api, path, params, head)
        if len(rest) == 1 and rest[0] in STATES:
            if rest[0] not in LEGACY_STATES.get(head, ()):
                return self._html_404()
            return self._list(api, path, params, head, state=rest[0])
        if not rest[0].isdigit():
            return self._html_404()
        record_id = str(int(rest[0]))
        if len(rest) == 1:
            return self._show(api, head, record_id)
        parent = self._find(head, record_id)
        if parent is None:
            return self._json(404, {"message": "Not found"})
        child = rest[1]
        if len(rest) == 2 and child == "content" and head == "patient_attachments":
            if record_id not in clinic.files:
                return self._json(404, {"message": "Not found"})
            location = "%s/files/%s/%s" % (
                origin,
                clinic.file_token(record_id),
                quote(parent.get("filename") or "file", safe=""),
            )
            return 302, b"", "text/plain; charset=utf-8", [("Location", location)]
        if (
            len(rest) == 2
            and child == "conflicts"
            and head in ("individual_appointments", "group_appointments", "appointments")
        ):
            return self._json(200, {"conflicts": {"exist": False}})
        if len(rest) == 2 and child == "referral_source" and head == "patients":
            with clinic.lock:
                source = next(
                    (
                        s
                        for s in clinic.resources["referral_sources"].values()
                        if s["patient_id"] == record_id
                    ),
                    None,
                )
                if source is None:
                    return self._json(404, {"message": "Not found"})
                return self._json(200, clinic.render("referral_sources", source, api))
        narrowing = NESTED.get((head, child), False)
        if narrowing is False or len(rest) > 3:
            return self._html_404()
        state = rest[2] if len(rest) == 3 else None
        if state is not None and state not in LEGACY_STATES.get(child, ()):
            return self._html_404()
        if narrowing == "@attendee_ids":
            wanted = set(parent.get("attendee_ids") or ())
            nested = ("@", tuple(sorted(wanted)), lambda r: r["id"] in wanted)
        elif narrowing is None:
            nested = None
        else:
            nested = (narrowing, record_id, lambda r, k=narrowing: r.get(k) == record_id)
        return self._list(api, path, params, child, state=state, nested=nested)

    def _find(self, name, record_id):
        for store in SOURCES.get(name, (name,)):
            record = self.clinic.resources[store].get(record_id)
            if record is not None:
                return record
        return None

    def _show(self, api, name, record_id):
        clinic = self.clinic
        with clinic.lock:
            record = self._find(name, record_id)
            if record is None or record.get("deleted_at"):
                return self._json(404, {"message": "Not found"})
            if name == "patients" and record.get("archived_at") and self.archived_patient_404:
                return self._json(404, {"message": "Not found"})
            return self._json(200, self._render(api, name, record))

    def _render(self, api, name, record, state=None):
        out = self._render_clean(api, name, record, state)
        spoiled = self.malformed.get((name, str(record.get("id"))))
        return spoil(out, *spoiled) if spoiled else out

    def _render_clean(self, api, name, record, state=None):
        clinic = self.clinic
        if name == "patients" and state == "deleted":
            return {
                "id": record["id"],
                "deleted_at": record["deleted_at"],
                "links": {"self": "%s/patients/%s" % (api, record["id"])},
            }
        if name == "bookings":
            kind = "group_appointments" if "max_attendees" in record else "individual_appointments"
            out = clinic.render(kind, record, api)
            out["links"] = {"self": "%s/bookings/%s" % (api, record["id"])}
            return out
        if name == "appointments":  # the legacy feed, gone from the docs since 2018
            out = clinic.render("individual_appointments", record, api)
            for new, old in (
                ("starts_at", "appointment_start"),
                ("ends_at", "appointment_end"),
                ("cancelled_at", "cancellation_time"),
            ):
                out[old] = out.pop(new)
            for gone in (
                "attendees",
                "telehealth_url",
                "cancellation_reason_description",
                "archived_at",
                "patient_case",
                "has_patient_appointment_notes",
            ):
                out.pop(gone, None)
            rid = record["id"]
            out["conflicts"] = {"links": {"self": "%s/appointments/%s/conflicts" % (api, rid)}}
            out["invoices"] = {"links": {"self": "%s/appointments/%s/invoices?page=1" % (api, rid)}}
            out["links"] = {"self": "%s/appointments/%s" % (api, rid)}
            return out
        return clinic.render(name, record, api)

    def _settings(self, api, public):
        settings = json.loads(json.dumps(self.clinic.settings))
        if public:
            settings["account"].pop("email_from", None)
            settings["account"].pop("admin", None)
            settings["online_bookings"].pop("adroll", None)
            settings["online_bookings"].pop("google_analytics", None)
        settings["links"] = {"self": api + "/settings/public"}
        return settings

    # -- lists --------------------------------------------------------------------------------
    def _list(self, api, path, params, name, *, state=None, nested=None):
        page = self._positive(params, "page", 1)
        per_page = min(self._positive(params, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
        filters = [v for k, v in params if k == "q[]"]
        legacy = [v for k, v in params if k == "q"]
        if legacy:  # ISS #274: of repeated plain q only the last one counts
            filters.append(legacy[-1])
        sort = next((v for k, v in reversed(params) if k == "sort"), "")
        order = next((v for k, v in reversed(params) if k == "order"), "")
        rows = self._rows(name, state, nested, filters, sort=sort, order=order)
        start = (page - 1) * per_page
        with self.clinic.lock:
            items = [
                self._render(api, name, record, state) for record in rows[start : start + per_page]
            ]
        carried = [("per_page", str(per_page))] + [("q[]", f) for f in filters]
        if sort:
            carried.append(("sort", sort))
        if order:
            carried.append(("order", order))
        base = api[: -len("/v1")] + path  # same host, same path as the request

        def link(number):
            return "%s?%s" % (base, urlencode([("page", str(number))] + carried))

        links = {"self": link(page)}
        if start + per_page < len(rows):
            links["next"] = link(page + 1)
        if page > 1:
            links["previous"] = link(min(page - 1, max(1, math.ceil(len(rows) / per_page))))
        self._local.total = len(rows)
        return self._json(200, {name: items, "total_entries": len(rows), "links": links})

    @staticmethod
    def _positive(params, name, default):
        raw = next((v for k, v in reversed(params) if k == name), None)
        if raw is None or raw == "":
            return default
        if not raw.strip().isdigit() or int(raw) < 1:
            raise BadRequest("%s must be a positive integer" % name)
        return int(raw)

    def _rows(self, name, state, nested, filters, *, sort, order):
        """The sorted, filtered records of a list (before paging)."""
        clinic = self.clinic
        stores = SOURCES.get(name, (name,))
        allowed = DELETED_FILTERS if state == "deleted" else FILTERS.get(name, BASE_FILTERS)
        aliases = ALIASES.get(name, {})
        predicates, touched = [], set()
        for text in filters:
            field, colon, condition = text.partition(":")
            field = field.strip()
            if not colon:
                raise BadRequest("Invalid filter %r: use field:<operator><value>" % text)
            if field not in allowed:
                raise BadRequest(NOT_SEARCHABLE)
            key = aliases.get(field, field)
            touched.add(key)
            predicate = make_predicate(field, key, allowed[field], condition)
            if predicate is not None:
                predicates.append(predicate)
        sort_spec = self._sort_spec(name, allowed, aliases, sort, order)
        with clinic.lock:
            size = sum(len(clinic.resources[s]) for s in stores)
            cache_key = (
                name,
                state,
                nested[:2] if nested else None,
                tuple(filters),
                sort_spec,
                clinic.version,
                size,
            )
            if size >= CACHE_MIN_ROWS:
                with self._lock:
                    if cache_key in self._cache:
                        self._cache.move_to_end(cache_key)
                        return self._cache[cache_key]
            fields = sandbox_clinic.DEFAULTS[stores[0]]
            implicit = []
            if nested is not None:
                implicit.append(nested[2])
            if state == "deleted":
                implicit.append(lambda r: bool(r.get("deleted_at")))
            elif state == "archived":
                implicit.append(lambda r: bool(r.get("archived_at")))
            elif state == "cancelled":
                implicit.append(lambda r: bool(r.get("cancelled_at")))
            elif state == "inactive":
                implicit.append(lambda r: r.get("active") is False)
            elif name == "practitioners":
                implicit.append(lambda r: r.get("active") is not False)
            hidden = (
                ["deleted_at"]
                if state in ("archived", "cancelled", "inactive")
                else (
                    []
                    if state == "deleted"
                    else ["deleted_at", "archived_at"]
                    + (["cancelled_at"] if name in CANCELLABLE else [])
                )
            )
            for column in hidden:
                if column in fields and column not in touched:
                    implicit.append(lambda r, c=column: not r.get(c))
            rows = [r for s in stores for r in clinic.resources[s].values()]
            for predicate in implicit + predicates:
                rows = list(filter(predicate, rows))
            for key, kind, descending in reversed(sort_spec):
                rows.sort(key=_sort_key(key, kind), reverse=descending)
        if size >= CACHE_MIN_ROWS:
            with self._lock:
                self._cache[cache_key] = rows
                while len(self._cache) > 8:
                    self._cache.popitem(last=False)
        return rows

    @staticmethod
    def _sort_spec(name, allowed, aliases, sort, order):
        default_desc = order.strip().lower() == "desc"
        sortable = dict(FILTERS.get(name, BASE_FILTERS), **BASE_FILTERS)
        sortable.update(allowed)
        columns = [c.strip() for c in sort.split(",") if c.strip()] or ["created_at"]
        spec = []
        for column in columns:
            field, _, direction = column.partition(":")
            direction = direction.strip().lower()
            if direction not in ("", "asc", "desc"):
                raise BadRequest("Invalid sort direction %r" % direction)
            if field not in sortable or sortable[field] == ARRAY:
                raise BadRequest("%s is not sortable" % field)
            descending = direction == "desc" if direction else default_desc
            spec.append((aliases.get(field, field), sortable[field], descending))
        if all(key != "id" for key, _, _ in spec):
            spec.append(("id", INT, spec[0][2]))  # ties broken by id
        return tuple(spec)

    # -- attachment downloads -----------------------------------------------------------------
    def _file(self, path):
        parts = path.split("/")
        if len(parts) != 4:
            return self._html_404()
        found = self.clinic.find_file(parts[2])
        if found is None:
            return self._html_404()
        record, data = found
        broken = self.broken_files.get(str(record.get("id")))
        if broken == "fail":
            body = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
            return 403, body, "application/xml", []
        if broken == "oversized":  # far more than the record's "size" announces
            data = data * max(2, OVERSIZE_BYTES // max(1, len(data)))
        return (
            200,
            data,
            record.get("content_type") or "application/octet-stream",
            [
                (
                    "Content-Disposition",
                    "attachment; filename*=UTF-8''%s"
                    % quote(record.get("filename") or "file", safe=""),
                ),
            ],
        )


# --------------------------------------------------------------------------------------------
# Command line


def main(argv=None):
    parser = argparse.ArgumentParser(description="Serve a fake Cliniko API v1 over HTTP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--patients", type=int, default=12)
    parser.add_argument("--rate-limit", type=int, default=200, help="requests per minute")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--slow-rate", type=float, default=0.0)
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--drop-rate", type=float, default=0.0)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--shard", default="au1")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    parser.add_argument(
        "--write-exports",
        metavar="DIR",
        help="also write the clinic's Data Exports (Patients-Cliniko-<date>.csv; an invented "
        "layout, see tools/sandbox_exports.py) into DIR",
    )
    parser.add_argument("--export-date-order", choices=("dmy", "mdy", "iso"), default="dmy")
    parser.add_argument("--export-escape-ids", choices=("long", "all", "none"), default="long")
    parser.add_argument("--export-no-bom", action="store_true", help="write no UTF-8 BOM")
    parser.add_argument(
        "--refuse",
        action="append",
        default=[],
        metavar="RESOURCE=STATUS",
        help="make /v1/RESOURCE answer 403 (no permission) or 404 (not available); repeatable",
    )
    parser.add_argument(
        "--plant",
        action="append",
        default=[],
        metavar="RESOURCE=KIND[:FIELD]",
        help="serve one record of RESOURCE malformed (KIND: %s); repeatable"
        % ", ".join(MALFORMED_KINDS),
    )
    parser.add_argument(
        "--break-file",
        action="append",
        default=[],
        choices=("fail", "oversized"),
        help="one more attachment whose download fails (403) or is far larger than announced",
    )
    args = parser.parse_args(argv)
    sandbox = ClinikoSandbox(
        seed=args.seed,
        patients=args.patients,
        host=args.host,
        port=args.port,
        rate_limit=args.rate_limit,
        rate_window=60.0,
        fault_rate=args.fault_rate,
        slow_rate=args.slow_rate,
        slow_seconds=args.slow_seconds,
        drop_rate=args.drop_rate,
        api_key=args.api_key,
        shard=args.shard,
    )
    sandbox.verbose = args.verbose
    if args.write_exports:
        for path in sandbox_exports.write_exports(
            sandbox.clinic,
            args.write_exports,
            date_order=args.export_date_order,
            escape_ids=args.export_escape_ids,
            bom=not args.export_no_bom,
        ):
            sys.stdout.write("export=%s\n" % path)
    for spec in args.refuse:
        resource, _, status = spec.partition("=")
        if not status.isdigit():
            parser.error("--refuse takes RESOURCE=403 or RESOURCE=404")
        sandbox.refuse(resource, int(status))
    for spec in args.plant:
        resource, _, kind = spec.partition("=")
        kind, _, field = kind.partition(":")
        try:
            record_id = sandbox.plant(resource, kind, field=field or None)
        except (KeyError, ValueError) as error:
            parser.error("--plant %s: %s" % (spec, error))
        sys.stdout.write("planted %s in %s %s\n" % (kind, resource, record_id))
    for how in args.break_file:
        sys.stdout.write("broken file (%s): %s\n" % (how, sandbox.break_file(how=how)))
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    sandbox.start()
    sys.stdout.write("base_url=%s\napi_key=%s\n" % (sandbox.base_url, sandbox.api_key))
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
