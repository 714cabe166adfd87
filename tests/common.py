"""Shared set-up: a Cliniko sandbox over real HTTP and a connection pointing at it."""

from odoo.tests import TransactionCase

from ..models.cliniko_connection import SANDBOX_PARAM
from ..tools.cliniko_sandbox import ClinikoSandbox


class ClinikoSandboxCase(TransactionCase):
    """A TransactionCase with a started sandbox (``cls.sandbox``) and ``cls.connection``."""

    sandbox_options = {"seed": 1, "patients": 12}
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
        cls.sandbox = ClinikoSandbox(**options).start()
        cls.addClassCleanup(cls.sandbox.stop)
        # The sandbox runs on 127.0.0.1 over http: allowed only with this parameter.
        cls.env["ir.config_parameter"].set_param(SANDBOX_PARAM, "True")
        cls.connection = cls.env["cliniko.connection"].create(
            {
                "name": "Sandbox clinic",
                "api_key": cls.sandbox.api_key,
                "base_url": cls.sandbox.base_url,
                "contact_email": "tests@example.com",
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
                line.created + line.updated + line.skipped + line.failed,
                "counters of %s do not add up" % line.resource,
            )
