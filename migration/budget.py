"""The request budget that every worker on one Cliniko key shares, kept in PostgreSQL.

Cliniko allows 200 requests a minute per user, however many processes read for it. Each
process's own limiter (``cliniko_api/ratelimit.py``) cannot see the others, so a run's client
asks this one instead: a sliding window of request stamps per key (``cliniko_request_stamp``:
a digest of the key, never the key, and the database's clock, so every server agrees on the
time). To take one request it locks the key (a transaction-level advisory lock, in a READ
COMMITTED transaction, so it sees what the last holder committed), drops the
stamps older than the window, and adds its own if fewer than the limit remain; otherwise it
waits until the oldest leaves the window and tries again. It works through a database
cursor of its own, committed at once: every process sees the budget at once; the run's own
transaction is not involved, and the page reader's thread touches no ORM for it.
"""

import hashlib
import logging
import threading
import time

from odoo.sql_db import db_connect

_logger = logging.getLogger(__name__)

BUDGET_LOCK_NAMESPACE = 0x42756467  # "Budg"
REASON = "rate limit (shared by every worker on this key)"
_NOW = "(clock_timestamp() AT TIME ZONE 'UTC')"


def key_digest(api_key):
    """What the budget table keeps of a key: a digest that names it without revealing it."""
    return hashlib.sha256(("cliniko-budget:%s" % api_key).encode()).hexdigest()[:32]


class SharedBudget:
    """At most ``limit`` requests start within any ``window`` seconds for one key, across
    every process on the database ``dbname``; the interface of ``SlidingWindowLimiter``."""

    def __init__(
        self, limit, window=60.0, *, dbname, key, sleep=time.sleep, clock=None, on_wait=None
    ):
        self.limit = int(limit) if limit else 0
        self.window = float(window)
        self._dbname = dbname
        self._key = key
        self._sleep = sleep
        self._on_wait = on_wait
        self._lock = threading.Lock()

    def acquire(self):
        """Wait if needed so one more request may start; return the seconds waited."""
        if not self.limit:
            return 0.0
        waited = 0.0
        with self._lock:
            while True:
                wait = self._try()
                if wait is None:
                    return waited
                _logger.debug("shared rate limit: waiting %.2f s", wait)
                if self._on_wait is not None:
                    self._on_wait(REASON, wait)
                self._sleep(wait)
                waited += wait

    def _try(self):
        """Take a place in the window (None), or say how long until one frees up. A cursor of
        its own from the pool, committed as it closes: the others see the stamp at once."""
        with db_connect(self._dbname).cursor() as cr:
            # Odoo's cursors read in REPEATABLE READ, whose snapshot is taken by the first
            # statement, before the lock is granted: it would miss the stamps of the worker
            # that held the lock, and let both start. READ COMMITTED reads them.
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cr.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (BUDGET_LOCK_NAMESPACE, self._key)
            )
            cr.execute(
                "DELETE FROM cliniko_request_stamp WHERE key_digest = %%s"
                " AND at <= %s - make_interval(secs => %%s)" % _NOW,
                (self._key, self.window),
            )
            cr.execute(
                "SELECT count(*), EXTRACT(EPOCH FROM min(at) + make_interval(secs => %%s) - %s)"
                " FROM (SELECT at FROM cliniko_request_stamp WHERE key_digest = %%s"
                " ORDER BY at LIMIT %%s) AS oldest" % _NOW,
                (self.window, self._key, self.limit),
            )
            count, free_in = cr.fetchone()
            if count < self.limit:
                cr.execute(
                    "INSERT INTO cliniko_request_stamp (key_digest, at) VALUES (%%s, %s)" % _NOW,
                    (self._key,),
                )
                return None
            return max(0.01, float(free_in or 0.0))
