"""The request budget shared by every worker on one key, kept in PostgreSQL (issue 12,
item 3): two processes reading for the same key never start more requests within a window
than the budget allows, whatever each does on its own; the sandbox, counting what reaches it,
never answers 429. The key itself is never stored: a digest names its budget."""

import os
import subprocess
import tempfile
import textwrap
import threading
import time

from odoo.sql_db import db_connect

from ..migration.budget import SharedBudget, key_digest
from ..tools.cliniko_sandbox import ClinikoSandbox
from .common import ClinikoSandboxCase, odoo_command

LIMIT = 4
WINDOW = 3.0  # seconds: a minute's budget, shrunk so the test takes seconds
REQUESTS_EACH = 6
JITTER = 0.25  # what a request may take between the budget's stamp and the sandbox


class TimedSandbox(ClinikoSandbox):
    """The sandbox, noting when each request reached it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.arrivals = []

    def _answer(self, handler, method, path, query):
        with self._lock:
            self.arrivals.append(time.monotonic())
        return super()._answer(handler, method, path, query)


SCRIPT = textwrap.dedent(
    """
    import functools
    from odoo.addons.cliniko_crm_migration.cliniko_api import ClinikoClient
    from odoo.addons.cliniko_crm_migration.migration.budget import SharedBudget
    budget = functools.partial(SharedBudget, dbname=env.cr.dbname, key=%(key)r, window=%(window)r)
    client = ClinikoClient(%(api_key)r, contact_email="tests@example.com", base_url=%(url)r,
                           allow_private_hosts=True, per_minute=%(limit)d, budget=budget)
    import os, time
    open(%(ready)r, "w").close()
    while not os.path.exists(%(go)r):  # both processes start their requests together
        time.sleep(0.01)
    for _ in range(%(count)d):
        client.get("/user")
    client.close()
    print("READ %(count)d")
    """
)


class TestSharedBudget(ClinikoSandboxCase):
    sandbox_class = TimedSandbox
    # the sandbox enforces the same budget (a little more lenient for the network's jitter)
    sandbox_options = {
        "seed": 1,
        "patients": 12,
        "rate_limit": LIMIT,
        "rate_window": WINDOW - JITTER,
    }

    def setUp(self):
        super().setUp()
        self.key = key_digest("%s-%s" % (self.sandbox.api_key, self.id()))
        self.addCleanup(self.forget_stamps)
        self.sandbox.arrivals.clear()
        self.sandbox.requests_log.clear()
        self.sandbox.reset_rate_limit()

    def forget_stamps(self):
        with db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute("DELETE FROM cliniko_request_stamp WHERE key_digest = %s", (self.key,))

    def assertWindowNeverExceeded(self, expected):
        arrivals = sorted(self.sandbox.arrivals)
        self.assertEqual(len(arrivals), expected)
        for index, start in enumerate(arrivals):
            within = [t for t in arrivals[index:] if t < start + WINDOW - JITTER]
            self.assertLessEqual(len(within), LIMIT, "too many requests in one window")
        self.assertEqual([r for r in self.sandbox.requests_log if r["status"] == 429], [])

    def test_the_key_is_kept_as_a_digest_only(self):
        self.assertNotIn(self.sandbox.api_key, key_digest(self.sandbox.api_key))
        self.assertEqual(len(key_digest(self.sandbox.api_key)), 32)

    def test_two_limiters_share_one_window(self):
        """Two limiters (two workers' clients, each with its own database connection)."""
        budgets = [
            SharedBudget(LIMIT, dbname=self.env.cr.dbname, key=self.key, window=WINDOW)
            for _ in range(2)
        ]
        started = []

        def take(budget):
            for _ in range(3):
                budget.acquire()
                started.append(time.monotonic())

        threads = [threading.Thread(target=take, args=(budget,)) for budget in budgets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        started.sort()
        self.assertEqual(len(started), 6)
        # four at once, the next two only once the first have left the window
        self.assertGreaterEqual(started[LIMIT] - started[0], WINDOW - JITTER)

    def test_two_processes_never_exceed_the_budget_together(self):
        values = {
            "key": self.key,
            "window": WINDOW,
            "api_key": self.sandbox.api_key,
            "url": self.sandbox.base_url,
            "limit": LIMIT,
            "count": REQUESTS_EACH,
        }
        folder = tempfile.mkdtemp()
        go = os.path.join(folder, "go")
        command = odoo_command(["shell", "-d", self.env.cr.dbname, "--no-http"])
        processes, ready = [], []
        for number in range(2):
            ready.append(os.path.join(folder, "ready%d" % number))
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            process.stdin.write(SCRIPT % dict(values, ready=ready[-1], go=go))
            process.stdin.close()
            processes.append(process)
        deadline = time.monotonic() + 300
        while not all(map(os.path.exists, ready)) and time.monotonic() < deadline:
            if any(process.poll() is not None for process in processes):
                break
            time.sleep(0.05)
        open(go, "w").close()
        outputs = []
        for process in processes:
            out, err = process.stdout.read(), process.stderr.read()
            process.wait(300)
            outputs.append((out, err))
        for process, (out, err) in zip(processes, outputs, strict=True):
            self.assertEqual(process.returncode, 0, err[-2000:])
            self.assertIn("READ %d" % REQUESTS_EACH, out, err[-2000:])
        self.assertWindowNeverExceeded(2 * REQUESTS_EACH)
        arrivals = sorted(self.sandbox.arrivals)
        # the two together needed at least two more windows than one request burst
        self.assertGreaterEqual(arrivals[-1] - arrivals[0], 2 * (WINDOW - JITTER))
