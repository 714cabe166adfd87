"""The runner: executes one ``cliniko.migration.run`` and can roll it back.

A run goes like this:

1. Build the Cliniko client from the run's connection (the key never leaves it).
2. Read the clinic's country (the connection's, else its first business location's) before
   writing anything, so a bad key or an unreachable API fails the run with nothing written.
3. Walk the resources in the dependency graph's load order. For each, follow Cliniko's pages
   (``links.next``) and hand each page to the resource's importer, which writes it as one
   batch, binds every record and audits every operation.
4. After each page, record the counters and, outside tests, commit, so a run that stops
   keeps what it did and a re-run carries on from the bindings without duplicates.
5. Mark the run done, or failed with the error in plain words.

Rolling back walks the run's audit lines newest first: what the run created is removed,
what it updated gets its previous values back, and each step is itself audited.
"""

import importlib
import logging
import threading

from odoo import fields
from odoo.exceptions import UserError
from odoo.modules import module as odoo_module

from ..cliniko_api import ClinikoError
from . import graph
from .binder import Binder
from .context import silent_env
from .importer import Importer, RunBlocked, restore_values

_logger = logging.getLogger(__name__)


def importer_class(resource):
    """The Importer subclass for a graph resource (from ``migration/<resource.module>.py``),
    or None while that importer is not written."""
    try:
        module = importlib.import_module("%s.%s" % (__package__, resource.module))
    except ModuleNotFoundError as error:
        if error.name != "%s.%s" % (__package__, resource.module):
            raise
        return None
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, Importer)
            and value.resource == resource.name
        ):
            return value
    return None


def in_test_mode():
    return bool(odoo_module.current_test or getattr(threading.current_thread(), "testing", False))


class MigrationRunner:
    page_size = 100  # Cliniko's maximum

    def __init__(self, run, client=None):
        self.env = silent_env(run.env)
        self.run = run.with_env(self.env)
        self.connection = self.run.connection_id
        self.binder = Binder(self.env, self.connection)
        self._client = client
        self.region = None
        self._countries = {}
        self._states = {}
        self._counters = {}
        self._lookups = {}

    @property
    def client(self):
        if self._client is None:
            self._client = self.connection._get_client(on_wait=self._on_wait)
        return self._client

    # -- execution ---------------------------------------------------------------------------
    def execute(self):
        run = self.run
        run.write({"state": "running", "started_at": fields.Datetime.now(), "error_message": False})
        self._checkpoint()
        try:
            self._prepare()
            for resource in graph.load_order(run._selected_resources()):
                self._import_resource(resource)
        except RunBlocked as blocked:
            # Waiting for the admin (e.g. practitioner decisions): resumable, not a failure.
            run.write({"state": "blocked", "error_message": str(blocked)})
            run._log("Run paused: %s" % blocked)
        except (ClinikoError, UserError, ValueError) as error:
            # Cliniko refused or is unreachable, or the connection is incomplete: plain words.
            self._fail(str(error))
        except Exception as error:
            if in_test_mode():
                raise
            _logger.exception("Cliniko migration run %s failed", run.id)
            self.env.cr.rollback()
            self._fail("%s: %s" % (error.__class__.__name__, error))
        else:
            run.write({"state": "done", "finished_at": fields.Datetime.now()})
        self._checkpoint()
        return run

    def _prepare(self):
        country = self.connection.country_id
        if not country:
            page = self.client.get("/businesses", params=[("per_page", 1)])
            businesses = page.get("businesses") or []
            code = businesses and (businesses[0].get("country_code") or "")
            country = self._country(code.upper()) if code else country
        self.region = country.code if country else None

    def _import_resource(self, resource):
        cls = importer_class(resource)
        if cls is None:
            self.run._log("%s: no importer yet, not migrated" % resource.label)
            return
        counter = self._counter(resource.name)
        if counter.done:
            return  # finished before the run was paused
        if resource.needs_practitioner_decisions:
            undecided = self.run._cliniko_undecided_practitioners()
            if undecided:
                raise RunBlocked(
                    "%s practitioner(s) have no Odoo user and no decision: %s. Decide for each "
                    "(map to a user, create a placeholder user, or leave unassigned), then "
                    "start the run again." % (len(undecided), ", ".join(undecided.mapped("name")))
                )
        importer = cls(self)
        importer.before_resource()
        for records in importer.pages():
            importer.import_page(records)
            self._checkpoint()
        importer.after_resource()
        counter.done = True
        self._checkpoint()

    def _fail(self, message):
        self.run.write(
            {"state": "failed", "error_message": message, "finished_at": fields.Datetime.now()}
        )
        self.run._log("Run failed: %s" % message)

    def _on_wait(self, reason, seconds):
        self.run._log("Waited %.1f s: %s" % (seconds, reason))

    def _checkpoint(self):
        self.env.flush_all()
        if not in_test_mode():
            self.env.cr.commit()

    # -- services for importers --------------------------------------------------------------
    def records(self, resource, cliniko_ids):
        """``{cliniko_id: Odoo record}`` for Cliniko ids already migrated (others are absent)."""
        refs = self.binder.to_internal(resource, cliniko_ids)
        by_model = {}
        for ref in refs.values():
            by_model.setdefault(ref.res_model, []).append(ref)
        result = {}
        for model, model_refs in by_model.items():
            existing = set(self.env[model].browse([ref.res_id for ref in model_refs]).exists().ids)
            for ref in model_refs:
                if ref.res_id in existing:
                    result[ref.cliniko_id] = self.env[model].browse(ref.res_id)
        return result

    def fetch_all(self, path, params=None):
        """Every record of a small Cliniko list (taxes, users...), read once per run."""
        key = (path, repr(params))
        if key not in self._lookups:
            self._lookups[key] = list(
                self.client.iter_records(path, params=params, per_page=self.page_size)
            )
        return self._lookups[key]

    def audit(self, values_list):
        if values_list:
            for values in values_list:
                values["run_id"] = self.run.id
            self.env["cliniko.audit.log"].sudo().create(values_list)

    def _counter(self, resource):
        if resource not in self._counters:
            line = self.run.resource_ids.filtered(lambda line: line.resource == resource)
            if not line:
                line = self.env["cliniko.migration.run.resource"].create(
                    {
                        "run_id": self.run.id,
                        "resource": resource,
                        "sequence": graph.names().index(resource),
                    }
                )
            self._counters[resource] = line
        return self._counters[resource]

    def count(self, resource, items):
        line = self._counter(resource)
        totals = {"fetched": len(items), "created": 0, "updated": 0, "skipped": 0, "failed": 0}
        key = {"create": "created", "update": "updated", "skip": "skipped", "fail": "failed"}
        for item in items:
            totals[key[item.action]] += 1
        line.write({name: line[name] + value for name, value in totals.items()})

    def lead_defaults(self, kind):
        """Values every migrated lead of ``kind`` gets. Team, stage, user and probabilities are
        given explicitly: Odoo would otherwise search a default team and stage and run
        predictive lead scoring for each lead (most of the cost of a lead)."""
        stage = self.env["crm.stage"]._cliniko_stage(kind)
        probability = 100.0 if stage.is_won else 0.0
        defaults = {
            "team_id": self.connection.team_id.id or False,
            "stage_id": stage.id or False,
            "user_id": False,
            "probability": probability,
            "automated_probability": probability,
            "cliniko_connection_id": self.connection.id,
        }
        if "iap_enrich_done" in self.env["crm.lead"]._fields:
            # crm_iap_enrich would send the e-mail of every new lead to Odoo's IAP service.
            defaults["iap_enrich_done"] = True
        return defaults

    def resolve_address(self, country_code=None, country=None, state=None):
        country_record = self._country(country_code, country)
        state_record = self.env["res.country.state"]
        if state and country_record:
            key = (country_record.id, state.lower())
            if key not in self._states:
                self._states[key] = self.env["res.country.state"].search(
                    [
                        ("country_id", "=", country_record.id),
                        "|",
                        ("code", "=ilike", state),
                        ("name", "=ilike", state),
                    ],
                    limit=1,
                )
            state_record = self._states[key]
        return country_record, state_record

    def _country(self, code=None, name=None):
        key = (code or "", (name or "").lower())
        if key not in self._countries:
            Country = self.env["res.country"]
            found = Country.search([("code", "=", code.upper())], limit=1) if code else Country
            if not found and name:
                found = Country.search([("name", "=ilike", name)], limit=1)
            self._countries[key] = found
        return self._countries[key]

    # -- rollback ----------------------------------------------------------------------------
    def _rollback_line(self, line):
        """Undo one audit line; return the (action, message) of the rollback's own audit line."""
        Ref = self.env["cliniko.external.ref"].sudo()
        record = self.env[line.res_model].browse(line.res_id).exists()
        bound_here = [
            ("connection_id", "=", self.connection.id),
            ("res_model", "=", line.res_model),
            ("res_id", "=", line.res_id),
        ]
        if line.action == "create":
            Ref.search(bound_here).unlink()
            if record:
                record.unlink()
            return "delete", "rollback: removed what the run created"
        previous = line.previous_values or {}
        if record:
            record.write(restore_values(record, previous.get("values") or {}))
        same_record = [
            *bound_here,
            ("resource", "=", line.resource),
            ("cliniko_id", "=", line.cliniko_id),
        ]
        if previous.get("__ref__"):
            Ref.search(same_record[:1] + same_record[3:]).write(previous["__ref__"])
        else:
            # The record existed before the run but its binding is new (e.g. a practitioner
            # mapped to an existing user): the binding goes, the record stays.
            Ref.search([*same_record, ("run_id", "=", self.run.id)]).unlink()
        return "update", "rollback: restored previous values"

    def _rollback_archive(self, line, error):
        """A record that cannot be removed (still referenced elsewhere) is archived instead."""
        record = self.env[line.res_model].browse(line.res_id).exists()
        if line.action == "create" and record and "active" in record._fields:
            try:
                with self.env.cr.savepoint():
                    record.active = False
                    self.env.flush_all()
                return "update", "rollback: archived, could not be removed: %s" % error
            except Exception:  # noqa: BLE001 - reported below with the first error
                self.env.invalidate_all()
        return "fail", "rollback failed: %s" % error

    def rollback(self):
        """Undo the run: remove what it created and restore what it updated, newest first."""
        run = self.run
        if run.state == "rolled_back":
            return run
        found = (
            self.env["cliniko.audit.log"]
            .sudo()
            .search(
                [
                    ("run_id", "=", run.id),
                    ("is_rollback", "=", False),
                    ("action", "in", ("create", "update")),
                ],
                order="id desc",
            )
        )
        # The graph reversed gives the order (dependents first); newest first within a resource.
        rank = {resource.name: index for index, resource in enumerate(graph.rollback_order())}
        lines = found.sorted(lambda line: (rank.get(line.resource, -1), -line.id))
        audit = []
        for line in lines:
            values = {
                "resource": line.resource,
                "cliniko_id": line.cliniko_id,
                "res_model": line.res_model,
                "res_id": line.res_id,
                "is_rollback": True,
                "previous_values": False,
            }
            try:
                with self.env.cr.savepoint():
                    action, message = self._rollback_line(line)
                    self.env.flush_all()
            except Exception as error:  # noqa: BLE001 - listed in the audit, the rest goes on
                self.env.invalidate_all()
                action, message = self._rollback_archive(line, error)
            values.update(action=action, message=message)
            audit.append(values)
        self.audit(audit)
        run.write({"state": "rolled_back", "rolled_back_at": fields.Datetime.now()})
        run._log("Rolled back: %s operations undone" % len(lines))
        self._checkpoint()
        return run
