"""Reading a Cliniko list ahead of its consumer: the next page is fetched while this one is
written.

A :class:`PageReader` follows ``links.next`` from a first URL, as ``ClinikoClient.iter_pages``
does, in a thread of its own. The consumer takes one page at a time with :meth:`take`, saying
each time how many pages beyond it may already be fetched (``ahead``): 0 reads on demand
only, so a consumer that knows it stops after this page costs Cliniko no extra request. At
most ``depth`` pages wait in the reader, so memory stays bounded.

* The reader thread only speaks HTTP (the client's ``get``); whatever the consumer does with a
  page (writing it to a database) stays in the consumer's thread.
* An error met while fetching page N (Cliniko refusing the key, a next link to another host,
  links that loop) is raised by the ``take`` of page N, in the consumer's thread, as the
  same exception a plain read would raise there; the reader stops.
* The client's wait notices (``on_wait``) of the reader thread are handed to the consumer's
  thread with the page they delayed, so the callback never runs in the reader thread.
* :meth:`close` (or leaving a ``with`` block) stops the thread: a rate-limit wait is cut
  short, a request under way is let finish and its page dropped.
* ``depth=0`` reads in the consumer's thread, page by page, with no thread at all.
"""

import collections
import logging
import threading

from .errors import ClinikoError

_logger = logging.getLogger(__name__)

DEFAULT_DEPTH = 2
_END = object()


class ReaderStopped(BaseException):
    """Raised inside a reader thread by the client's waits once the reader is closed (a
    BaseException, so no ``except Exception`` on the way mistakes it for a failure)."""


Page = collections.namedtuple("Page", "url params data next_url")
Page.__doc__ = """One page of a list: the URL and parameters it was asked with, its decoded
JSON, and the (checked) URL of the page after it, None after the last."""


class PageReader:
    """The pages of one list, read in a thread ahead of the consumer (module docstring)."""

    def __init__(self, client, url, params=None, *, first_params=(), depth=DEFAULT_DEPTH):
        self._client = client
        self._url, self._params = url, params
        self._first_params = list(first_params)
        self.depth = max(0, int(depth or 0))
        self._walk = None  # depth 0: the pages, read in the consumer's thread
        self._cond = threading.Condition()
        self._ready = collections.deque()  # (Page | exception | _END, wait notices)
        self._taken = 0  # pages the consumer took or is waiting for
        self._allowed = 0  # pages the thread may have fetched in all
        self._fetched = 0
        self._stop = threading.Event()
        self._thread = None
        self._over = False

    # -- the consumer's side -----------------------------------------------------------------
    def take(self, ahead=0):
        """The next page (a :class:`Page`), or None after the last one. ``ahead``: how many
        pages after it the reader may fetch before they are asked for (at most ``depth``)."""
        if self._over:
            return None
        if not self.depth:
            if self._walk is None:
                self._walk = self.pages()
            return self._finish(next(self._walk, _END))
        with self._cond:
            self._taken += 1
            self._allowed = max(self._allowed, self._taken + max(0, min(int(ahead), self.depth)))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="cliniko-pages-%x" % id(self), daemon=True
                )
                self._thread.start()
            self._cond.notify_all()
            while not self._ready:
                if not self._thread.is_alive():
                    raise ClinikoError("The Cliniko page reader stopped before the next page.")
                self._cond.wait(1.0)
            item, notices = self._ready.popleft()
        for reason, seconds in notices:
            self._client._announce_wait(reason, seconds)
        return self._finish(item)

    def _finish(self, item):
        if item is _END:
            self.close()
            return None
        if isinstance(item, BaseException):
            self.close()
            raise item
        return item

    def __iter__(self):
        while True:
            page = self.take(self.depth)
            if page is None:
                return
            yield page

    def close(self):
        """Stop reading: the thread ends (a wait is cut short; a request under way finishes
        and its page is dropped). Safe to call more than once."""
        self._over = True
        if self._walk is not None:
            self._walk.close()
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join((self._client.timeout or 30) + 5)
            if thread.is_alive():
                _logger.warning("a Cliniko page reader did not stop in time; it ends by itself")

    @property
    def alive(self):
        """True while the reader's thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- the reader's side -------------------------------------------------------------------
    def pages(self):
        """The pages, read in the calling thread: ``links.next`` on the base host, refusing
        links that loop (as ``ClinikoClient.iter_pages``)."""
        client = self._client
        url, params, seen = self._url, self._params, set()
        while url:
            data = client.get(url, params)
            next_url = client._next_url(data, url, self._first_params)
            if next_url in seen:
                raise ClinikoError("Cliniko's next-page links loop on %s; stopping." % next_url)
            if next_url:
                seen.add(next_url)
            yield Page(url, params, data, next_url)
            url, params = next_url, None

    def _run(self):
        client = self._client
        client._enter_reader_thread(self._stop)
        walk = self.pages()
        try:
            while True:
                with self._cond:
                    while not self._stop.is_set() and self._fetched >= self._allowed:
                        self._cond.wait()
                    if self._stop.is_set():
                        return
                try:
                    item = next(walk, _END)
                except ReaderStopped:
                    return
                except BaseException as error:  # noqa: BLE001 - raised in the consumer's thread
                    item = error
                with self._cond:
                    self._ready.append((item, client._reader_notices()))
                    self._fetched += 1
                    self._cond.notify_all()
                if item is _END or isinstance(item, BaseException):
                    return
        finally:
            walk.close()
            client._leave_reader_thread()
