"""Client-side request budget: a sliding 60-second window.

Cliniko allows 200 requests per minute per user; the client stays under that with its own
budget (180 by default) so that it rarely meets a 429 at all.
"""

import collections
import logging
import threading
import time

_logger = logging.getLogger(__name__)

REASON = "rate limit (client)"


class SlidingWindowLimiter:
    """At most ``limit`` calls of :meth:`acquire` start within any ``window`` seconds.

    ``sleep`` and ``clock`` are injectable. When ``sleep`` does not really sleep (tests), the
    limiter still terminates: after a wait it treats the window as having moved on by the
    time it asked to sleep.
    """

    def __init__(self, limit, window=60.0, *, sleep=time.sleep, clock=time.monotonic, on_wait=None):
        if limit is not None and (isinstance(limit, bool) or int(limit) < 0):
            raise ValueError("the request budget per minute must be a positive number")
        self.limit = int(limit) if limit else 0  # 0 or None: no client-side limit
        self.window = float(window)
        self._sleep = sleep
        self._clock = clock
        self._on_wait = on_wait
        self._starts = collections.deque()
        self._lock = threading.Lock()

    def _expire(self, now):
        starts = self._starts
        while starts and starts[0] + self.window <= now:
            starts.popleft()

    def acquire(self):
        """Wait if needed so one more request may start; return the seconds waited."""
        if not self.limit:
            return 0.0
        with self._lock:
            now = self._clock()
            self._expire(now)
            waited = 0.0
            if len(self._starts) >= self.limit:
                free_at = self._starts[0] + self.window
                waited = max(0.0, free_at - now)
                if waited > 0:
                    _logger.debug("client-side rate limit: waiting %.2f s", waited)
                    if self._on_wait is not None:
                        self._on_wait(REASON, waited)
                    self._sleep(waited)
                now = max(self._clock(), free_at)
                self._expire(now)
            self._starts.append(now)
            return waited
