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

import contextlib
import itertools
import logging
import threading
import time

from odoo import SUPERUSER_ID, fields
from odoo.exceptions import UserError
from odoo.modules import module as odoo_module

from ..cliniko_api import ClinikoError, ClinikoNotFoundError, ClinikoPermissionError
from ..cliniko_api.client import MAX_PER_PAGE
from . import (
    all_importers,  # noqa: F401 - the resource importers register themselves
    graph,
)
from .binder import Binder
from .context import silent_env
from .importer import RunBlocked, importer_class
from .options import RunOptions
from .snapshots import restore_values

_logger = logging.getLogger(__name__)


def in_test_mode():
    return bool(odoo_module.current_test or getattr(threading.current_thread(), "testing", False))


# The worker lock: a PostgreSQL session-level advisory lock (this namespace, the run's id) held
# by the process working on a run. PostgreSQL releases it when that process's connection ends,
# however it ends (kill -9 included), so "running, and nobody holds its lock" means the worker
# died: the run can be resumed from its committed cursors.
WORKER_LOCK_NAMESPACE = 0x436C696E  # "Clin"
_HELD_WORKER_LOCKS = {}  # run id -> depth, in this process


def try_worker_lock(cr, run_id):
    cr.execute("SELECT pg_try_advisory_lock(%s, %s)", (WORKER_LOCK_NAMESPACE, run_id))
    return cr.fetchone()[0]


def release_worker_lock(cr, run_id):
    cr.execute("SELECT pg_advisory_unlock(%s, %s)", (WORKER_LOCK_NAMESPACE, run_id))


def worker_alive(cr, run_id):
    """True when a process holds the run's worker lock (it is working on the run now)."""
    if _HELD_WORKER_LOCKS.get(run_id):
        return True  # this very process
    if try_worker_lock(cr, run_id):
        release_worker_lock(cr, run_id)
        return False
    return True


class MigrationRunner:
    page_size = 100  # Cliniko's maximum

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
        self._pages_left = None
        self.region = None
        self._countries = {}
        self._states = {}
        self._counters = {}
        self._lookups = {}
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
        if _HELD_WORKER_LOCKS.get(self.run.id):
            _HELD_WORKER_LOCKS[self.run.id] += 1
            return True
        if not try_worker_lock(self.env.cr, self.run.id):
            self.run._log("Another process is working on this run; this one leaves it alone")
            self._checkpoint()
            return False
        _HELD_WORKER_LOCKS[self.run.id] = 1
        return True

    def _release_worker_lock(self):
        _HELD_WORKER_LOCKS[self.run.id] -= 1
        if not _HELD_WORKER_LOCKS[self.run.id]:
            del _HELD_WORKER_LOCKS[self.run.id]
            release_worker_lock(self.env.cr, self.run.id)

    def start(self):
        """Mark the run running; the work itself is ``work()``, in one go or in batches."""
        values = {"state": "running", "error_message": False}
        if not self.run.started_at:
            values["started_at"] = fields.Datetime.now()
        self.run.write(values)
        self._checkpoint()

    def work(self):
        """Migrate from where the run stopped until it ends, waits for the admin, is paused
        or cancelled by a person, or this batch's budget is spent (``max_pages``, or the
        scheduled job's time as ``_commit_progress`` reports it).

        Each page is committed with its counters and the resource's cursor, so a batch that
        dies loses at most the page it was on, and the next batch reads that page again.
        Returns True when there is nothing left to do for now, False when the run needs
        another batch.
        """
        run = self.run
        self._pages_left = self.max_pages
        try:
            self._prepare()
            for resource in graph.load_order(run._selected_resources()):
                if not self._import_resource(resource):
                    if run.state != "running":  # paused, cancelled, rolled back...
                        run._log("Run %s after a page, as asked" % run.state)
                        self._checkpoint()
                        return True
                    return False
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
        return True

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
        if counter.last_page_read:
            pages = iter(())
        elif resumable:
            importer.resume_cursor = counter.cursor or None
            pages = importer.pages()
        else:
            pages = itertools.islice(importer.pages(), counter.pages_done, None)
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
        """Progress totals from the first page read (``total_entries``): no count request."""
        for member in getattr(importer, "_group", None) or [importer]:
            total = getattr(member, "total_entries", None)
            line = self._counter(member.resource)
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

    def _on_wait(self, reason, seconds):
        self.run._log("Waited %.1f s: %s" % (seconds, reason))

    def _checkpoint(self, processed=0):
        """Flush and commit what is done (not in tests, except a scheduled job's own cursor).
        In a scheduled job the commit goes through ``_commit_progress``, which also says how
        many seconds the job may still use; elsewhere there is no limit."""
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

    # -- rollback ----------------------------------------------------------------------------
    unlink_batch = 500

    def _bound_here(self, model, ids):
        return [
            ("connection_id", "=", self.connection.id),
            ("res_model", "=", model),
            ("res_id", "in", list(ids)),
        ]

    def _rollback_line(self, line):
        """Undo one audit line; return the (action, message) of the rollback's own audit line."""
        Ref = self.env["cliniko.external.ref"].sudo()
        record = self.env[line.res_model].browse(line.res_id).exists()
        bound_here = self._bound_here(line.res_model, [line.res_id])
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

    def _rollback_values(self, line, action=None, message=None):
        return {
            "resource": line.resource,
            "cliniko_id": line.cliniko_id,
            "res_model": line.res_model,
            "res_id": line.res_id,
            "is_rollback": True,
            "previous_values": False,
            "action": action,
            "message": message,
        }

    def _rollback_one(self, line):
        """Undo one line in its own savepoint (archive what cannot be removed)."""
        if not line.res_model or not line.res_id:
            return self._rollback_values(line, "skip", "rollback: no Odoo record to undo")
        try:
            with self.env.cr.savepoint():
                action, message = self._rollback_line(line)
                self.env.flush_all()
        except Exception as error:  # noqa: BLE001 - listed in the audit, the rest goes on
            self.env.invalidate_all()
            action, message = self._rollback_archive(line, error)
        return self._rollback_values(line, action, message)

    def _rollback_creates(self, model, lines):
        """Remove the records of ``lines`` (one model) and their bindings at once; if that
        fails (one is still referenced elsewhere), one by one."""
        ids = {line.res_id for line in lines if line.res_id}
        try:
            with self.env.cr.savepoint():
                self.env["cliniko.external.ref"].sudo().search(
                    self._bound_here(model, ids)
                ).unlink()
                self.env[model].browse(list(ids)).exists().unlink()
                self.env.flush_all()
        except Exception:  # noqa: BLE001 - each record is retried (and reported) below
            self.env.invalidate_all()
            return [self._rollback_one(line) for line in lines]
        return [
            self._rollback_values(line, "delete", "rollback: removed what the run created")
            for line in lines
        ]

    def _rollback_lines(self):
        """The run's own create/update audit lines, in rollback order: the graph reversed
        (dependents first), newest first within a resource."""
        found = (
            self.env["cliniko.audit.log"]
            .sudo()
            .search(
                [
                    ("run_id", "=", self.run.id),
                    ("is_rollback", "=", False),
                    ("action", "in", ("create", "update")),
                ],
                order="id desc",
            )
        )
        rank = {resource.name: index for index, resource in enumerate(graph.rollback_order())}
        return found.sorted(lambda line: (rank.get(line.resource, -1), -line.id)), rank

    def kept_records(self, lines=None):
        """``{(model, id): reason}``: the records this run created or updated that a person
        changed after the run, which the rollback keeps as they are.

        The rule: a record is changed by a person when its last writer (``write_uid``) is a
        real user (not the superuser, which scheduled jobs and the command line use) and
        either (a) is not one of the users the run wrote as (the authors of its audit lines)
        and wrote at or after the run's last write to that record (the ``create_date`` of its
        newest audit line for it: the same transaction as the run's write), or (b) wrote
        after the run ended (its ``finished_at``, else its newest audit line). A record the
        run created that a kept record still points to (a many2one, e.g. the partner of a
        kept lead) is kept too, so the kept record stays whole.
        """
        if lines is None:
            lines, _rank = self._rollback_lines()
        if not lines:
            return {}
        run_users = set(lines.mapped("create_uid").ids)
        last_touch = {}
        for line in lines:
            if line.res_model and line.res_id:
                key = (line.res_model, line.res_id)
                last_touch[key] = max(last_touch.get(key) or line.create_date, line.create_date)
        run_end = self.run.finished_at or max(last_touch.values(), default=False)
        by_model = {}
        for model, res_id in last_touch:
            by_model.setdefault(model, []).append(res_id)
        kept = {}
        for model, ids in by_model.items():
            Model = self.env[model].sudo().with_context(active_test=False)
            if not Model._log_access:
                continue
            for record in Model.browse(ids).exists():
                writer, when = record.write_uid, record.write_date
                if not writer or writer.id == SUPERUSER_ID or not when:
                    continue
                if (writer.id not in run_users and when >= last_touch[(model, record.id)]) or (
                    run_end and when > run_end
                ):
                    kept[(model, record.id)] = "changed by %s on %s, after the run" % (
                        writer.name,
                        fields.Datetime.to_string(when),
                    )
        created = {
            (line.res_model, line.res_id) for line in lines if line.action == "create"
        } - set(kept)
        for key, reason in self._built_on(created, lines, run_users, run_end).items():
            kept.setdefault(key, reason)
        created -= set(kept)
        todo = list(kept)
        while todo and created:
            model, res_id = todo.pop()
            record = self.env[model].sudo().browse(res_id)
            for name, field in record._fields.items():
                if field.type != "many2one" or not field.store:
                    continue
                target = record[name]
                key = (target._name, target.id)
                if target and key in created:
                    created.discard(key)
                    kept[key] = "used by the kept %s #%s" % (model, res_id)
                    todo.append(key)
        return kept

    def _built_on(self, created, lines, run_users, run_end):
        """``{(model, id): reason}`` for records the run created that people built on since:
        a message, attachment or activity on them the migration did not write, or a lead the
        migration did not write pointing at them. Unlinking such a record would take the
        people's work with it (a lead's notes and files go with the lead)."""
        if not created:
            return {}
        written = {(line.res_model, line.res_id) for line in lines}
        by_model = {}
        for model, res_id in created:
            by_model.setdefault(model, set()).add(res_id)
        found = {}
        # by a real user who is not one the run wrote as, or after the run (as for writes)
        people = [("create_uid", "!=", SUPERUSER_ID)]
        if run_end:
            people += [
                "|",
                ("create_uid", "not in", list(run_users)),
                ("create_date", ">", run_end),
            ]
        else:
            people += [("create_uid", "not in", list(run_users))]
        for model, ids in by_model.items():
            for child_model, what in (
                ("mail.message", "a message"),
                ("ir.attachment", "a file"),
                ("mail.activity", "an activity"),
            ):
                Child = self.env[child_model].sudo().with_context(active_test=False)
                field = "model" if child_model == "mail.message" else "res_model"
                domain = [(field, "=", model), ("res_id", "in", list(ids)), *people]
                for child in Child.search(domain):
                    if (child_model, child.id) in written:
                        continue
                    found.setdefault(
                        (model, child.res_id),
                        "people built on it since: %s by %s" % (what, child.create_uid.name),
                    )
        partners = by_model.get("res.partner")
        if partners:
            leads = (
                self.env["crm.lead"]
                .sudo()
                .with_context(active_test=False)
                .search([("partner_id", "in", list(partners)), *people])
            )
            for lead in leads:
                if ("crm.lead", lead.id) not in written:
                    found.setdefault(
                        ("res.partner", lead.partner_id.id),
                        "people built on it since: the lead %s points at it" % lead.id,
                    )
        return found

    def rollback(self):
        """Undo the run: remove what it created and restore what it updated, dependents
        first; keep (and list) what a person changed since. Records of one model are removed
        in batches (``unlink_batch``), one by one only when a batch fails."""
        run = self.run
        if run.state == "rolled_back":
            return run
        lines, rank = self._rollback_lines()
        kept = self.kept_records(lines)
        audit = []
        for _rank, group in itertools.groupby(lines, key=lambda line: rank.get(line.resource, -1)):
            creates = {}
            for line in group:
                key = (line.res_model, line.res_id)
                if key in kept:
                    audit.append(
                        self._rollback_values(line, "skip", "rollback: kept, %s" % kept[key])
                    )
                elif line.action == "update" or not line.res_model or not line.res_id:
                    audit.append(self._rollback_one(line))
                else:
                    creates.setdefault(line.res_model, []).append(line)
            # Within a resource, the model created last (its newest line) goes first.
            for model in sorted(creates, key=lambda m: -max(line.id for line in creates[m])):
                model_lines = creates[model]
                for start in range(0, len(model_lines), self.unlink_batch):
                    chunk = model_lines[start : start + self.unlink_batch]
                    audit.extend(self._rollback_creates(model, chunk))
        self.audit(audit)
        run.write({"state": "rolled_back", "rolled_back_at": fields.Datetime.now()})
        run._log(
            "Rolled back: %s operations undone, %s record(s) kept (changed since the run)"
            % (len(lines) - sum(1 for values in audit if values["action"] == "skip"), len(kept))
        )
        self._checkpoint()
        return run
