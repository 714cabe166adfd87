"""The Cliniko API client, over real HTTP: against the Cliniko sandbox, and against tiny local
servers for the answers the sandbox does not give (another host, redirects, odd statuses).

No mock of ``requests``: each test starts real servers on 127.0.0.1. The only stand-in is the
client's own ``sleep`` callable, replaced where a test must not wait a real minute.
"""

import base64
import hashlib
import io
import json
import logging
import os
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

_ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))

try:
    from ..cliniko_api import (
        ClinikoAuthError,
        ClinikoBadRequestError,
        ClinikoClient,
        ClinikoConnectionError,
        ClinikoError,
        ClinikoNotFoundError,
        ClinikoPermissionError,
        ClinikoRateLimitError,
        ClinikoUnavailableError,
        ClinikoValidationError,
        shard_from_key,
    )
    from ..cliniko_api.client import RATE_LIMIT_MARGIN
except ImportError:
    sys.path.insert(0, _ROOT)
    from cliniko_api import (
        ClinikoAuthError,
        ClinikoBadRequestError,
        ClinikoClient,
        ClinikoConnectionError,
        ClinikoError,
        ClinikoNotFoundError,
        ClinikoPermissionError,
        ClinikoRateLimitError,
        ClinikoUnavailableError,
        ClinikoValidationError,
        shard_from_key,
    )
    from cliniko_api.client import RATE_LIMIT_MARGIN

try:
    from ..tools.cliniko_sandbox import ClinikoSandbox, SteppingClock
except ImportError:
    sys.path.insert(0, os.path.join(_ROOT, "tools"))
    from cliniko_sandbox import ClinikoSandbox, SteppingClock

EMAIL = "tests@example.com"


class Recorder:
    """Collects what the client does through its own hooks (on_wait, sleep)."""

    def __init__(self):
        self.waits = []
        self.sleeps = []

    def on_wait(self, reason, seconds):
        self.waits.append((reason, seconds))

    def sleep(self, seconds):
        self.sleeps.append(seconds)

    def reasons(self):
        return [reason for reason, _seconds in self.waits]


class StubServer:
    """A tiny HTTP server on 127.0.0.1 whose answers each test scripts.

    ``routes`` maps a path to a callable ``(handler) -> None`` that writes the answer; every
    request is recorded as ``{"path", "query", "headers"}``.
    """

    def __init__(self):
        self.routes = {}
        self.requests = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                stub.requests.append(
                    {"path": parts.path, "query": parts.query, "headers": dict(self.headers)}
                )
                route = stub.routes.get(parts.path)
                if route is None:
                    self.answer(404, {"message": "not found"})
                else:
                    route(self)

            def answer(self, status, body=b"", content_type="application/json", headers=None):
                if not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # the client hanging up early (timeouts) is expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path, host="127.0.0.1"):
        return "http://%s:%d%s" % (host, self.port, path)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class StubCase(unittest.TestCase):
    """Two stub servers: ``cliniko`` (the base host) and ``other`` (a different host)."""

    api_key = "0ZmI3ZTEyMGUtZDAwNy00ZmJkLWE5NDItOTNkZDQxNmIzYzI3-au2"

    def setUp(self):
        super().setUp()
        self.cliniko = StubServer()
        self.other = StubServer()
        self.addCleanup(self.cliniko.stop)
        self.addCleanup(self.other.stop)
        self.recorder = Recorder()

    def client(self, **options):
        options.setdefault("backoff", 0.01)
        # These servers are local, over http: a sandbox's setting (a test turns it off).
        options.setdefault("allow_private_hosts", True)
        options.setdefault("on_wait", self.recorder.on_wait)
        return ClinikoClient(
            self.api_key, contact_email=EMAIL, base_url=self.cliniko.url("/v1"), **options
        )

    def other_url(self, path):
        # "localhost" and another port: a different host for the client's origin check.
        return self.other.url(path, host="localhost")


class SandboxCase(unittest.TestCase):
    sandbox_options = {"seed": 1, "patients": 12}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = ClinikoSandbox(**cls.sandbox_options).start()
        cls.addClassCleanup(cls.sandbox.stop)

    def setUp(self):
        super().setUp()
        self.sandbox.reset_rate_limit()
        self.recorder = Recorder()

    def client(self, api_key=None, **options):
        options.setdefault("backoff", 0.01)
        options.setdefault("on_wait", self.recorder.on_wait)
        return ClinikoClient(
            api_key or self.sandbox.api_key,
            contact_email=EMAIL,
            base_url=self.sandbox.base_url,
            **options,
        )

    def patient_ids(self, state=None):
        """IDs of the patients a list serves: by default neither archived nor deleted."""
        patients = self.sandbox.clinic.resources["patients"].values()
        if state == "archived":
            return {p["id"] for p in patients if p.get("archived_at") and not p.get("deleted_at")}
        return {p["id"] for p in patients if not p.get("archived_at") and not p.get("deleted_at")}


# -- keys, shards, identity ----------------------------------------------------------------------
class TestKeysAndIdentity(unittest.TestCase):
    def test_shard_is_the_part_after_the_last_hyphen(self):
        self.assertEqual(shard_from_key("abc-def-ghi-au2"), "au2")
        self.assertEqual(shard_from_key("MxJrZXkiOiI1Njd1amJmZTQ1NyJ9-uk1"), "uk1")

    def test_shard_may_have_two_digits(self):
        self.assertEqual(shard_from_key("some-key-us12"), "us12")

    def test_key_without_shard_suffix_belongs_to_au1(self):
        self.assertEqual(shard_from_key("MxJrZXkiOiI1Njd1amJmZTQ1NyJ9"), "au1")
        self.assertEqual(shard_from_key("hyphen-ated-key-notashard"), "au1")
        self.assertEqual(shard_from_key("key-au123"), "au1")
        self.assertEqual(shard_from_key(""), "au1")

    def test_shard_suffix_is_case_insensitive_and_returned_lower_case(self):
        self.assertEqual(shard_from_key("some-key-UK2"), "uk2")

    def test_default_base_url_comes_from_the_shard(self):
        client = ClinikoClient("a-hyphenated-key-ca1", contact_email=EMAIL)
        self.assertEqual(client.shard, "ca1")
        self.assertEqual(client.base_url, "https://api.ca1.cliniko.com/v1")

    def test_user_agent_names_the_app_and_contact_email(self):
        client = ClinikoClient("key", contact_email=EMAIL, app_name="Clinic Move")
        self.assertEqual(client.user_agent, "Clinic Move (tests@example.com)")

    def test_contact_email_must_look_like_an_email(self):
        for bad in ("", "nobody", "a@b", "two words@example.com"):
            with self.assertRaises(ValueError, msg=bad):
                ClinikoClient("key", contact_email=bad)

    def test_id_from_link_reads_the_last_path_segment(self):
        link = {"links": {"self": "https://api.au1.cliniko.com/v1/patients/82"}}
        self.assertEqual(ClinikoClient.id_from_link(link), "82")
        self.assertEqual(
            ClinikoClient.id_from_link(
                "https://api.au1.cliniko.com/v1/patients/1390726237298631770"
            ),
            "1390726237298631770",
        )
        self.assertEqual(ClinikoClient.id_from_link("https://x/v1/patients/82/?page=1"), "82")

    def test_id_from_link_of_nothing_is_none(self):
        for nothing in (None, "", {}, {"links": {}}, {"links": None}):
            self.assertIsNone(ClinikoClient.id_from_link(nothing), nothing)

    def test_list_params_builds_repeated_filters_and_sort(self):
        client = ClinikoClient("key", contact_email=EMAIL)
        params = client.list_params(
            ["updated_at:>2024-01-01T00:00:00Z", ("archived_at", "*", None)],
            sort=["updated_at:asc", "id"],
            per_page=100,
            page=None,
        )
        self.assertEqual(
            params,
            [
                ("q[]", "updated_at:>2024-01-01T00:00:00Z"),
                ("q[]", "archived_at:*"),
                ("sort", "updated_at:asc,id"),
                ("per_page", "100"),
            ],
        )


# -- against the sandbox -------------------------------------------------------------------------
class TestClientAgainstSandbox(SandboxCase):
    def test_request_with_required_headers_and_basic_auth_succeeds(self):
        page = self.client().get("/patients", params={"per_page": 3})
        self.assertEqual(len(page["patients"]), 3)
        self.assertEqual(page["total_entries"], len(self.patient_ids()))
        self.assertEqual(self.sandbox.requests_log[-1]["status"], 200)

    def test_pagination_yields_every_patient_exactly_once(self):
        client = self.client()
        pages = list(client.iter_pages("/patients", per_page=5))
        self.assertEqual(len(pages), -(-len(self.patient_ids()) // 5))
        self.assertGreater(len(pages), 1)
        ids = [record["id"] for record in client.iter_records("/patients", per_page=5)]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(set(ids), self.patient_ids())

    def test_records_match_the_sandbox_data(self):
        served = self.sandbox.clinic.resources["patients"]
        for record in self.client().iter_records("/patients", per_page=5):
            self.assertEqual(record["last_name"], served[record["id"]]["last_name"])
            self.assertEqual(record["email"], served[record["id"]]["email"])

    def test_state_list_records_are_read_from_the_resource_key(self):
        archived = self.patient_ids(state="archived")
        self.assertTrue(archived, "the sandbox plants an archived patient")
        ids = {r["id"] for r in self.client().iter_records("/patients/archived", per_page=5)}
        self.assertEqual(ids, archived)

    def test_count_reads_total_entries(self):
        client = self.client()
        self.assertEqual(client.count("/patients"), len(self.patient_ids()))
        self.assertIn("per_page=1", self.sandbox.requests_log[-1]["query"])

    def test_filters_are_sent_as_repeated_q_brackets_and_anded(self):
        client = self.client()
        first, second = sorted(self.patient_ids())[:2]
        both = client.list_params(["id:=%s,%s" % (first, second)])
        self.assertEqual({r["id"] for r in client.iter_records("/patients", both)}, {first, second})
        one = client.list_params(["id:=%s,%s" % (first, second), "id:!=%s" % second])
        self.assertEqual([r["id"] for r in client.iter_records("/patients", one)], [first])

    def test_bad_key_raises_auth_error_without_the_key_in_the_message(self):
        bad_key = "NOTAREALKEYbutlongenough1234567890-au1"
        with self.assertRaises(ClinikoAuthError) as caught:
            self.client(api_key=bad_key).get("/patients")
        error = caught.exception
        self.assertEqual(error.status, 401)
        self.assertIn("API key", str(error))
        self.assertNotIn(bad_key, str(error))
        self.assertNotIn(bad_key, repr(error))
        self.assertEqual(self.recorder.waits, [], "a 401 must not be retried")

    def test_unknown_patient_raises_not_found(self):
        with self.assertRaises(ClinikoNotFoundError) as caught:
            self.client().get("/patients/999999999999")
        self.assertEqual(caught.exception.status, 404)

    def test_unfilterable_field_raises_bad_request(self):
        client = self.client()
        with self.assertRaises(ClinikoBadRequestError) as caught:
            client.get("/patients", client.list_params(["notes:~back pain"]))
        self.assertEqual(caught.exception.status, 400)

    def test_server_error_in_the_middle_of_pagination_is_retried(self):
        client = self.client()
        pages = client.iter_pages("/patients", per_page=5)
        ids = [record["id"] for record in next(pages)["patients"]]
        self.sandbox.fail_next(count=1, status=500)
        ids += [record["id"] for page in pages for record in page["patients"]]
        self.assertEqual(sorted(ids), sorted(self.patient_ids()))
        self.assertIn(500, [entry["status"] for entry in self.sandbox.requests_log])
        self.assertIn("retry after HTTP 500", self.recorder.reasons())

    def test_dropped_connection_is_retried(self):
        self.sandbox.fail_next(count=1, status=0)
        page = self.client().get("/patients")
        self.assertEqual(len(page["patients"]), len(self.patient_ids()))
        self.assertIn("retry after dropped connection", self.recorder.reasons())

    def test_retries_exhausted_raise_unavailable(self):
        self.sandbox.fail_next(count=3, status=503)
        with self.assertRaises(ClinikoUnavailableError) as caught:
            self.client(max_retries=2).get("/patients")
        self.assertEqual(caught.exception.status, 503)
        self.assertEqual(self.recorder.reasons(), ["retry after HTTP 503"] * 2)

    def test_client_side_limiter_waits_before_exceeding_its_budget(self):
        client = self.client(per_minute=2, sleep=self.recorder.sleep)
        for _ in range(3):
            client.get("/patients", {"per_page": 1})
        self.assertEqual(len(self.recorder.sleeps), 1)
        self.assertGreater(self.recorder.sleeps[0], 50)  # the window is 60 s
        self.assertEqual(self.recorder.waits, [("rate limit (client)", self.recorder.sleeps[0])])

    def test_download_streams_an_attachment_with_matching_size_and_hash(self):
        client = self.client()
        [record] = client.get("/patient_attachments", {"per_page": 1})["patient_attachments"]
        served = self.sandbox.clinic.files[record["id"]]
        target = io.BytesIO()
        result = client.download(record["content"]["links"]["self"], target)
        self.assertEqual(target.getvalue(), served)
        self.assertEqual(result["size"], len(served))
        self.assertEqual(result["sha256"], hashlib.sha256(served).hexdigest())
        self.assertEqual(result["content_type"], record["content_type"])
        # The sandbox answers 302 to a file URL on its own host: followed, with the key.
        self.assertEqual([entry["status"] for entry in self.sandbox.requests_log[-2:]], [302, 200])

    def test_key_never_appears_in_client_or_error_texts(self):
        client = self.client()
        key = self.sandbox.api_key
        token = base64.b64encode(("%s:" % key).encode()).decode()
        texts = [repr(client), str(client), repr(vars(client))]
        for call in (
            lambda: client.get("/patients/999999999999"),
            lambda: client.get("/patients", client.list_params(["notes:~x"])),
            lambda: client.get("https://evil.example.com/v1/patients"),
        ):
            with self.assertRaises(ClinikoError) as caught:
                call()
            texts += [str(caught.exception), repr(caught.exception)]
        for text in texts:
            self.assertNotIn(key, text)
            self.assertNotIn(token, text)


class TestRateLimitedBySandbox(SandboxCase):
    """The sandbox and the client share a stepping clock: the client waits out each 429 as
    the sandbox asks, and nothing really sleeps."""

    sandbox_options = {"seed": 2, "patients": 12, "rate_limit": 3, "rate_window": 2.0}

    @classmethod
    def setUpClass(cls):
        cls.clock = SteppingClock()
        cls.sandbox_options = dict(cls.sandbox_options, clock=cls.clock.time)
        super().setUpClass()

    def client(self, api_key=None, **options):
        return super().client(api_key, clock=self.clock.time, sleep=self.clock.sleep, **options)

    def test_iteration_waits_out_429s_and_completes(self):
        client = self.client()
        slept = len(self.clock.sleeps)
        ids = [record["id"] for record in client.iter_records("/patients", per_page=2)]
        self.assertEqual(sorted(ids), sorted(self.patient_ids()))
        waits = [
            s for reason, s in self.recorder.waits if reason == "rate limited by Cliniko (429)"
        ]
        self.assertTrue(waits, "the sandbox never answered 429")
        self.assertTrue(all(s > 0 for s in waits))
        self.assertIn(429, [entry["status"] for entry in self.sandbox.requests_log])
        # Each wait is slept, and lasts until the window the sandbox named is over: never
        # more than one window (its reset is rounded up to a second) plus the margin.
        self.assertEqual(self.clock.sleeps[slept:], waits)
        self.assertTrue(all(s <= 2.0 + 1 + RATE_LIMIT_MARGIN for s in waits), waits)

    def test_429_wait_beyond_the_allowed_maximum_raises_rate_limit_error(self):
        client = self.client(max_rate_limit_wait=0.1)
        with self.assertRaises(ClinikoRateLimitError) as caught:
            for _ in range(10):
                client.get("/patients", {"per_page": 1})
        self.assertEqual(caught.exception.status, 429)
        self.assertGreater(caught.exception.retry_after, 0.1)


class TestRateLimitedInRealTime(SandboxCase):
    """The real clock and sleep are the defaults: a real 429 is waited out for real (about
    a second or two: the sandbox rounds its reset up to a whole second)."""

    sandbox_options = {"seed": 2, "patients": 12, "rate_limit": 2, "rate_window": 1.0}

    def test_a_429_is_waited_out_on_the_real_clock(self):
        client = self.client()
        started = time.monotonic()
        for _ in range(3):
            client.get("/patients", {"per_page": 1})
        elapsed = time.monotonic() - started
        [wait] = [s for why, s in self.recorder.waits if why == "rate limited by Cliniko (429)"]
        self.assertTrue(RATE_LIMIT_MARGIN < wait <= 1.0 + 1 + RATE_LIMIT_MARGIN, wait)
        self.assertGreaterEqual(elapsed, wait)
        self.assertEqual(
            [entry["status"] for entry in self.sandbox.requests_log[-4:]], [200, 200, 429, 200]
        )


# -- against local stub servers ------------------------------------------------------------------
class TestClientAgainstStubs(StubCase):
    def test_headers_and_basic_auth_are_sent_to_the_base_host(self):
        self.cliniko.routes["/v1/user"] = lambda h: h.answer(200, {"id": "1"})
        self.assertEqual(self.client().get("user"), {"id": "1"})
        headers = self.cliniko.requests[0]["headers"]
        self.assertEqual(headers["Accept"], "application/json")
        self.assertEqual(headers["User-Agent"], "Odoo Cliniko CRM Migration (tests@example.com)")
        expected = base64.b64encode(("%s:" % self.api_key).encode()).decode()
        self.assertEqual(headers["Authorization"], "Basic " + expected)

    def test_q_filters_are_url_encoded_as_repeated_keys(self):
        self.cliniko.routes["/v1/patients"] = lambda h: h.answer(200, {"patients": []})
        client = self.client()
        client.get("/patients", client.list_params(["last_name:~~ja%on", "id:=1,2"]))
        query = self.cliniko.requests[0]["query"]
        self.assertEqual(query, "q%5B%5D=last_name%3A~~ja%25on&q%5B%5D=id%3A%3D1%2C2")
        self.assertEqual(parse_qsl(query), [("q[]", "last_name:~~ja%on"), ("q[]", "id:=1,2")])

    def test_next_link_to_another_host_is_refused(self):
        evil_next = self.other_url("/v1/patients?page=2")
        self.cliniko.routes["/v1/patients"] = lambda h: h.answer(
            200, {"patients": [{"id": "1"}], "links": {"next": evil_next}}
        )
        records = self.client().iter_records("/patients")
        self.assertEqual(next(records), {"id": "1"})
        with self.assertRaises(ClinikoError) as caught:
            next(records)
        self.assertIn("another host", str(caught.exception))
        self.assertEqual(self.other.requests, [])

    def test_absolute_url_on_another_host_is_refused(self):
        with self.assertRaises(ClinikoError):
            self.client().get(self.other_url("/v1/patients"))
        self.assertEqual(self.other.requests, [])

    def test_api_redirects_are_not_followed(self):
        target = self.other_url("/v1/patients")
        self.cliniko.routes["/v1/patients"] = lambda h: h.answer(302, headers={"Location": target})
        with self.assertRaises(ClinikoError) as caught:
            self.client().get("/patients")
        self.assertEqual(caught.exception.status, 302)
        self.assertEqual(self.other.requests, [])

    def test_plain_text_401_raises_auth_error(self):
        self.cliniko.routes["/v1/patients"] = lambda h: h.answer(
            401, b"HTTP Basic: Access denied.", content_type="text/plain"
        )
        with self.assertRaises(ClinikoAuthError) as caught:
            self.client().get("/patients")
        self.assertIn("rejected the API key (401)", str(caught.exception))

    def test_403_raises_permission_error(self):
        self.cliniko.routes["/v1/users"] = lambda h: h.answer(403, {"message": "Forbidden"})
        with self.assertRaises(ClinikoPermissionError) as caught:
            self.client().get("/users")
        self.assertEqual(caught.exception.status, 403)
        self.assertIn("Forbidden", str(caught.exception))

    def test_422_raises_validation_error_with_field_errors(self):
        body = {"message": "Validation Failed", "errors": {"title": "can't be blank"}}
        self.cliniko.routes["/v1/treatment_notes"] = lambda h: h.answer(422, body)
        with self.assertRaises(ClinikoValidationError) as caught:
            self.client().get("/treatment_notes")
        self.assertEqual(caught.exception.errors, {"title": "can't be blank"})
        self.assertIn("title can't be blank", str(caught.exception))

    def test_429_waits_until_x_ratelimit_reset_before_retry_after(self):
        answers = iter([429, 200])

        def route(handler):
            if next(answers) == 429:
                reset = str(int(time.time()) + 2)
                handler.answer(429, {}, headers={"X-RateLimit-Reset": reset, "Retry-After": "100"})
            else:
                handler.answer(200, {"ok": True})

        self.cliniko.routes["/v1/patients"] = route
        self.assertEqual(self.client(sleep=self.recorder.sleep).get("/patients"), {"ok": True})
        [(reason, seconds)] = self.recorder.waits
        self.assertEqual(reason, "rate limited by Cliniko (429)")
        self.assertTrue(0.5 <= seconds <= 3.0, seconds)
        self.assertEqual(self.recorder.sleeps, [seconds])

    def test_429_falls_back_to_retry_after(self):
        answers = iter([429, 200])
        self.cliniko.routes["/v1/patients"] = lambda h: (
            h.answer(429, {}, headers={"Retry-After": "7"})
            if next(answers) == 429
            else h.answer(200, {"ok": True})
        )
        self.client(sleep=self.recorder.sleep).get("/patients")
        self.assertEqual(self.recorder.waits, [("rate limited by Cliniko (429)", 7.5)])

    def test_429_with_a_past_reset_never_sleeps_a_negative_time(self):
        answers = iter([429, 200])
        self.cliniko.routes["/v1/patients"] = lambda h: (
            h.answer(429, {}, headers={"X-RateLimit-Reset": str(int(time.time()) - 3600)})
            if next(answers) == 429
            else h.answer(200, {"ok": True})
        )
        self.client(sleep=self.recorder.sleep).get("/patients")
        self.assertEqual(len(self.recorder.sleeps), 1)
        self.assertGreaterEqual(self.recorder.sleeps[0], 0)

    def test_endless_429s_are_bounded(self):
        self.cliniko.routes["/v1/patients"] = lambda h: h.answer(
            429, {}, headers={"Retry-After": "0"}
        )
        with self.assertRaises(ClinikoRateLimitError):
            self.client(sleep=self.recorder.sleep).get("/patients")
        self.assertEqual(len(self.cliniko.requests), 21)

    def test_429s_do_not_use_up_the_server_error_retries(self):
        answers = iter([429, 500, 429, 429, 500, 200])

        def route(handler):
            status = next(answers)
            handler.answer(status, {"ok": status == 200}, headers={"Retry-After": "0"})

        self.cliniko.routes["/v1/patients"] = route
        result = self.client(max_retries=2, sleep=self.recorder.sleep).get("/patients")
        self.assertEqual(result, {"ok": True})

    def test_unreachable_host_raises_connection_error(self):
        port = self.cliniko.port
        self.cliniko.stop()
        client = ClinikoClient(
            self.api_key,
            contact_email=EMAIL,
            base_url="http://127.0.0.1:%d/v1" % port,
            backoff=0.01,
            max_retries=1,
            on_wait=self.recorder.on_wait,
        )
        with self.assertRaises(ClinikoConnectionError) as caught:
            client.get("/patients")
        self.assertEqual(self.recorder.reasons(), ["retry after connection failure"])
        self.assertNotIn(self.api_key, str(caught.exception))

    def test_timeouts_are_retried_then_raise_unavailable(self):
        def slow(handler):
            time.sleep(0.5)
            handler.answer(200, {"late": True})

        self.cliniko.routes["/v1/patients"] = slow
        with self.assertRaises(ClinikoUnavailableError):
            self.client(timeout=0.1, max_retries=1).get("/patients")
        self.assertEqual(self.recorder.reasons(), ["retry after timeout"])

    def test_download_redirect_to_another_host_drops_authorization(self):
        payload = os.urandom(200_000)
        self.cliniko.routes["/v1/patient_attachments/7/content"] = lambda h: h.answer(
            302, headers={"Location": self.other_url("/bucket/file.pdf?X-Amz-Signature=abc")}
        )
        self.other.routes["/bucket/file.pdf"] = lambda h: h.answer(
            200, payload, content_type="application/pdf"
        )
        target = io.BytesIO()
        result = self.client().download("/patient_attachments/7/content", target)
        self.assertEqual(target.getvalue(), payload)
        self.assertEqual(
            result,
            {
                "content_type": "application/pdf",
                "size": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
            },
        )
        self.assertIn("Authorization", self.cliniko.requests[0]["headers"])
        self.assertEqual(len(self.other.requests), 1)
        self.assertNotIn("Authorization", self.other.requests[0]["headers"])

    def test_download_redirect_on_the_same_host_keeps_authorization(self):
        self.cliniko.routes["/v1/patient_attachments/7/content"] = lambda h: h.answer(
            302, headers={"Location": "/files/7"}
        )
        self.cliniko.routes["/files/7"] = lambda h: h.answer(
            200, b"hello", content_type="text/plain"
        )
        target = io.BytesIO()
        result = self.client().download("/patient_attachments/7/content", target)
        self.assertEqual((target.getvalue(), result["size"]), (b"hello", 5))
        self.assertEqual(
            [r["path"] for r in self.cliniko.requests],
            ["/v1/patient_attachments/7/content", "/files/7"],
        )
        self.assertTrue(all("Authorization" in r["headers"] for r in self.cliniko.requests))

    def test_download_restarts_after_the_body_breaks_off(self):
        payload = os.urandom(50_000)
        attempts = []

        def route(handler):
            attempts.append(1)
            handler.send_response(200)
            handler.send_header("Content-Type", "application/octet-stream")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            if len(attempts) == 1:
                handler.wfile.write(payload[:10_000])
                handler.wfile.flush()
                handler.close_connection = True
                handler.connection.shutdown(2)
            else:
                handler.wfile.write(payload)

        self.cliniko.routes["/v1/patient_attachments/8/content"] = route
        target = io.BytesIO(b"")
        result = self.client().download("/patient_attachments/8/content", target)
        self.assertEqual(target.getvalue(), payload)
        self.assertEqual(result["size"], len(payload))
        self.assertEqual(len(attempts), 2)
        self.assertIn("retry after dropped connection", self.recorder.reasons())

    def test_key_is_not_logged(self):
        self.cliniko.routes["/v1/patients"] = lambda h: h.answer(500, {"message": "boom"})
        with self.assertLogs(ClinikoClient.__module__, level=logging.DEBUG) as logs:
            with self.assertRaises(ClinikoUnavailableError):
                self.client(max_retries=1).get("/patients")
        for line in logs.output:
            self.assertNotIn(self.api_key, line)
