"""A small, careful client for Cliniko's REST API v1 (pure Python on ``requests``).

* The shard comes from the key's suffix (``...-au2``); the host is ``api.<shard>.cliniko.com``.
* Every request sends ``Accept: application/json``, ``User-Agent: App (email)`` and HTTP Basic
  auth with the key as user name and an empty password.
* The key is only ever sent to the base host: redirects are never followed automatically, and
  ``links.next`` or absolute URLs pointing elsewhere are refused. Only :meth:`download` follows
  a redirect, and it drops the ``Authorization`` header when the target is another host. A
  redirect to another host must be https and must not resolve to a private, loopback,
  link-local or reserved address (``allow_private_hosts=True`` only for a local sandbox).
* ``check_base_url`` is the one rule for base URLs: ``https://api.<shard>.cliniko.com/v1``,
  anything else only for a sandbox.
* :meth:`download` takes a size cap (``max_bytes``), checked against the announced
  ``Content-Length`` before reading and against the bytes received while streaming.
* A client-side sliding window keeps under Cliniko's 200 requests/minute (``budget``: one
  shared with other processes instead); 429 answers wait
  until ``X-RateLimit-Reset``; 5xx, timeouts and dropped connections are retried with
  exponential backoff. Every sleep is announced first through ``on_wait(reason, seconds)``
  (a page reader's, ``pages.py``, in the consumer's thread along with the page it delayed).
* :meth:`page_reader` reads a list's next pages in a thread of its own while the caller works
  on the current one (``pages.py``).
* The key never appears in exception messages, in ``repr(client)`` or in the logs; record
  contents are logged at DEBUG level at most.
"""

import base64
import copy
import datetime
import email.utils
import hashlib
import ipaddress
import logging
import random
import re
import socket
import threading
import time
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
from requests.auth import HTTPBasicAuth
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from .errors import (
    ERRORS_BY_STATUS,
    ClinikoConnectionError,
    ClinikoError,
    ClinikoFileTooLargeError,
    ClinikoRateLimitError,
    ClinikoUnavailableError,
    ClinikoUnsafeRedirectError,
    ClinikoValidationError,
)
from .pages import DEFAULT_DEPTH, PageReader, ReaderStopped
from .ratelimit import SlidingWindowLimiter

_logger = logging.getLogger(__name__)

DEFAULT_SHARD = "au1"
SHARD_RE = re.compile(r"^[a-z]{2}\d{1,2}$", re.IGNORECASE)
EMAIL_RE = re.compile(r"^[^@\s()<>,;:\"\[\]]+@[^@\s()<>,;:\"\[\]]+\.[^@\s()<>,;:\"\[\]]+$")
MAX_PER_PAGE = 100
MAX_RATE_LIMITED_IN_A_ROW = 20
RATE_LIMIT_MARGIN = 0.5  # seconds added to Cliniko's reset time
MAX_REDIRECTS = 3  # download() only
CLINIKO_BASE_URL_RE = re.compile(r"^https://api\.[a-z]{2}\d{1,2}\.cliniko\.com/v1$")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# List endpoints whose last path segment is a state, not the resource: /patients/archived
# answers {"patients": [...]}.
STATE_SEGMENTS = frozenset({"archived", "deleted", "cancelled", "inactive"})
MESSAGE_LIMIT = 300
_RETRYABLE_EXCEPTIONS = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def check_base_url(base_url, allow_sandbox=False):
    """The base URL, normalised; raise ValueError unless it is Cliniko's own
    (``https://api.<shard>.cliniko.com/v1``) or, with ``allow_sandbox``, any http(s) URL.

    The key is sent to this URL: a URL someone may type is a way to pull the key out."""
    url = (base_url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if CLINIKO_BASE_URL_RE.match(url.lower()):
        return url.lower()
    if allow_sandbox and parts.scheme in ("http", "https") and parts.hostname:
        return url
    raise ValueError(
        "The base URL must be Cliniko's, https://api.<shard>.cliniko.com/v1 (other URLs only "
        "for a sandbox, when the system parameter allows it)."
    )


def _public_host(hostname, port):
    """Raise ClinikoUnsafeRedirectError unless every address ``hostname`` resolves to is a
    public one (no loopback, private, link-local, reserved or multicast address)."""
    try:
        infos = socket.getaddrinfo(hostname, port, proto=socket.IPPROTO_TCP)
    except OSError:
        raise ClinikoUnsafeRedirectError(
            "Refusing a redirect to %s: the host does not resolve." % hostname
        ) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise ClinikoUnsafeRedirectError(
                "Refusing a redirect to %s: it is a private, loopback or link-local address."
                % hostname
            )


def shard_from_key(api_key):
    """Return the shard named by the key's suffix after its LAST '-', else ``"au1"``.

    Keys made before sharding carry no suffix and belong to au1; keys can contain other
    hyphens, so only the final part counts, and only if it looks like a shard (``au2``,
    ``us12``; case-insensitive, returned lower-case).
    """
    if not api_key or not isinstance(api_key, str):
        return DEFAULT_SHARD
    head, sep, suffix = api_key.strip().rpartition("-")
    if sep and head and SHARD_RE.match(suffix):
        return suffix.lower()
    return DEFAULT_SHARD


class _Secret:
    """Holds the API key so that neither repr() nor vars() of the client shows it."""

    __slots__ = ("redactions", "value")

    def __init__(self, value):
        self.value = value
        token = base64.b64encode(("%s:" % value).encode("latin-1", "replace")).decode("ascii")
        # Texts to mask wherever they might surface; too short a key cannot be masked usefully.
        self.redactions = tuple(s for s in (value, token) if len(s) >= 6)

    def __repr__(self):
        return "<secret>"

    __str__ = __repr__


def _origin(url):
    """(scheme, host, port) of a URL, with the default port filled in."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def _path_only(url):
    """The path of a URL, without host or query (queries may carry patient data)."""
    return urlsplit(url).path or "/"


def _host_only(url):
    return urlsplit(url).hostname or "?"


def _format_value(value):
    """Render a parameter value the way Cliniko expects it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.replace(microsecond=0).isoformat() + "Z"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _normalize_params(params):
    """dict or iterable of pairs -> list of (key, str) pairs; list values repeat the key."""
    if not params:
        return []
    items = params.items() if isinstance(params, dict) else params
    result = []
    for item in items:
        try:
            key, value = item
        except (TypeError, ValueError):
            raise ValueError("query parameters must be (name, value) pairs") from None
        if value is None:
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            result.extend((key, _format_value(v)) for v in value if v is not None)
        else:
            result.append((key, _format_value(value)))
    return result


def _describe_exception(exc):
    """A short, query-free description of a transport exception (its innermost cause)."""
    seen = set()
    current = exc
    innermost = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        innermost = current
        nxt = getattr(current, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = (
                current.args[0]
                if current.args and isinstance(current.args[0], BaseException)
                else None
            )
        if nxt is None:
            nxt = current.__cause__ or current.__context__
        current = nxt
    text = str(innermost) or type(innermost).__name__
    text = re.sub(r"\?\S*", "", text)  # drop query strings
    text = re.sub(r"<[^>]*object at 0x[0-9a-f]+>:?\s*", "", text)
    return text[:200]


def _exception_chain(exc):
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.append(current.__cause__)
        stack.append(current.__context__)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))


def _is_connect_failure(exc):
    """True when no connection could be made at all (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    return any(
        isinstance(link, (NewConnectionError, ConnectTimeoutError, ConnectionRefusedError))
        for link in _exception_chain(exc)
    )


def _retry_reason(exc):
    if _is_connect_failure(exc):
        return "connection failure"
    if isinstance(exc, requests.Timeout):
        return "timeout"
    return "dropped connection"


class ClinikoClient:
    """Read (and stream files) from one Cliniko account. See the module docstring."""

    def __init__(
        self,
        api_key,
        *,
        contact_email,
        app_name="Odoo Cliniko CRM Migration",
        base_url=None,
        per_minute=180,
        timeout=30,
        max_retries=5,
        backoff=1.0,
        max_backoff=60.0,
        max_rate_limit_wait=None,
        on_wait=None,
        sleep=time.sleep,
        clock=None,
        session=None,
        allow_private_hosts=False,
        budget=SlidingWindowLimiter,
    ):
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError("A Cliniko API key is required.")
        api_key = api_key.strip()
        contact_email = (contact_email or "").strip()
        if not EMAIL_RE.match(contact_email):
            raise ValueError(
                "Cliniko requires a valid contact e-mail address in the User-Agent; got %r."
                % contact_email
            )
        app_name = " ".join((app_name or "").split())
        if not app_name:
            raise ValueError("An application name is required for the User-Agent.")
        if max_retries < 0:
            raise ValueError("max_retries must not be negative.")
        self._key = _Secret(api_key)
        self.shard = shard_from_key(api_key)
        if base_url:
            base_url = base_url.strip().rstrip("/")
            if (
                urlsplit(base_url).scheme not in ("http", "https")
                or not urlsplit(base_url).hostname
            ):
                raise ValueError(
                    "The base URL must be an http(s) URL, e.g. https://api.au1.cliniko.com/v1"
                )
        else:
            base_url = "https://api.%s.cliniko.com/v1" % self.shard
        self.base_url = base_url
        self._base_origin = _origin(base_url)
        self.contact_email = contact_email
        self.app_name = app_name
        self.user_agent = "%s (%s)" % (app_name, contact_email)
        self.timeout = timeout
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.max_rate_limit_wait = max_rate_limit_wait
        self.on_wait = on_wait
        self._sleep = sleep
        # A stand-in clock (seconds since the epoch) goes with a stand-in ``sleep``: tests wait
        # out Cliniko's X-RateLimit-Reset and the client's own window without real waiting.
        self._clock = clock or time.time
        self._session = session if session is not None else requests.Session()
        self._owns_session = session is None
        # Only a local sandbox redirects to 127.0.0.1 or over plain http.
        self.allow_private_hosts = bool(allow_private_hosts)
        self._foreign_session = None
        self._first_pages = None  # see remember_first_pages()
        # Per thread: a page reader's thread (pages.py) keeps its wait notices, its stop event
        # and its own HTTP session here.
        self._local = threading.local()
        # The request budget: this client's own sliding window, or one the caller shares with
        # other processes (``budget``: a factory taking SlidingWindowLimiter's arguments).
        self.limiter = budget(
            per_minute,
            sleep=self._pause,
            clock=clock or time.monotonic,
            on_wait=self._announce_wait,
        )

    # -- housekeeping ------------------------------------------------------------------------
    def __repr__(self):
        return "<ClinikoClient shard=%r base_url=%r user_agent=%r>" % (
            self.shard,
            self.base_url,
            self.user_agent,
        )

    def close(self):
        if self._owns_session:
            self._session.close()
        if self._foreign_session is not None:
            self._foreign_session.close()
            self._foreign_session = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _redact(self, text):
        text = str(text)
        for secret in self._key.redactions:
            text = text.replace(secret, "***")
        return text

    # -- URLs and parameters -----------------------------------------------------------------
    def is_base_host(self, url):
        """True when ``url`` is on the base URL's scheme, host and port."""
        return _origin(url) == self._base_origin

    def _url(self, path_or_url):
        """Absolute URL for a path under the base URL, or a checked absolute URL."""
        if not isinstance(path_or_url, str) or not path_or_url.strip():
            raise ValueError("A Cliniko path or URL is required.")
        path_or_url = path_or_url.strip()
        parts = urlsplit(path_or_url)
        if parts.scheme or parts.netloc:
            if not self.is_base_host(path_or_url):
                raise ClinikoError(
                    "Refusing to send the API key to another host (%s); only %s is trusted."
                    % (_host_only(path_or_url), _host_only(self.base_url))
                )
            return path_or_url
        return "%s/%s" % (self.base_url, path_or_url.lstrip("/"))

    def list_params(self, filters=(), sort=None, **extra):
        """Build list parameters: ``q[]`` filters, ``sort`` and any extra parameter.

        ``filters`` holds strings such as ``"updated_at:>2024-01-01T00:00:00Z"`` or
        ``(field, operator, value)`` triples (datetimes are written in UTC with a ``Z``).
        ``sort`` is a string (``"updated_at:asc"``) or a list of them. Extra keyword values
        that are lists repeat their key; ``None`` values are left out.
        """
        if isinstance(filters, str):
            filters = [filters]
        params = []
        for condition in filters or ():
            if isinstance(condition, (tuple, list)):
                field, operator, value = condition
                text = "%s:%s%s" % (field, operator, "" if value is None else _format_value(value))
            else:
                text = str(condition)
            params.append(("q[]", text))
        if sort:
            if not isinstance(sort, str):
                sort = ",".join(sort)
            params.append(("sort", sort))
        params.extend(_normalize_params(list(extra.items())))
        return params

    @staticmethod
    def id_from_link(link_obj_or_url):
        """ID at the end of a link: ``{"links": {"self": ".../patients/82"}}`` or a URL → "82"."""
        value = link_obj_or_url
        if isinstance(value, dict):
            links = value.get("links")
            value = links.get("self") if isinstance(links, dict) else value.get("self")
        if value is None or value == "" or isinstance(value, (dict, list, bool)):
            return None
        if isinstance(value, int):
            return str(value)
        path = urlsplit(str(value).strip()).path.rstrip("/")
        last = path.rsplit("/", 1)[-1]
        return last or None

    # -- requests ----------------------------------------------------------------------------
    def _announce_wait(self, reason, seconds):
        notices = getattr(self._local, "notices", None)
        if notices is not None:
            notices.append((reason, seconds))  # a page reader's thread: told with the page
        elif self.on_wait is not None:
            self.on_wait(reason, seconds)

    def _wait(self, reason, seconds):
        seconds = max(0.0, float(seconds))
        self._announce_wait(reason, seconds)
        self._pause(seconds)

    def _pause(self, seconds):
        """Sleep; in a page reader's thread a real sleep ends early, raising ReaderStopped,
        when the reader is closed."""
        stop = getattr(self._local, "stop", None)
        if stop is not None and self._sleep is time.sleep:
            if stop.wait(seconds):
                raise ReaderStopped()
            return
        self._sleep(seconds)
        if stop is not None and stop.is_set():
            raise ReaderStopped()

    # -- page readers (pages.py) -------------------------------------------------------------
    def page_reader(self, url, params=None, *, first_params=(), depth=DEFAULT_DEPTH):
        """A :class:`~.pages.PageReader` of the list starting at ``url`` (with ``params``;
        ``first_params``: what a next link that lost them gets back), reading up to ``depth``
        pages ahead in a thread of its own (0: in the caller's thread)."""
        return PageReader(self, self._url(url), params, first_params=first_params, depth=depth)

    def _enter_reader_thread(self, stop):
        self._local.notices = []
        self._local.stop = stop
        # requests does not promise a Session is safe across threads: a reader gets its own
        # (unless the caller handed the client a session of its own to use).
        self._local.session = requests.Session() if self._owns_session else None

    def _leave_reader_thread(self):
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
        self._local.__dict__.clear()

    def _reader_notices(self):
        notices, self._local.notices = self._local.notices, []
        return notices

    def _backoff_delay(self, failures):
        delay = min(self.max_backoff, self.backoff * (2 ** max(0, failures - 1)))
        return min(self.max_backoff, delay + random.uniform(0, delay * 0.1))  # noqa: S311

    def _rate_limit_delay(self, response, in_a_row):
        """Seconds to wait after a 429: X-RateLimit-Reset, else Retry-After, else backoff."""
        now = self._clock()
        reset = response.headers.get("X-RateLimit-Reset")
        if reset:
            try:
                value = float(reset.strip())
            except ValueError:
                value = None
            if value is not None:
                if value > 1e11:  # milliseconds
                    value /= 1000.0
                if value < 1e9:  # looks like a number of seconds, not an epoch
                    return max(0.0, value) + RATE_LIMIT_MARGIN
                return max(0.0, value - now) + RATE_LIMIT_MARGIN
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            retry_after = retry_after.strip()
            try:
                return max(0.0, float(retry_after)) + RATE_LIMIT_MARGIN
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(retry_after)
                    return max(0.0, when.timestamp() - now) + RATE_LIMIT_MARGIN
                except (TypeError, ValueError, IndexError, OverflowError):
                    pass
        return self._backoff_delay(in_a_row)

    def _headers(self, authenticated, accept="application/json"):
        headers = {"Accept": accept, "User-Agent": self.user_agent}
        if not authenticated:
            # Never let a stray Authorization leave for another host.
            headers["Authorization"] = None
        return headers

    def _foreign(self):
        if self._foreign_session is None:
            self._foreign_session = requests.Session()
        return self._foreign_session

    def _send(self, url, params=None, *, stream=False, authenticated=True):
        """One GET with the budget, 429 waits and retries; returns a < 400 non-429 response.

        ``authenticated=False`` is for a file host other than Cliniko: no key, no budget.
        """
        path = _path_only(url)
        where = "Cliniko" if authenticated else "The file host %s" % _host_only(url)
        failures = 0
        rate_limited = 0
        while True:
            if authenticated:
                self.limiter.acquire()
                session = getattr(self._local, "session", None) or self._session
                auth = HTTPBasicAuth(self._key.value, "")
            else:
                session, auth = self._foreign(), None
            _logger.debug("GET %s", path)
            try:
                response = session.get(
                    url,
                    params=params,
                    headers=self._headers(
                        authenticated, "application/json" if authenticated else "*/*"
                    ),
                    auth=auth,
                    timeout=self.timeout,
                    allow_redirects=False,
                    stream=stream,
                )
            except _RETRYABLE_EXCEPTIONS as exc:
                failures += 1
                rate_limited = 0
                reason = _retry_reason(exc)
                detail = self._redact(_describe_exception(exc))
                _logger.debug("GET %s failed: %s", path, detail)
                if failures > self.max_retries:
                    raise self._transport_error(exc, reason, detail, url, failures) from None
                delay = self._backoff_delay(failures)
                _logger.warning(
                    "%s request %s failed (%s); retrying in %.1f s (attempt %d of %d)",
                    where,
                    path,
                    reason,
                    delay,
                    failures + 1,
                    self.max_retries + 1,
                )
                self._wait("retry after %s" % reason, delay)
                continue
            status = response.status_code
            if status == 429:
                rate_limited += 1
                delay = self._rate_limit_delay(response, rate_limited)
                response.close()
                too_long = self.max_rate_limit_wait is not None and delay > self.max_rate_limit_wait
                if too_long or rate_limited > MAX_RATE_LIMITED_IN_A_ROW:
                    if too_long:
                        message = (
                            "%s's rate limit is exhausted (429): it asks to wait %.0f s, more "
                            "than the %.0f s allowed." % (where, delay, self.max_rate_limit_wait)
                        )
                    else:
                        message = (
                            "%s kept answering 'too many requests' (429) %d times in a row."
                            % (where, rate_limited)
                        )
                    raise ClinikoRateLimitError(message, path=path, retry_after=delay)
                _logger.info("%s rate limit reached (429); waiting %.1f s", where, delay)
                self._wait("rate limited by Cliniko (429)", delay)
                continue
            if status >= 500 or status == 408:
                failures += 1
                rate_limited = 0
                response.close()
                if failures > self.max_retries:
                    raise ClinikoUnavailableError(
                        "%s is unavailable (HTTP %d on %s) after %d attempts."
                        % (where, status, path, failures),
                        status,
                        path=path,
                    )
                delay = self._backoff_delay(failures)
                _logger.warning(
                    "%s answered HTTP %d on %s; retrying in %.1f s (attempt %d of %d)",
                    where,
                    status,
                    path,
                    delay,
                    failures + 1,
                    self.max_retries + 1,
                )
                self._wait("retry after HTTP %d" % status, delay)
                continue
            if status >= 400:
                try:
                    raise self._status_error(response, path, where)
                finally:
                    response.close()
            return response

    def _transport_error(self, exc, reason, detail, url, attempts):
        path = _path_only(url)
        host = _host_only(url)
        if reason == "connection failure":
            return ClinikoConnectionError(
                "Cannot connect to %s after %d attempts (%s)." % (host, attempts, detail), path=path
            )
        if reason == "timeout":
            return ClinikoUnavailableError(
                "%s did not answer %s within %s s, %d times in a row."
                % (host, path, self.timeout, attempts),
                path=path,
            )
        return ClinikoUnavailableError(
            "The connection to %s dropped on %s, %d times in a row (%s)."
            % (host, path, attempts, detail),
            path=path,
        )

    def _status_error(self, response, path, where="Cliniko"):
        """The exception for a 4xx answer, with Cliniko's message when it sent JSON."""
        status = response.status_code
        body_message, errors = None, None
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            if isinstance(data.get("message"), str):
                body_message = data["message"].strip()
            if isinstance(data.get("errors"), dict):
                errors = data["errors"]
            elif isinstance(data.get("errors"), list):
                errors = {"base": "; ".join(str(e) for e in data["errors"])}
        details = body_message or ""
        if errors:
            listed = "; ".join(
                "%s %s" % (field, ", ".join(map(str, msg)) if isinstance(msg, list) else msg)
                for field, msg in errors.items()
            )
            details = "%s: %s" % (details, listed) if details else listed
        details = self._redact(details)[:MESSAGE_LIMIT]
        suffix = ": %s" % details if details else ""
        if status == 401:
            message = (
                "%s rejected the API key (401); check the key and its shard (%s)."
                % (where, self.shard)
                if where == "Cliniko"
                else "%s refused the download (401)." % where
            )
        elif status == 403:
            message = "%s refused access to %s (403)%s" % (
                where,
                path,
                suffix or ": the key's user lacks the permission",
            )
        elif status == 404:
            message = "%s found nothing at %s (404)%s" % (where, path, suffix)
        elif status == 400:
            message = "%s rejected the request to %s (400)%s" % (where, path, suffix)
        elif status == 422:
            message = "%s rejected the data sent to %s (422)%s" % (where, path, suffix)
        else:
            message = "%s answered HTTP %d on %s%s" % (where, status, path, suffix)
        cls = ERRORS_BY_STATUS.get(status, ClinikoError)
        if cls is ClinikoValidationError:
            return cls(message, status, path=path, errors=errors)
        return cls(message, status, path=path)

    # -- public API --------------------------------------------------------------------------
    def remember_first_pages(self, keep=8):
        """Keep the first page of the last ``keep`` lists read with ``iter_pages``, and answer
        the same request once from it: a run that glances at a list (e.g. patients, to propose
        its field map) then reads it whole asks Cliniko for that page only once."""
        self._first_pages = {}
        self._first_pages_keep = keep

    def _remember(self, url, params, page):
        if self._first_pages is None:
            return
        self._first_pages[(url, tuple(params or ()))] = copy.deepcopy(page)
        while len(self._first_pages) > self._first_pages_keep:
            self._first_pages.pop(next(iter(self._first_pages)))

    def get(self, path_or_url, params=None):
        """One GET (with the budget, waits and retries); returns the decoded JSON body."""
        url = self._url(path_or_url)
        path = _path_only(url)
        if self._first_pages:
            kept = self._first_pages.pop((url, tuple(_normalize_params(params))), None)
            if kept is not None:
                return kept
        response = self._send(url, _normalize_params(params) or None)
        with response:
            if 300 <= response.status_code < 400:
                raise ClinikoError(
                    "Cliniko answered %s with a redirect (%d) to %s; API redirects are not "
                    "followed."
                    % (
                        path,
                        response.status_code,
                        _host_only(urljoin(url, response.headers.get("Location", ""))),
                    ),
                    response.status_code,
                    path=path,
                )
            if response.status_code == 204 or not response.content:
                return {}
            try:
                return response.json()
            except ValueError:
                raise ClinikoError(
                    "Cliniko answered %s with something that is not JSON (HTTP %d, %s)."
                    % (path, response.status_code, response.headers.get("Content-Type", "?")),
                    response.status_code,
                    path=path,
                ) from None

    def _next_url(self, page, current_url, first_params):
        links = page.get("links") if isinstance(page, dict) else None
        next_url = links.get("next") if isinstance(links, dict) else None
        if not next_url:
            return None
        next_url = urljoin(current_url, next_url)
        if not self.is_base_host(next_url):
            raise ClinikoError(
                "Cliniko's next-page link points to another host (%s); refusing to send the "
                "API key there." % _host_only(next_url)
            )
        # Old bug (ISS #16): links.next once dropped parameters. Put back any that vanished.
        parts = urlsplit(next_url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        present = {key for key, _value in query}
        missing = [(k, v) for k, v in first_params if k not in present and k != "page"]
        if missing:
            _logger.debug("links.next lost %s; adding them back", sorted({k for k, _ in missing}))
            next_url = urlunsplit(parts._replace(query=urlencode(query + missing)))
        return next_url

    def iter_pages(self, resource, params=None, per_page=100):
        """Yield each page's JSON, following ``links.next`` (on the base host) to the end."""
        per_page = max(1, min(MAX_PER_PAGE, int(per_page or MAX_PER_PAGE)))
        first_params = [(k, v) for k, v in _normalize_params(params) if k != "per_page"]
        first_params.append(("per_page", str(per_page)))
        url = self._url(resource)
        request_params = first_params
        seen = set()
        while url:
            page = self.get(url, request_params)
            if request_params is first_params:
                self._remember(url, first_params, page)
            yield page
            next_url = self._next_url(page, url, first_params)
            if next_url is None:
                return
            if next_url in seen:
                raise ClinikoError(
                    "Cliniko's next-page links loop on %s; stopping." % _path_only(next_url)
                )
            seen.add(next_url)
            url, request_params = next_url, None

    @staticmethod
    def _list_key(resource):
        path = urlsplit(resource).path if "://" in resource else resource.split("?", 1)[0]
        segments = [s for s in path.strip("/").split("/") if s]
        if not segments:
            raise ValueError("A Cliniko list resource such as /patients is required.")
        if len(segments) > 1 and segments[-1] in STATE_SEGMENTS:
            return segments[-2]
        return segments[-1]

    def iter_records(self, resource, params=None, per_page=100):
        """Yield every record of every page of a list resource."""
        key = self._list_key(resource)
        for page in self.iter_pages(resource, params, per_page):
            records = page.get(key)
            if records is None:
                lists = [v for k, v in page.items() if k != "links" and isinstance(v, list)]
                if len(lists) != 1:
                    raise ClinikoError(
                        "Cliniko's answer for %s has no %r list." % (_path_only(resource), key)
                    )
                records = lists[0]
            yield from records

    def count(self, resource, params=None):
        """How many records a list resource has under these filters (``total_entries``).

        It reads the list's first page as any read does (``per_page`` 100): Cliniko documents
        no count-only request, and a run takes its totals from the first page it reads
        anyway, so this is only for callers that want nothing but the number."""
        params = [(k, v) for k, v in _normalize_params(params) if k not in ("per_page", "page")]
        params.append(("per_page", str(MAX_PER_PAGE)))
        page = self.get(resource, params)
        try:
            return int(page["total_entries"])
        except (KeyError, TypeError, ValueError):
            raise ClinikoError(
                "Cliniko's answer for %s has no total_entries." % _path_only(self._url(resource))
            ) from None

    def download(self, path_or_url, fileobj, chunk_size=65536, max_bytes=None):
        """Stream a file (e.g. ``/patient_attachments/{id}/content``) into ``fileobj``.

        Redirects are followed by hand (at most ``MAX_REDIRECTS``): with the key to the base
        host only, WITHOUT the Authorization header to any other host. The body is written
        chunk by chunk and never held whole in memory. If the connection drops mid-body and
        ``fileobj`` is seekable, the download restarts from scratch (within ``max_retries``).
        ``max_bytes``: a file announced (``Content-Length``) or received larger than this raises
        ClinikoFileTooLargeError, without reading further.
        Returns ``{"content_type", "size", "sha256"}``.
        """
        url = self._url(path_or_url)
        try:
            start = fileobj.tell() if fileobj.seekable() else None
        except (AttributeError, OSError, ValueError):
            start = None
        failures = 0
        while True:
            response = self._follow(url)
            digest = hashlib.sha256()
            size = 0
            try:
                with response:
                    content_type = response.headers.get("Content-Type")
                    self._check_announced_size(response, max_bytes, url)
                    for chunk in response.iter_content(chunk_size=chunk_size):
                        if chunk:
                            if max_bytes is not None and size + len(chunk) > max_bytes:
                                raise ClinikoFileTooLargeError(
                                    "The file %s is larger than the %d bytes allowed."
                                    % (_path_only(url), max_bytes),
                                    path=_path_only(url),
                                )
                            fileobj.write(chunk)
                            digest.update(chunk)
                            size += len(chunk)
            except _RETRYABLE_EXCEPTIONS as exc:
                failures += 1
                detail = self._redact(_describe_exception(exc))
                if start is None or failures > self.max_retries:
                    raise ClinikoUnavailableError(
                        "The download of %s broke off after %d bytes (%s)."
                        % (_path_only(url), size, detail),
                        path=_path_only(url),
                    ) from None
                fileobj.seek(start)
                fileobj.truncate()
                delay = self._backoff_delay(failures)
                _logger.warning(
                    "download of %s broke off after %d bytes; restarting in %.1f s",
                    _path_only(url),
                    size,
                    delay,
                )
                self._wait("retry after dropped connection", delay)
                continue
            return {"content_type": content_type, "size": size, "sha256": digest.hexdigest()}

    @staticmethod
    def _check_announced_size(response, max_bytes, url):
        if max_bytes is None:
            return
        try:
            announced = int(response.headers.get("Content-Length") or 0)
        except ValueError:
            announced = 0
        if announced > max_bytes:
            raise ClinikoFileTooLargeError(
                "The file %s announces %d bytes, more than the %d allowed."
                % (_path_only(url), announced, max_bytes),
                path=_path_only(url),
            )

    def _check_redirect(self, target):
        """A redirect leaving the base host must be https to a public address."""
        if self.is_base_host(target) or self.allow_private_hosts:
            return
        parts = urlsplit(target)
        if parts.scheme != "https":
            raise ClinikoUnsafeRedirectError(
                "Refusing a redirect to %s over plain http." % _host_only(target)
            )
        _public_host(parts.hostname, _origin(target)[2])

    def _follow(self, url):
        """GET ``url`` as a stream, following redirects by hand; returns the final response."""
        authenticated = True
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._send(url, stream=True, authenticated=authenticated)
            if response.status_code not in REDIRECT_STATUSES:
                if response.status_code >= 300:
                    response.close()
                    raise ClinikoError(
                        "Unexpected HTTP %d while downloading %s."
                        % (response.status_code, _path_only(url)),
                        response.status_code,
                        path=_path_only(url),
                    )
                return response
            location = response.headers.get("Location")
            response.close()
            if not location:
                raise ClinikoError(
                    "A redirect (%d) for %s had no Location."
                    % (response.status_code, _path_only(url)),
                    response.status_code,
                    path=_path_only(url),
                )
            target = urljoin(url, location)
            if urlsplit(target).scheme not in ("http", "https"):
                raise ClinikoError("Refusing to follow a redirect to a non-HTTP URL.")
            self._check_redirect(target)
            authenticated = self.is_base_host(target)
            _logger.debug(
                "download redirected to %s (%s)",
                _host_only(target),
                "with the key" if authenticated else "without the key",
            )
            url = target
        raise ClinikoError("Too many redirects while downloading %s." % _path_only(url))
