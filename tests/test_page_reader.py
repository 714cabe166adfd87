"""The page reader (cliniko_api/pages.py): a list's next pages are read in a thread of their
own while the consumer works on the current one, against the sandbox over real HTTP.

It gives the very pages a plain read gives, in order; it fetches no more than it is allowed
ahead; an error met on page N in its thread is raised by taking page N; closing it stops its
thread, even in the middle of a rate-limit wait; the client's wait notices reach ``on_wait``
in the consumer's thread.
"""

import os
import sys
import threading
import time
import unittest

_ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))

try:
    from ..cliniko_api import ClinikoAuthError, ClinikoClient
    from ..tools.cliniko_sandbox import ClinikoSandbox, SteppingClock
except ImportError:
    sys.path[:0] = [_ROOT, os.path.join(_ROOT, "tools")]
    from cliniko_api import ClinikoAuthError, ClinikoClient
    from cliniko_sandbox import ClinikoSandbox, SteppingClock

EMAIL = "tests@example.com"
PER_PAGE = 4  # 12 patients, 9 listed (3 archived or deleted): 3 pages


class PageTwoRefused(ClinikoSandbox):
    """The sandbox, refusing the key (401) on the second page of the patients."""

    def _answer(self, handler, method, path, query):
        if path == "/v1/patients" and "page=2" in query:
            return self._json(401, {"message": "The API key has been revoked."})
        return super()._answer(handler, method, path, query)


class ThreadRecordingClient(ClinikoClient):
    """The client, noting which thread each GET runs in."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.get_threads = []

    def get(self, path_or_url, params=None):
        self.get_threads.append(threading.current_thread())
        return super().get(path_or_url, params)


class PageReaderCase(unittest.TestCase):
    sandbox_class = ClinikoSandbox

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = cls.sandbox_class(seed=1, patients=12, rate_limit=0).start()
        cls.addClassCleanup(cls.sandbox.stop)

    def client(self, cls=ClinikoClient, **options):
        options.setdefault("backoff", 0.01)
        options.setdefault("per_minute", 0)
        return cls(
            self.sandbox.api_key,
            contact_email=EMAIL,
            base_url=self.sandbox.base_url,
            **options,
        )

    def reader(self, client, depth=2):
        params = [("sort", "created_at:asc"), ("per_page", str(PER_PAGE))]
        reader = client.page_reader("/patients", params, first_params=params, depth=depth)
        self.addCleanup(reader.close)
        return reader

    def patient_requests(self):
        return [r for r in self.sandbox.requests_log if r["path"] == "/v1/patients"]

    def wait_for_requests(self, count, before):
        deadline = time.monotonic() + 10
        while len(self.patient_requests()) - before < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.patient_requests()) - before


class TestPageReader(PageReaderCase):
    def test_pages_are_those_a_plain_read_gives_in_order(self):
        client = self.client()
        plain = list(client.iter_pages("/patients", [("sort", "created_at:asc")], PER_PAGE))
        read = list(self.reader(client))
        self.assertEqual(len(read), 3)
        self.assertEqual([page.data for page in read], plain)
        self.assertEqual([page.next_url for page in read[:-1]], [page.url for page in read[1:]])
        self.assertIsNone(read[-1].next_url)

    def test_pages_are_fetched_in_a_thread_of_their_own(self):
        client = self.client(ThreadRecordingClient)
        list(self.reader(client))
        self.assertEqual(len(client.get_threads), 3)
        for thread in client.get_threads:
            self.assertIsNot(thread, threading.current_thread())
            self.assertTrue(thread.name.startswith("cliniko-pages-"))

    def test_without_depth_pages_are_read_in_the_callers_thread(self):
        client = self.client(ThreadRecordingClient)
        reader = self.reader(client, depth=0)
        self.assertEqual(len(list(reader)), 3)
        self.assertEqual(client.get_threads, [threading.current_thread()] * 3)
        self.assertFalse(reader.alive)

    def test_the_next_page_is_read_while_the_consumer_holds_this_one(self):
        before = len(self.patient_requests())
        reader = self.reader(self.client())
        self.assertIsNotNone(reader.take(ahead=1))
        # the consumer does nothing more: page 2 arrives anyway, page 3 is not asked for
        self.assertEqual(self.wait_for_requests(2, before), 2)
        time.sleep(0.3)
        self.assertEqual(len(self.patient_requests()) - before, 2)

    def test_nothing_is_read_ahead_when_the_consumer_says_it_stops_after_this_page(self):
        before = len(self.patient_requests())
        reader = self.reader(self.client())
        self.assertIsNotNone(reader.take(ahead=0))
        time.sleep(0.3)
        self.assertEqual(len(self.patient_requests()) - before, 1)
        reader.close()
        self.assertFalse(reader.alive)
        self.assertEqual(len(self.patient_requests()) - before, 1)

    def test_closing_stops_the_thread_and_reads_no_further(self):
        before = len(self.patient_requests())
        reader = self.reader(self.client())
        reader.take(ahead=1)
        self.wait_for_requests(2, before)
        reader.close()
        self.assertFalse(reader.alive)
        time.sleep(0.2)
        self.assertEqual(len(self.patient_requests()) - before, 2)
        self.assertIsNone(reader.take(ahead=1), "a closed reader gives no more pages")

    def test_closing_cuts_a_rate_limit_wait_short(self):
        # one request a minute, real sleeps: the reader waits for its second page ~60 s
        reader = self.reader(self.client(per_minute=1))
        reader.take(ahead=1)
        time.sleep(0.2)
        self.assertTrue(reader.alive)
        started = time.monotonic()
        reader.close()
        self.assertFalse(reader.alive)
        self.assertLess(time.monotonic() - started, 5)

    def test_wait_notices_reach_on_wait_in_the_consumers_thread(self):
        waits = []
        clock = SteppingClock()
        client = self.client(
            per_minute=1,
            clock=clock.time,
            sleep=clock.sleep,
            on_wait=lambda reason, seconds: waits.append((reason, threading.current_thread())),
        )
        # the limiter's clock must step too (the client gives it ``clock``)
        self.assertEqual(len(list(self.reader(client))), 3)
        self.assertEqual(len(waits), 2)
        for reason, thread in waits:
            self.assertEqual(reason, "rate limit (client)")
            self.assertIs(thread, threading.current_thread())


class TestErrorsInTheReaderThread(PageReaderCase):
    sandbox_class = PageTwoRefused

    def test_an_error_on_page_two_is_raised_by_taking_page_two(self):
        reader = self.reader(self.client())
        first = reader.take(ahead=2)
        self.assertEqual(len(first.data["patients"]), PER_PAGE)
        # page 2 was refused while the consumer held page 1; it is raised only now
        with self.assertRaises(ClinikoAuthError) as raised:
            reader.take(ahead=2)
        self.assertIn("rejected the API key", str(raised.exception))
        self.assertFalse(reader.alive)
        self.assertIsNone(reader.take())

    def test_the_same_error_as_a_plain_read(self):
        with self.assertRaises(ClinikoAuthError) as plain:
            list(self.client().iter_pages("/patients", [("sort", "created_at:asc")], PER_PAGE))
        with self.assertRaises(ClinikoAuthError) as read:
            list(self.reader(self.client()))
        self.assertEqual(str(read.exception), str(plain.exception))
