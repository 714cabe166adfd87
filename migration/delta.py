"""Delta sync: carry what changed in Cliniko since the last successful sync into Odoo.

A delta run is a migration run (``run_type = 'delta'``) executed by ``DeltaRunner``: the same
graph order, the same importers, reference rows and audit lines as the full run, but every
list an importer reads asks only for what changed (SPEC §1.13)::

    GET /<resource>?q[]=updated_at:>SINCE&sort=updated_at:asc  (+ the graph's list filters:
        archived_at:*, cancelled_at:*, deleted_at:* so archived and cancelled rows come too)
    GET /<resource>/deleted?q[]=deleted_at:>SINCE               (removals, legacy lists)
    GET /<resource>/archived|cancelled?q[]=updated_at:>SINCE    (rows the main list missed)

SINCE is the connection's watermark minus its overlap buffer. The watermark of a run is the
time taken *before* its first query; the connection's watermark moves to it only when the run
finishes successfully (``models/cliniko_migration_run_delta.py``), so a failed or interrupted
delta is simply done again. What the overlap re-reads is skipped cheaply: the importer compares
the record's ``updated_at`` with the one its reference row keeps.

The lists are narrowed by a thin wrapper around the client (``_DeltaClient``) so no importer
needs to know it runs in a delta; a list read by id (look-ups) is never narrowed.

What a change does: new and changed records go through the importers (create / update, with
conflict safety: ``conflicts.py``); archived patients and cancelled appointments arrive as
updates; a record deleted in Cliniko is archived in Odoo (never deleted) and audited; a patient
merged away in Cliniko is folded into the surviving patient (its leads and history move to the
survivor's lead, its partner and lead are archived), audited.
"""

import logging

from odoo import fields

from ..cliniko_api import ClinikoBadRequestError, ClinikoError, ClinikoNotFoundError
from . import graph
from .importer import Item
from .runner import MigrationRunner, importer_class
from .snapshots import snapshot
from .values import link_id

_logger = logging.getLogger(__name__)

# The legacy lists each resource has (SPEC §1.11) are said in the graph: deleted_list,
# state_lists.
NARROWED_STATES = ("archived", "cancelled", "inactive")
# A delta runs unattended: Cliniko answering 5xx for minutes must not fail it (the client
# backs off up to a minute between attempts; 12 attempts wait about 8 minutes in all).
DELTA_MAX_RETRIES = 12


def cliniko_time(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _DeltaClient:
    """The runner's client, with the lists of graph resources narrowed to the delta window."""

    def __init__(self, runner, client):
        self._runner = runner
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def iter_pages(self, resource, params=None, per_page=100):
        params = self._runner.delta_params(resource, params)
        for page in self._client.iter_pages(resource, params, per_page):
            self._runner.observe(resource, page)
            yield page

    def get(self, path_or_url, params=None):
        """One page, as ``Importer.pages`` reads them: the first page of a list read in full
        is narrowed to the window (the next pages' links carry the same query), every page is
        observed."""
        path = self._relative(path_or_url)
        pairs = list(params.items() if isinstance(params, dict) else params or [])
        # A full read of a list asks for an order; one-off look-ups (the clinic's country,
        # counts) do not, and are not narrowed.
        if path and any(key == "sort" for key, _value in pairs):
            params = self._runner.delta_params(path, pairs)
        page = self._client.get(path_or_url, params)
        if path and isinstance(page, dict):
            self._runner.observe(path, page)
        return page

    def page_reader(self, url, params=None, **options):
        """A list's pages as ``Importer.pages`` reads them (the client's page reader, as
        ``get``): narrowed to the window here, every page observed as the importer takes it,
        in this thread (the reader's thread only fetches)."""
        path = self._relative(url)
        pairs = list(params.items() if isinstance(params, dict) else params or [])
        if path and any(key == "sort" for key, _value in pairs):
            params = self._runner.delta_params(path, pairs)
        return _ObservedReader(self, self._client.page_reader(url, params, **options))

    def count(self, resource, params=None):
        """How many records the window holds (the run's progress), not the whole list."""
        return self._client.count(resource, self._runner.delta_params(resource, params))

    def _relative(self, path_or_url):
        """The path under the API's base URL ("/patients"), or "" for anything else."""
        url = self._client._url(path_or_url)
        base = self._client.base_url.rstrip("/")
        if not url.startswith(base + "/"):
            return ""
        return url[len(base) :].split("?")[0]

    def iter_records(self, resource, params=None, per_page=100):
        key = self._client._list_key(resource)
        for page in self.iter_pages(resource, params, per_page):
            yield from page.get(key) or []


class _ObservedReader:
    """A page reader whose pages the delta runner observes as they are taken."""

    def __init__(self, client, reader):
        self._client, self._reader = client, reader

    def take(self, ahead=0):
        page = self._reader.take(ahead)
        if page is not None and isinstance(page.data, dict):
            path = self._client._relative(page.url)
            if path:
                self._client._runner.observe(path, page.data)
        return page

    def close(self):
        self._reader.close()


def _segments(path):
    path = str(path or "")
    if "://" in path:
        return []
    return [segment for segment in path.split("?")[0].split("/") if segment]


class DeltaRunner(MigrationRunner):
    shares_work = False  # one worker reads what changed, in its own order
    def __init__(self, run, client=None):
        super().__init__(run, client)
        self.options.conflict_safe = True
        self._delta_client = None
        self.since = None
        self.seen = {}  # resource -> Cliniko ids read in this run
        self.deleted = {}  # resource -> ids read with a deleted_at
        self.merges = {}  # loser patient id -> surviving patient id
        self.fetched_paths = set()
        self._removals_done = set()

    @property
    def client(self):
        if self._delta_client is None:
            if self._client is None:
                self._client = self.connection._get_client(
                    on_wait=self._on_wait, max_retries=DELTA_MAX_RETRIES
                )
            self._delta_client = _DeltaClient(self, self._client)
        return self._delta_client

    # -- the window --------------------------------------------------------------------------
    def _prepare(self):
        run = self.run
        if not run.delta_watermark:
            # Taken before the first query; kept when a paused delta is started again.
            run.delta_watermark = fields.Datetime.now()
        watermark = self.connection.delta_watermark
        if not watermark:
            raise ValueError(
                "This connection has no watermark yet: finish a full migration first, then "
                "the delta sync picks up what changed since it started."
            )
        buffer = fields.Datetime.subtract(watermark, minutes=self.connection.delta_buffer_minutes)
        run.delta_since = buffer
        self.since = cliniko_time(buffer)
        if not self.connection.delta_started_at:
            self.connection.delta_started_at = run.delta_watermark
        super()._prepare()

    def delta_params(self, path, params):
        segments = _segments(path)
        params = list(params.items() if isinstance(params, dict) else params or [])
        if not self.since or not segments or segments[0] not in graph.names():
            return params
        if any(key == "q[]" and str(value).startswith("id:") for key, value in params):
            return params  # a look-up by id: everything asked for
        self.fetched_paths.add("/".join(segments))
        if len(segments) == 2 and segments[1] == "deleted":
            return [*params, ("q[]", "deleted_at:>%s" % self.since)]
        if not graph.get(segments[0]).updated_at_filter:
            return params  # read whole; the bindings' updated_at skip what did not change
        if len(segments) == 1 or segments[1] in NARROWED_STATES:
            params = [(key, value) for key, value in params if key != "sort"]
            return [*params, ("q[]", "updated_at:>%s" % self.since), ("sort", "updated_at:asc")]
        return params

    def observe(self, path, page):
        segments = _segments(path)
        if not segments:
            return
        resource = segments[0]
        for record in page.get(resource) or []:
            cliniko_id = str(record.get("id") or "")
            if not cliniko_id:
                continue
            self.seen.setdefault(resource, set()).add(cliniko_id)
            if record.get("deleted_at") or (len(segments) == 2 and segments[1] == "deleted"):
                self.deleted.setdefault(resource, set()).add(cliniko_id)
            winner = link_id(record.get("merged_with_patient"))
            if resource == "patients" and record.get("merged_at") and winner:
                self.merges[cliniko_id] = winner

    # -- per resource ------------------------------------------------------------------------
    def _import_resource(self, resource):
        finished = super()._import_resource(resource)
        for name, line in list(self._counters.items()):
            if line.done and name not in self._removals_done:
                self._removals_done.add(name)
                self._legacy_lists(name)
                self._removals(name)
                if name == "patients":
                    self._fold_merges()
                self._checkpoint()
        return finished

    def count(self, resource, items):
        super().count(resource, items)
        conflicted = sum(1 for item in items if item.conflicts)
        if conflicted:
            line = self._counter(resource)
            line.conflicted += conflicted

    def _read_legacy(self, path, params):
        try:
            return list(self._client.iter_records(path, params=params, per_page=self.page_size))
        except (ClinikoNotFoundError, ClinikoBadRequestError) as error:
            self.run._log("%s: not read (%s)" % (path, error))
            return []

    def _legacy_lists(self, name):
        """Archived / cancelled rows the main list did not bring (older API versions)."""
        cls = importer_class(graph.get(name))
        for state in graph.get(name).state_lists:
            path = "%s/%s" % (name, state)
            if path in self.fetched_paths:
                continue
            params = [("q[]", "updated_at:>%s" % self.since), ("sort", "updated_at:asc")]
            records = [
                record
                for record in self._read_legacy("/" + path, params)
                if str(record.get("id") or "") not in self.seen.get(name, set())
            ]
            if records:
                importer = cls(self)
                importer.before_resource()
                importer.import_page(records)
                for record in records:
                    self.seen.setdefault(name, set()).add(str(record["id"]))

    def _removals(self, name):
        """Records deleted in Cliniko: what they became is archived in Odoo, never deleted."""
        extra = set()
        path = "%s/deleted" % name
        if graph.get(name).deleted_list and path not in self.fetched_paths:
            stubs = self._read_legacy("/" + path, [("q[]", "deleted_at:>%s" % self.since)])
            extra = {str(stub.get("id")) for stub in stubs if stub.get("id")}
            extra -= self.seen.get(name, set())
        ids = self.deleted.get(name, set()) | extra
        if not ids:
            return
        refs = self.binder.to_internal(name, sorted(ids))
        counted, audit, archived = [], [], 0
        for cliniko_id in sorted(ids):
            item = Item({"id": cliniko_id})
            ref = refs.get(cliniko_id)
            record = self.binder.record(ref) if ref else None
            if not record:
                item.done("skip", "deleted in Cliniko; never migrated")
            else:
                changed = self._archive(item, record, "deleted in Cliniko: archived")
                item.done("update" if changed else "skip", "" if changed else "already archived")
                archived += bool(changed)
            for action, target, message, previous in item.audits:
                audit.append(
                    self._removal_audit(name, cliniko_id, action, target, message, previous)
                )
            if cliniko_id in extra:
                counted.append(item)
        self.audit(audit)
        if counted:
            self.count(name, counted)
        if archived:
            self.run._log("%s: %s archived, deleted in Cliniko" % (graph.get(name).label, archived))

    @staticmethod
    def _removal_audit(name, cliniko_id, *audit):
        action, record, message, previous = audit
        return {
            "action": action,
            "resource": name,
            "cliniko_id": cliniko_id,
            "res_model": record._name,
            "res_id": record.id,
            "message": message or False,
            "previous_values": previous or False,
        }

    def _archive(self, item, record, message):
        """Archive ``record`` and what goes with it; audit; return True if anything changed."""
        targets = record
        if record._name == "res.partner":
            lead = self.env["crm.lead"]._cliniko_patient_leads(record).get(record.id)
            targets = [record, *(lead or [])]
        elif record._name == "crm.lead" and "cliniko_calendar_event_id" in record._fields:
            targets = [record, *record.cliniko_calendar_event_id]
        changed = False
        for target in targets:
            if "active" not in target._fields:
                item.audit("skip", target, "deleted in Cliniko; kept (it cannot be archived)")
                continue
            if target.active:
                previous = snapshot(target, ["active"])
                target.write({"active": False})
                item.audit("update", target, message, {"values": previous})
                changed = True
        return changed

    def _fold_merges(self):
        """Patients merged away in Cliniko: fold their Odoo records into the survivor's."""
        Lead = self.env["crm.lead"]
        for loser_id, winner_id in sorted(self.merges.items()):
            found = self.records("patients", [loser_id, winner_id])
            loser, winner = found.get(loser_id), found.get(winner_id)
            if not loser or not winner or loser == winner:
                continue
            leads = Lead._cliniko_patient_leads(loser | winner)
            loser_lead, winner_lead = leads.get(loser.id), leads.get(winner.id)
            item = Item({"id": loser_id})
            if loser_lead and winner_lead:
                messages = self.env["mail.message"].search(
                    [("model", "=", "crm.lead"), ("res_id", "=", loser_lead.id)]
                )
                for message in messages:
                    previous = snapshot(message, ["res_id"])
                    message.write({"res_id": winner_lead.id})
                    item.audit(
                        "update",
                        message,
                        "moved to the surviving patient's lead",
                        {"values": previous},
                    )
            others = Lead.with_context(active_test=False).search(
                [("partner_id", "=", loser.id), ("id", "!=", loser_lead.id if loser_lead else 0)]
            )
            for lead in others:
                values = {"partner_id": winner.id}
                if winner_lead and "cliniko_patient_lead_id" in lead._fields:
                    values["cliniko_patient_lead_id"] = winner_lead.id
                previous = snapshot(lead, list(values))
                lead.write(values)
                item.audit("update", lead, "moved to the surviving patient", {"values": previous})
            self._archive(item, loser, "merged into Cliniko patient %s: archived" % winner_id)
            self.audit([self._removal_audit("patients", loser_id, *audit) for audit in item.audits])
            self.run._log(
                "Patient %s was merged into %s in Cliniko: folded into %s"
                % (loser_id, winner_id, winner.display_name)
            )

    # -- the final reconciliation -----------------------------------------------------------
    def reconcile(self):
        """Per resource: Cliniko's count, the reference rows, the Odoo records behind them."""
        Ref = self.env["cliniko.external.ref"].sudo()
        report = []
        for resource in graph.load_order():
            params = [("q[]", condition) for condition in resource.list_filters]
            try:
                cliniko = self._client_plain().count("/" + resource.name, params=params)
            except (ClinikoError, ValueError):
                cliniko = None
            groups = Ref._read_group(
                [("connection_id", "=", self.connection.id), ("resource", "=", resource.name)],
                ["res_model"],
                ["res_id:array_agg"],
            )
            refs = odoo = active = 0
            for model, ids in groups:
                refs += len(ids)
                Model = self.env[model].with_context(active_test=False)
                existing = Model.browse(ids).exists()
                odoo += len(existing)
                active += (
                    len(existing.filtered("active")) if "active" in Model._fields else len(existing)
                )
            report.append(
                {
                    "resource": resource.name,
                    "label": resource.label,
                    "cliniko": cliniko,
                    "references": refs,
                    "odoo": odoo,
                    "odoo_active": active,
                }
            )
        return report

    def _client_plain(self):
        _built = self.client  # builds the plain client behind the delta wrapper
        return self._client
