"""Shared set-up: a Cliniko sandbox over real HTTP and a connection pointing at it, and the
databases of their own that the tests running odoo-bin need."""

import os
import subprocess
import sys
import uuid

import odoo
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged
from odoo.tools import config

from ..migration.budget import key_digest
from ..models.cliniko_connection import SANDBOX_PARAM
from ..tools.cliniko_sandbox import ClinikoSandbox


# After every module is installed (Odoo's runner runs at_install tests before auto-installed
# modules such as crm_iap_enrich are in), as pytest-odoo runs them; subclasses inherit it.
@tagged("post_install", "-at_install")
class ClinikoSandboxCase(TransactionCase):
    """A TransactionCase with a started sandbox (``cls.sandbox``) and ``cls.connection``."""

    sandbox_options = {"seed": 1, "patients": 12}
    sandbox_class = ClinikoSandbox  # a class may serve the clinic from a hostile subclass
    # What runs do with practitioners matching no Odoo user, unless a test says otherwise
    # (False: the run pauses before appointments until each has a decision).
    default_unmatched_practitioners = "unassigned"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # No per-minute budget unless a class asks for one: Cliniko's 200 requests a minute
        # are the subject of the rate-limit tests only; elsewhere a class's many runs would
        # spend most of their time waiting for the sandbox's window to pass.
        options = dict({"rate_limit": 0}, **cls.sandbox_options)
        cls.sandbox = cls.sandbox_class(**options).start()
        cls.addClassCleanup(cls.sandbox.stop)
        # The key's shared budget (migration/budget.py) is committed outside the test's
        # transaction: the classes before, on the same sandbox key, must not spend this one's.
        forget_request_stamps(cls.env.cr.dbname, cls.sandbox.api_key)
        # The sandbox runs on 127.0.0.1 over http: allowed only with this parameter.
        cls.env["ir.config_parameter"].set_param(SANDBOX_PARAM, "True")
        cls.connection = cls.env["cliniko.connection"].create(
            {
                "name": "Sandbox clinic",
                "api_key": cls.sandbox.api_key,
                "base_url": cls.sandbox.base_url,
                "contact_email": "tests@example.com",
                # The sandbox has no limit here: a budget shared by every run on the key
                # (migration/budget.py) would make a class's many runs wait for one another.
                "per_minute": 100000,
            }
        )

    @classmethod
    def start_run(cls, connection=None, **values):
        """Create and start a run, from a test or from ``setUpClass``. Practitioners that match
        no Odoo user are left unassigned unless the test says otherwise (a full run would
        otherwise pause for decisions)."""
        values.setdefault("unmatched_practitioners", cls.default_unmatched_practitioners)
        # The proposed field map is confirmed as is unless a test is about the map itself.
        run = (
            cls.env["cliniko.migration.run"]
            .with_context(cliniko_accept_proposed_map=True, cliniko_run_now=True)
            .create(dict({"connection_id": (connection or cls.connection).id}, **values))
        )
        run.action_start()
        return run.with_context(cliniko_accept_proposed_map=False, cliniko_run_now=False)

    @classmethod
    def queue_run(cls, connection=None, **values):
        """Create a run and start it in the background, as the web client does: it is queued
        for the scheduler, whose batches (``_cron_process_runs``) the test carries out itself.
        Same defaults as ``start_run``."""
        values.setdefault("unmatched_practitioners", cls.default_unmatched_practitioners)
        run = (
            cls.env["cliniko.migration.run"]
            .with_context(cliniko_accept_proposed_map=True)
            .create(dict({"connection_id": (connection or cls.connection).id}, **values))
        )
        run.with_context(cliniko_background=True).action_start()
        return run.with_context(cliniko_accept_proposed_map=False)

    def migrate(self, connection=None, **values):
        """Start a run inside a test body: only for tests about what a run changes. Read-only
        tests assert on one migration made in ``setUpClass`` with ``start_run``."""
        return self.start_run(connection, **values)

    def patients_in_cliniko(self):
        """The sandbox's patients as the API serves them (id -> record)."""
        return self.sandbox.clinic.resources["patients"]

    def migrated_partners(self):
        return (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("cliniko_patient_id", "!=", False)])
        )

    def patient_leads(self):
        return (
            self.env["crm.lead"]
            .with_context(active_test=False)
            .search([("cliniko_lead_kind", "=", "patient")])
        )

    def assertCountersAddUp(self, run):
        for line in run.resource_ids:
            self.assertEqual(
                line.fetched,
                line.created + line.updated + line.unchanged + line.skipped + line.failed,
                "counters of %s do not add up" % line.resource,
            )


RUN_MODEL = "cliniko.migration.run"
# What a run says about itself (its chatter notes, its admin's To-Do, its live progress on the
# bus) is not the migration's footprint: counts of what a migration wrote or sent leave it out.
_RUN_CHATTER = {
    "mail.message": [("model", "!=", RUN_MODEL)],
    "mail.activity": [("res_model", "!=", RUN_MODEL)],
    "mail.followers": [("res_model", "!=", RUN_MODEL)],
    "mail.notification": [("mail_message_id.model", "!=", RUN_MODEL)],
    # the run's live progress, on its own channel (json of [db, model, id]) for its readers
    "bus.bus": [("channel", "not like", '"%s"' % RUN_MODEL)],
}


def outside_runs(model):
    """The domain of ``model``'s rows that are not a run's own chatter (all rows elsewhere)."""
    return list(_RUN_CHATTER.get(model, []))


def odoo_bin():
    """The command that starts this Odoo: its odoo-bin, else ``python -m odoo``."""
    root = os.path.dirname(list(odoo.__path__)[0])
    script = os.path.join(root, "odoo-bin")
    return [sys.executable, script] if os.path.exists(script) else [sys.executable, "-m", "odoo"]


def odoo_command(args):
    """odoo-bin with this test run's addons path and data directory; a server start also gets
    a quiet log and a loopback interface on a free port."""
    addons_path = config["addons_path"]
    if not isinstance(addons_path, str):
        addons_path = ",".join(addons_path)
    command = [*odoo_bin(), "--addons-path=%s" % addons_path, *args]
    if args and args[0] != "cliniko":
        command += ["--log-level=warn", "--http-interface=127.0.0.1", "--http-port=0"]
    if config.get("data_dir"):
        command.append("--data-dir=%s" % config["data_dir"])
    return command


_SPARE_DBS = [name for name in os.environ.get("CLINIKO_TEST_SPARE_DBS", "").split(",") if name]


def forget_request_stamps(dbname, api_key):
    """Drop the shared budget's stamps of ``api_key`` (committed at once, as the budget's)."""
    with db_connect(dbname).cursor() as cr:
        cr.execute(
            "DELETE FROM cliniko_request_stamp WHERE key_digest = %s", [key_digest(api_key)]
        )


def spare_database(test_class):
    """A database of its own, with the addon freshly installed, for a class whose tests run
    odoo-bin: one of the copies tools/test.sh made, else one installed now (about a minute),
    dropped after the class. The sandbox's http://127.0.0.1 URL is allowed in it."""
    if _SPARE_DBS:
        name = _SPARE_DBS.pop(0)
    else:
        name = "cliniko_spare_%s" % uuid.uuid4().hex[:8]
        test_class.addClassCleanup(
            subprocess.run, ["dropdb", "--if-exists", name], check=False, capture_output=True
        )
        command = odoo_command(["-d", name, "-i", "cliniko_crm_migration", "--stop-after-init"])
        installed = subprocess.run(
            command, capture_output=True, text=True, timeout=900, check=False
        )
        if installed.returncode:
            raise AssertionError(installed.stderr[-3000:])
    with db_connect(name).cursor() as cr:
        cr.execute(
            "INSERT INTO ir_config_parameter (key, value) VALUES (%s, 'True')"
            " ON CONFLICT (key) DO UPDATE SET value = 'True'",
            [SANDBOX_PARAM],
        )
    return name
