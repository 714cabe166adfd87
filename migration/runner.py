"""The runner: executes one ``cliniko.migration.run``, page by page, resumably.

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

Rolling a run back is ``rollback.py``; the worker lock that keeps two processes off one run
is ``locks.py``.
"""

import contextlib
import itertools
import logging
import os
import socket
import threading
import time

from psycopg2.extensions import TransactionRollbackError

from odoo import fields
from odoo.exceptions import UserError
from odoo.modules import module as odoo_module

from ..cliniko_api import ClinikoError, ClinikoNotFoundError, ClinikoPermissionError
from ..cliniko_api.client import MAX_PER_PAGE
from ..cliniko_api.pages import DEFAULT_DEPTH
from . import (
    all_importers,  # noqa: F401 - the resource importers register themselves
    graph,
    units,
)
from .binder import Binder
from .context import silent_env
from .importer import RunBlocked, importer_class
from .locks import hold_unit_lock, hold_worker_lock, let_go_unit_lock, let_go_worker_lock
from .options import RunOptions

_logger = logging.getLogger(__name__)


def outcome_counter(item):
    """The counter an importer's item counts in (see ``importer.py``)."""
    if item.action == "skip" and item.unchanged:
        return "unchanged"
    return {"create": "created", "update": "updated", "skip": "skipped", "fail": "failed"}[
        item.action
    ]


def in_test_mode():
    return bool(odoo_module.current_test or getattr(threading.current_thread(), "testing", False))


def worker_name():
    """Who is working, as the counter lines say it: host, process and thread."""
    return "%s:%s/%s" % (socket.gethostname(), os.getpid(), threading.current_thread().name)


class MigrationRunner:
    page_size = 100  # Cliniko's maximum
    # Several workers may share the run, each on a work unit (units.py): full runs only
    # (a sample chooses its patients first; a delta sync reads in an order of its own).
    shares_work = True
    # Pages read ahead while a page is written (cliniko_api/pages.py); context key
    # ``cliniko_read_ahead`` (0: read and write in turns, in this thread).
    read_ahead = DEFAULT_DEPTH

    def __init__(self, run, client=None, max_pages=None):
        self.env = silent_env(run.env)
        self.run = run.with_env(self.env)
        self.connection = self.run.connection_id
        self.binder = Binder(self.env, self.connection)
        self._client = client
        # A batch's budget: stop after this many pages (None: go to the end).
        self.max_pages = max_pages
        if run.env.context.get("cliniko_page_size"):
            self.page_size = max(1, min(100, int(run.env.context["cliniko_page_size"])))
        if run.env.context.get("cliniko_read_ahead") is not None:
            self.read_ahead = max(0, int(run.env.context["cliniko_read_ahead"]))
        self._pages_left = None
        self.region = None
        self._countries = {}
        self._states = {}
        self._counters = {}
        self._lookups = {}
        self._last_wait = None  # (reason, count, seconds, the log line saying so)
        # What the importers are asked to do (field map, sample scope...): set by _prepare.
        self.options = RunOptions()

    @property
    def client(self):
        if self._client is None:
            self._client = self.connection._get_client(on_wait=self._on_wait)
            # the field map's glance at the first patients is the patients' first page
            self._client.remember_first_pages()
        return self._client

    # -- execution ---------------------------------------------------------------------------
    def execute(self):
        """Start (or resume) the run and carry it to its end in this process (CLI, tests)."""
        if not self._take_worker_lock():
            return self.run
        try:
            self.start()
            self.work()
        finally:
            self._release_worker_lock()
        return self.run

    def _take_worker_lock(self):
        """Hold the run's worker lock while working on it; False (and nothing done) when
        another process holds it. Re-entrant within one process."""
        if not hold_worker_lock(self.env.cr, self.run.id):
            self.run._log("Another process is working on this run; this one leaves it alone")
            self._checkpoint()
            return False
        return True

    def _release_worker_lock(self):
        let_go_worker_lock(self.env.cr, self.run.id)

    def start(self):
        """Mark the run running; the work itself is ``work()``, in one go or in batches."""
        values = {"state": "running", "error_message": False}
        resumed = bool(self.run.started_at)
        if not resumed:
            values["started_at"] = fields.Datetime.now()
        self.run.write(values)
        self.run._cliniko_note_watermark()
        self.run._log("Resumed from where it stopped" if resumed else "Started")
        self.run._cliniko_note_event("resumed" if resumed else "started")
        self._checkpoint()

    def work(self, unit=None):
        """Migrate from where the run stopped until it ends, waits for the admin, is paused
        or cancelled by a person, or this batch's budget is spent (``max_pages``, or the
        scheduled job's time as ``_commit_progress`` reports it).

        Each page is committed with its counters and the resource's cursor, so a batch that
        dies loses at most the page it was on, and the next batch reads that page again.
        Returns True when there is nothing left to do for now, False when the run needs
        another batch.

        ``unit`` (a ``units.Unit``): only that unit, as one of several workers; the run is
        then marked done by ``finish_if_complete``, not here. An empty tuple: only the
        preparation (the field map, the region) and the counter lines of every unit.
        """
        run = self.run
        self._pages_left = self.max_pages
        try:
            self._prepare()
            if unit is None:
                resources = graph.load_order(run._selected_resources())
            elif unit == ():
                resources = []
                for resource in graph.load_order(run._selected_resources()):
                    self._counter(resource.name)
            else:
                resources = [graph.get(unit.leader)]
            for resource in resources:
                if not self._import_resource(resource):
                    if run.state != "running":  # paused, cancelled, rolled back...
                        run._log("Run %s after a page, as asked" % run.state)
                        self._checkpoint()
                        return True
                    return False
        except TransactionRollbackError:
            # Another worker wrote the same row at the same moment (REPEATABLE READ): this
            # page is undone whole, and the next batch writes it again from the committed
            # cursor. Never in tests (one connection).
            self.env.cr.rollback()
            self.env.invalidate_all(flush=False)
            self._counters.clear()
            self.run._log("A page met another worker's write and is done again")
            self._checkpoint()
            return False
        except RunBlocked as blocked:
            # Waiting for the admin (e.g. practitioner decisions): resumable, not a failure.
            run.write({"state": "blocked", "error_message": str(blocked)})
            run._log("Run paused: %s" % blocked)
            run._cliniko_note_event("blocked", str(blocked))
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
            if unit is None:
                self._finish_run()
        self._checkpoint()
        return True

    def _finish_run(self):
        run = self.run
        run.write({"state": "done", "finished_at": fields.Datetime.now()})
        run._cliniko_advance_watermark()
        run._log("Finished: %s" % run._cliniko_totals_text())
        run._cliniko_note_event("done")

    # -- several workers (units.py) ----------------------------------------------------------
    def units(self):
        return units.units_of(self.run._selected_resources())

    def _done_names(self):
        lines = self.env["cliniko.migration.run.resource"].search([("run_id", "=", self.run.id)])
        return {line.resource for line in lines if line.done}

    def claim_unit(self):
        """A ready unit nobody works on, held for this connection (``release_unit``), or
        None. Its counter line says who took it."""
        self.env.invalidate_all()
        self._counters.clear()
        ready = units.ready_units(self.units(), self._done_names())
        if not ready:
            return None
        lines = {self._counter(unit.leader).id: unit for unit in ready}
        cr = self.env.cr
        self.env.flush_all()
        if not in_test_mode():
            # A new snapshot: FOR UPDATE then meets no row changed since the transaction began.
            cr.commit()
        try:
            cr.execute(
                "SELECT id FROM cliniko_migration_run_resource"
                " WHERE id = ANY(%s) AND done IS NOT TRUE"
                " ORDER BY sequence, id FOR UPDATE SKIP LOCKED",
                [list(lines)],
            )
            free = [row[0] for row in cr.fetchall()]
        except TransactionRollbackError:
            cr.rollback()
            return None
        for line_id in free:
            if hold_unit_lock(cr, line_id):
                line = self.env["cliniko.migration.run.resource"].browse(line_id)
                line.worker = worker_name()
                return lines[line_id]
        return None

    def release_unit(self, unit):
        let_go_unit_lock(self.env.cr, self._counter(unit.leader).id)

    def finish_if_complete(self):
        """Mark the run done when every unit is and nobody works on it any more: True when
        this worker did. Called by each worker once it let go of its unit and of its share
        of the run, so the last to let go finds the run complete."""
        cr = self.env.cr
        self.env.invalidate_all()
        if not units.all_done(self.units(), self._done_names()):
            # Not yet: and no exclusive hold either, which would turn away for a moment a
            # worker coming for another unit.
            return False
        if not hold_worker_lock(cr, self.run.id):
            return False  # another worker is still on it: it will finish the run
        try:
            self.env.invalidate_all()
            if self.run.state != "running" or not units.all_done(
                self.units(), self._done_names()
            ):
                return False
            self._finish_run()
            self._checkpoint()
            return True
        finally:
            let_go_worker_lock(cr, self.run.id)

    def _prepare(self):
        # No record moves before the field map is confirmed, whatever started the run.
        field_map = self.run._cliniko_ensure_field_map(client=self.client)
        self.options.field_map_plan = field_map._cliniko_plan()
        if self.run.run_type == "sample":
            # the run chooses its sample (sample.py, above this layer) if it has none yet
            self.options.sample_scope = self.run._cliniko_sample_scope(client=self.client)
        country = self.connection.country_id
        if country:
            self.region = country.code
        elif self.run.clinic_country_code:
            self.region = self.run.clinic_country_code  # read by an earlier batch
        elif self.run.resource_ids.filtered(
            lambda line: line.resource == "businesses" and line.done
        ) or "businesses" not in [
            resource.name for resource in graph.load_order(self.run._selected_resources())
        ]:
            # The region comes from the first location, read with the businesses (below);
            # a run without them, or past them, reads their first page for it.
            try:
                page = self.client.get(
                    "/businesses", params=[("q[]", "archived_at:*"), ("per_page", MAX_PER_PAGE)]
                )
            except (ClinikoPermissionError, ClinikoNotFoundError):
                page = {}
            self._region_from(page.get("businesses") or [])

    def _import_resource(self, resource):
        """Import one resource from where it stopped; False if the batch stops before its end.

        Where it stopped: importers resume at the cursor committed with their last page
        (``links.next``, or the first page of their next list; the merged history pass keeps
        where each of its streams stands), so pages already done are not read again. An
        importer that cannot (``resumable = False``) reads again, without importing them,
        the pages already done. The binder would turn a page imported twice
        into skips; the counters are only ever written with the page they count, so they
        never count a page twice.
        """
        cls = importer_class(resource)
        if cls is None:
            self.run._log("%s: no importer yet, not migrated" % resource.label)
            return True
        counter = self._counter(resource.name)
        if counter.done:
            return True  # finished before the run was paused
        if resource.needs_practitioner_decisions:
            self.run._cliniko_apply_practitioner_decisions()
            undecided = self.run._cliniko_undecided_practitioners()
            if undecided:
                raise RunBlocked(
                    "%s practitioner(s) have no Odoo user and no decision: %s. Decide for each "
                    "(map to a user, create a placeholder user, or leave unassigned), then "
                    "start the run again." % (len(undecided), ", ".join(undecided.mapped("name")))
                )
        importer = cls(self)
        if not counter.started_at:
            counter.write({"started_at": fields.Datetime.now()})
        try:
            return self._read_resource(resource, importer, counter)
        except (ClinikoPermissionError, ClinikoNotFoundError) as error:
            # The key's user may not read this list (403), or the account has no such
            # endpoint (404): the rest of the clinic still migrates. What depends on it goes
            # on without the link, or fails record by record with the reason.
            self._unavailable(resource, counter, error)
            return True

    def _read_resource(self, resource, importer, counter):
        importer.before_resource()
        resumable = importer.resumable
        source = iter(())
        if counter.last_page_read:
            pages = source
        elif resumable:
            importer.resume_cursor = counter.cursor or None
            source = pages = importer.pages()
        else:
            source = importer.pages()
            pages = itertools.islice(source, counter.pages_done, None)
        try:
            return self._import_pages(resource, importer, counter, pages, resumable)
        finally:
            # stops the page reader's thread at once, wherever the loop stopped
            if hasattr(source, "close"):
                source.close()

    def _import_pages(self, resource, importer, counter, pages, resumable):
        clock = time.monotonic()
        for records in pages:
            if resource.name == "businesses" and self.region is None:
                self._region_from(records)
            # A page is written whole or not at all: its records, their bindings, audit
            # lines, counters and cursor commit together. An error that stops the run in
            # the middle of the page (Cliniko refusing the key or rate limiting it during a
            # download, a lookup failing) undoes what the page wrote before the run's
            # failure is committed, so no record is left without its binding and audit line
            # for a later run to create again.
            with self._page_savepoint():
                importer.import_page(records)
                values = {
                    "pages_done": counter.pages_done + 1,
                    "seconds": counter.seconds + time.monotonic() - clock,
                }
                if resumable:
                    values.update(cursor=importer.next_cursor or False)
                    values.update(last_page_read=not importer.next_cursor)
                counter.write(values)
                self._note_totals(importer)
            time_left = self._checkpoint(len(records))
            clock = time.monotonic()
            if self._batch_spent(time_left) or self._interrupted():
                return False
        counter.last_page_read = True
        importer.after_resource()
        counter.done = True
        self._checkpoint()
        return True

    @contextlib.contextmanager
    def _page_savepoint(self):
        try:
            with self.env.cr.savepoint():
                yield
                self.env.flush_all()
        except BaseException:
            # the rolled back writes must not linger in the cache (nor be flushed later)
            self.env.invalidate_all(flush=False)
            raise

    def _note_totals(self, importer):
        """Progress totals as Cliniko gives them (``total_entries`` of each list the resource
        reads, summed; kept per list on the counter line, so a run resumed in its second list
        still counts the first): no count request."""
        for member in getattr(importer, "_group", None) or [importer]:
            line = self._counter(member.resource)
            per_list = getattr(member, "list_totals", None)
            if per_list:
                known = dict(line.list_totals or {})
                if any(known.get(path) != total for path, total in per_list.items()):
                    known.update(per_list)
                    line.write({"list_totals": known, "total": sum(known.values())})
                continue
            total = getattr(member, "total_entries", None)
            if total and not line.total:
                line.total = total

    def _unavailable(self, resource, counter, error):
        message = str(error)
        self.env.invalidate_all()
        counter.write({"unavailable": message, "done": True, "last_page_read": True})
        self.run._log("%s: not available to this key, not migrated: %s" % (resource.label, message))
        self.audit(
            [
                {
                    "action": "skip",
                    "resource": resource.name,
                    "cliniko_id": False,
                    "res_model": False,
                    "res_id": False,
                    "message": "unavailable: %s" % message,
                    "previous_values": False,
                }
            ]
        )
        self._checkpoint()

    def _region_from(self, records):
        code = next((r.get("country_code") for r in records if isinstance(r, dict)), None)
        country = self._country(code.upper()) if isinstance(code, str) and code else None
        self.region = country.code if country else None
        if self.region and self.run.clinic_country_code != self.region:
            self.run.clinic_country_code = self.region

    def pages_ahead(self):
        """How many pages after the one being taken a page reader may fetch already: none
        when this batch ends with it (``max_pages``), so a batch asks Cliniko for no page it
        will not write. (A batch stopped by its time or by a person may drop one read page;
        the next batch reads it again from the committed cursor.)"""
        if self._pages_left is None:
            return self.read_ahead
        return max(0, min(self.read_ahead, self._pages_left - 1))

    def _batch_spent(self, time_left):
        if time_left <= 0:
            return True
        if self._pages_left is None:
            return False
        self._pages_left -= 1
        return self._pages_left <= 0

    def _interrupted(self):
        """No longer running since the page began (read afresh): paused or cancelled by a
        person, or anything else; a worker never carries on a run that is not running."""
        self.run.invalidate_recordset(["state"])
        return self.run.state != "running"

    def _remaining(self):
        """Records still to read (an estimate, at least 1 while the run goes on)."""
        if self.run.state != "running":
            return 0
        lines = self.env["cliniko.migration.run.resource"].search([("run_id", "=", self.run.id)])
        return max(1, sum(max(line.total - line.fetched, 0) for line in lines if not line.done))

    def _fail(self, message):
        self.run.write(
            {"state": "failed", "error_message": message, "finished_at": fields.Datetime.now()}
        )
        self.run._log("Run failed: %s" % message)
        self.run._cliniko_note_event("failed", message)

    def _on_wait(self, reason, seconds):
        """The client is about to sleep (Cliniko's rate limit, a retry after a server error
        or a dropped connection): one log line, or, when the run's last line is the same kind
        of wait, that line again with how many and how long in all."""
        run = self.run
        last = self._last_wait
        if last and last[0] == reason and (run.log or "").endswith(last[3] + "\n"):
            count, total = last[1] + 1, last[2] + seconds
            line = "Waited %d times, %.1f s in all: %s" % (count, total, reason)
            written = run._log(line, replaces=last[3])
        else:
            count, total = 1, seconds
            written = run._log("Waited %.1f s: %s" % (seconds, reason))
        self._last_wait = (reason, count, total, written)

    def _checkpoint(self, processed=0):
        """Flush and commit what is done (not in tests, except a scheduled job's own cursor).
        In a scheduled job the commit goes through ``_commit_progress``, which also says how
        many seconds the job may still use; elsewhere there is no limit. Forms open on the
        run hear of it (a bus notification, sent with the commit)."""
        self.run._cliniko_notify_progress()
        self.env.flush_all()
        if self.env.context.get("ir_cron_progress_id"):
            return self.env["ir.cron"]._commit_progress(processed, remaining=self._remaining())
        if not in_test_mode():
            self.env.cr.commit()
        return float("inf")

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
        """Add a page's outcomes to the resource's counters: each record counts once, in
        fetched and in one of created, updated, unchanged, skipped, failed."""
        line = self._counter(resource)
        totals = dict.fromkeys(("created", "updated", "unchanged", "skipped", "failed"), 0)
        totals["fetched"] = len(items)
        for item in items:
            totals[outcome_counter(item)] += 1
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
            # The connection's company: other companies' rules keep their users out.
            "company_id": self.connection.company_id.id,
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
