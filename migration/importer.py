"""The importer: the template every Cliniko resource follows, one page at a time.

For each record of a page (after OCA connector's importer)::

    skip?  ->  find binding  ->  up to date?  ->  map + validate  ->  create or update
           ->  bind  ->  audit

Creates of a page go to the database as one batch inside a savepoint; if the batch fails, each
record is retried in a savepoint of its own, so one bad record is listed with its reason and
never sinks its page or the run. Every outcome becomes audit lines and counts in the run's
counters, which add up: fetched = created + updated + unchanged + skipped + failed. Each record
has one outcome:

* created: new in Odoo; updated: migrated before, changed in Cliniko since, written again;
* unchanged: migrated before and the same in Cliniko (``up to date`` by ``updated_at``, or
  ``no change`` once compared): nothing written; an audit line ``skip`` marked ``unchanged``;
* skipped: left out on purpose, with the reason (deleted in Cliniko, counted elsewhere...);
* failed: could not be migrated, with the reason; the rest goes on.

A skipped or failed record's audit line names its patient (``patient_name``) where it has one,
so the run can list its reasons with the patients concerned.
"""

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..cliniko_api import (
    ClinikoBadRequestError,
    ClinikoError,
    ClinikoNotFoundError,
    ClinikoPermissionError,
)
from ..cliniko_api.client import MAX_PER_PAGE
from ..cliniko_api.client import _normalize_params as normalize_params
from . import conflicts, graph
from .snapshots import snapshot
from .values import link_id, parse_datetime

_logger = logging.getLogger(__name__)


class MappingError(Exception):
    """A Cliniko record that cannot be migrated; the message says why."""


class RunBlocked(Exception):
    """The run cannot go on until the admin decides something; it pauses, resumable."""


class Item:
    """One Cliniko record on its way through the importer, and what became of it.

    ``source`` is the Cliniko record (a dict); ``target`` the main Odoo record it became."""

    __slots__ = (
        "source",
        "cliniko_id",
        "ref",
        "action",
        "message",
        "values",
        "audits",
        "target",
        "updated_at",
        "ref_previous",
        "written",
        "conflicts",
        "unchanged",
    )

    def __init__(self, record):
        self.source = record if isinstance(record, dict) else {}
        record = self.source
        self.cliniko_id = str(record.get("id") or "")
        self.ref = None
        self.action = None
        self.message = ""
        self.values = None
        self.audits = []
        self.target = None
        try:
            self.updated_at = parse_datetime(record.get("updated_at"))
        except (TypeError, ValueError, AttributeError):
            self.updated_at = None  # the record fails in ``import_page`` with the reason
        self.ref_previous = None
        self.written = {}  # (model, id) -> field names the migration wrote (conflict safety)
        self.conflicts = []  # fields an update left alone: changed in Odoo since (delta sync)
        self.unchanged = False  # a skip that is no news: migrated before, the same since

    def same_as_before(self, message):
        """Nothing to do: migrated before and unchanged in Cliniko (counted as unchanged)."""
        self.done("skip", message)
        self.unchanged = True

    def done(self, action, message=""):
        self.action = action
        if message:
            self.message = "; ".join(filter(None, [self.message, message]))

    def audit(self, action, record, message="", previous_values=None):
        self.audits.append((action, record, message, previous_values))

    def wrote(self, record, field_names):
        """Note that the migration wrote ``field_names`` on ``record`` (see conflicts.py)."""
        for one in record:
            self.written.setdefault((one._name, one.id), set()).update(field_names)


# resource name -> its Importer subclass, filled by ``register`` as the importers' modules load
# (``all_importers`` loads every one of them; the runner imports it).
_REGISTRY = {}


def register(cls):
    """Class decorator: ``cls`` is the importer of the graph resource ``cls.resource``."""
    known = _REGISTRY.get(cls.resource)
    if known is not None and known.__qualname__ != cls.__qualname__:
        raise ValueError(
            "two importers for %s: %s and %s" % (cls.resource, known.__name__, cls.__name__)
        )
    graph.get(cls.resource)  # a name the graph knows (KeyError otherwise)
    _REGISTRY[cls.resource] = cls
    return cls


def importer_class(resource):
    """The registered Importer subclass of a graph resource (``all_importers`` loads them all:
    every resource of the graph has one)."""
    return _REGISTRY[resource.name]


def registered():
    """The names of the resources an importer is registered for."""
    return set(_REGISTRY)


class Importer:
    """Base class: subclasses set ``resource`` and ``model`` and implement ``map``,
    ``create_batch`` and ``update_one``; they may refine ``skip_reason`` and ``prepare``.
    The importer of a graph resource says so with ``@register``."""

    resource = None
    model = None

    def __init__(self, runner):
        self.runner = runner
        self.env = runner.env
        self.binder = runner.binder
        self.run = runner.run

    # -- hooks -------------------------------------------------------------------------------
    @property
    def graph_resource(self):
        return graph.get(self.resource)

    def list_params(self):
        """The q[] filters and sort of the full read of this resource."""
        params = [("q[]", condition) for condition in self.graph_resource.list_filters]
        params.append(("sort", "created_at:asc"))
        return params

    # Resuming: the runner sets ``resume_cursor`` (the URL of the next page to read, kept on
    # the run's resource line); before yielding a page, ``pages`` sets ``page_url`` to the URL
    # of that page and ``next_cursor`` to the URL of the page after it (the first page of the
    # next list when the resource reads several; None after the last page). An importer whose
    # ``pages`` cannot start again from such a cursor says ``resumable = False``: the runner
    # then reads its first pages again (without importing them) to get back where it was.
    resumable = True
    resume_cursor = None
    next_cursor = None
    page_url = None
    # What Cliniko holds for this read (``total_entries`` of its first page), None until read:
    # the run's progress total comes from here, never from a count-only request. A resource
    # reading several lists (active and inactive, listed and deleted) keeps each list's
    # ``total_entries`` in ``list_totals`` ({path: n}); the run's total is their sum.
    total_entries = None
    list_totals = None

    def lists(self):
        """The Cliniko lists this resource reads, in order: ``(path, params)`` each."""
        return [("/" + self.resource, self.list_params())]

    def list_records(self, path, records):
        """The records of a page of the list ``path`` as the importer reads them."""
        return records

    def optional_list(self, path, error):
        """True when the list ``path`` (not the first) answering ``error`` (404 or 400) may
        be left out: the records of the other lists still migrate."""
        return False

    def pages(self):
        """Yield the records of each Cliniko page of this resource, list after list, oldest
        first, from ``resume_cursor`` when set (following ``links.next`` as
        ``client.iter_pages`` does)."""
        client = self.runner.client
        per_page = max(1, min(MAX_PER_PAGE, int(self.runner.page_size or MAX_PER_PAGE)))
        lists = self.lists()
        url, index = None, 0
        if self.resume_cursor:
            url = client._url(self.resume_cursor)
            index = _list_index(client, lists, url)
        start = index
        for index, (path, list_params) in enumerate(lists[start:], start=start):
            first_params = [
                (key, value) for key, value in normalize_params(list_params) if key != "per_page"
            ]
            first_params.append(("per_page", str(per_page)))
            params = None
            if url is None:
                url, params = client._url(path), first_params
            following = None
            if index + 1 < len(lists):
                following = _first_page_url(client, lists[index + 1], per_page)
            try:
                yield from self._list_pages(
                    client, path, url, params, first_params=first_params, following=following
                )
            except (ClinikoNotFoundError, ClinikoBadRequestError) as error:
                if not index or not self.optional_list(path, error):
                    raise
                self.next_cursor = following
            url = None

    def _list_pages(self, client, path, url, params, *, first_params, following):
        # The next page is read in a thread of its own while this one is written (the
        # client's page reader: HTTP only there; everything here stays in this thread).
        reader = client.page_reader(
            url, params, first_params=first_params, depth=self.runner.read_ahead
        )
        try:
            while True:
                page = reader.take(ahead=self.runner.pages_ahead())
                if page is None:
                    return
                data = page.data
                if isinstance(data, dict):
                    total = _int_or_none(data.get("total_entries"))
                    if self.total_entries is None:
                        self.total_entries = total
                    if total is not None:
                        if self.list_totals is None:
                            self.list_totals = {}
                        self.list_totals.setdefault(path, total)
                self.page_url = _with_query(page.url, page.params)
                self.next_cursor = page.next_url or following
                yield self.list_records(path, data.get(self.resource) or [])
        finally:
            reader.close()

    def before_resource(self):
        """Once, before the first page (e.g. read small lookup lists)."""

    def after_resource(self):
        """Once, after the last page (e.g. summaries over what was written)."""

    def skip_reason(self, record):
        """A reason not to migrate this record at all, or None."""
        if record.get("deleted_at"):
            return "deleted in Cliniko"
        return None

    def prepare(self, items):
        """Batch look-ups (countries, related records) before mapping a page."""

    def map(self, item):
        """Return the values to write for ``item`` or raise MappingError."""
        raise NotImplementedError

    def create_batch(self, items):
        """Create the Odoo records of ``items``; set ``item.target`` and audit each record.

        By default one ``model`` record per item from its mapped values; importers writing
        several records per item override it."""
        records = self.env[self.model].create([item.values for item in items])
        for item, record in zip(items, records, strict=True):
            item.target = record
            item.audit("create", record)

    def update_one(self, item, main):
        """Update ``main`` from ``item``; audit with previous values; return True if changed."""
        raise NotImplementedError

    def values_to_write(self, item, record, values):
        """What an update path writes on ``record``: ``changed_values`` minus the fields
        someone changed in Odoo since the migration last wrote them (logged as conflicts).
        Every importer's update path goes through here (see ``migration/conflicts.py``)."""
        return conflicts.values_to_write(self, item, record, values)

    def write_changes(self, item, record, values, also_snapshot=(), writer=None):
        """The update of one record: write on ``record`` what differs of ``values`` (as
        ``values_to_write`` says), audit it with the previous values of what it overwrote (and
        of ``also_snapshot``); True if anything was written. ``writer``: ``record`` as the
        write must be made (e.g. with another user or context), ``record`` by default."""
        diff = self.values_to_write(item, record, values)
        if not diff:
            return False
        previous = snapshot(record, list(dict.fromkeys([*diff, *also_snapshot])))
        (record if writer is None else writer).write(diff)
        item.audit("update", record, "", {"values": previous})
        return True

    def written_fields(self, item, record):
        """The fields of a record ``create_batch`` made, when it did not say (``item.wrote``):
        the keys of the mapped values (flat, or one level down) that are fields of it."""
        values = item.values if isinstance(item.values, dict) else {}
        candidates = [values, *(v for v in values.values() if isinstance(v, dict))]
        return {name for found in candidates for name in found if name in record._fields}

    # -- the run's scope and field map -------------------------------------------------------
    def in_scope(self, records):
        """The records of a page the run migrates: all of them, or, for a sample run, those of
        the sample's patients (and what hangs off them: ``graph.Resource.patient_link`` and
        ``parent_link``). Out of scope records are not counted."""
        scope = self.runner.options.sample_scope
        if scope is None:
            return records
        resource = self.graph_resource
        if resource.patient_link:
            return [r for r in records if graph.patient_ids_of(resource.name, r) & scope]
        if resource.parent_link:
            parent, key = resource.parent_link
            wanted = {link_id(record.get(key)) for record in records} - {None}
            bound = self.binder.to_internal(parent, list(wanted))
            return [record for record in records if link_id(record.get(key)) in bound]
        return records  # reference data: all of it

    def apply_field_map(self, values):
        """The mapped ``values`` as the run's confirmed field map wants them (skipped fields
        dropped, custom fields written where the map sends them)."""
        plan = self.runner.options.field_map_plan
        return plan.apply(self.resource, values) if plan is not None else values

    # -- template ----------------------------------------------------------------------------
    def import_page(self, records):
        records = self.in_scope(records)
        items = [Item(record) for record in records]
        refs = self.binder.to_internal(self.resource, [item.cliniko_id for item in items])
        pending = []
        for item in items:
            if not item.cliniko_id:
                item.done("fail", "the record has no id")
                continue
            problem = self.malformed(item)
            if problem:
                item.done("fail", problem)
                continue
            try:
                reason = self.skip_reason(item.source)
            except RECORD_ERRORS as error:
                item.done("fail", record_error_text(error))
                continue
            if reason:
                item.done("skip", reason)
                continue
            item.ref = refs.get(item.cliniko_id)
            if item.ref and self._up_to_date(item):
                item.same_as_before(UP_TO_DATE)
                continue
            pending.append(item)
        pending = self._prepare_guarded(pending)
        to_create, to_update = [], []
        for item in pending:
            try:
                item.values = self.apply_field_map(self.map(item))
            except MappingError as error:
                item.done("fail", str(error))
                continue
            except RECORD_ERRORS as error:
                # Whatever Cliniko sent that the mapping did not expect (a missing key, a
                # wrong type, a bad date...) fails this record alone, with the reason.
                _logger.debug("%s %s cannot be mapped", self.resource, item.cliniko_id, exc_info=1)
                item.done("fail", record_error_text(error))
                continue
            main = self.binder.record(item.ref) if item.ref else None
            (to_update if main else to_create).append((item, main))
        self._create([item for item, _main in to_create])
        for item, main in to_update:
            self._guarded(item, lambda item=item, main=main: self._update(item, main))
        self._finish(items)
        return items

    def malformed(self, item):
        """Why Cliniko's record cannot be trusted at all, or None: a relation pointing at
        another host than the API's (its id would be read as one of this clinic's), or a
        relation that is not a link object."""
        for key, value in item.source.items():
            if key == "links" or not isinstance(value, dict) or "links" not in value:
                continue
            links = value.get("links")
            url = links.get("self") if isinstance(links, dict) else None
            if not isinstance(url, str):
                return "the %s relation is not a link" % key
            # The client only when there is a link to check: a Data Export run has no key.
            if "://" in url and not self.runner.client.is_base_host(url):
                return "the %s relation points at another host (%s)" % (
                    key,
                    urlsplit(url).hostname or "?",
                )
        return None

    def _prepare_guarded(self, items):
        """``prepare`` the page; when a record breaks it, prepare one by one and fail those
        records alone. Returns the items still to map."""
        try:
            self.prepare(items)
            return items
        except RECORD_ERRORS:
            _logger.debug("prepare of a %s page failed; one by one", self.resource, exc_info=1)
        kept = []
        for item in items:
            try:
                self.prepare([item])
            except RECORD_ERRORS as error:
                item.done("fail", record_error_text(error))
                continue
            kept.append(item)
        if kept:
            self.prepare(kept)
        return kept

    def _up_to_date(self, item):
        known = item.ref.source_updated_at
        return bool(known and item.updated_at and item.updated_at <= known)

    def _create(self, items):
        if not items:
            return
        try:
            with self.env.cr.savepoint():
                self.create_batch(items)
                self.env.flush_all()
        except Exception:  # noqa: BLE001 - any failure is retried record by record below
            _logger.info("batch of %s %s failed; retrying one by one", len(items), self.resource)
            self.env.invalidate_all()
            for item in items:
                item.audits.clear()
                item.target = None
                self._guarded(item, lambda item=item: self.create_batch([item]))
            return
        for item in items:
            item.done("create")

    def _update(self, item, main):
        # an update that left conflicting fields alone is still an update (counted both ways)
        changed = self.update_one(item, main) or bool(item.conflicts)
        item.target = main
        if changed:
            item.done("update")
        else:
            item.same_as_before(NO_CHANGE)

    def _guarded(self, item, work):
        """Run ``work`` for one record in its own savepoint; a failure fails only this record."""
        try:
            with self.env.cr.savepoint():
                work()
                self.env.flush_all()
        except Exception as error:  # noqa: BLE001 - recorded on the item, never swallowed
            self.env.invalidate_all()
            item.audits.clear()
            item.target = None
            item.done("fail", _error_text(error))
            return
        if item.action is None:
            item.done("create")

    def _finish(self, items):
        bindings = [
            (item.cliniko_id, item.target, item.updated_at, item.ref)
            for item in items
            if item.action in ("create", "update")
        ]
        previous_refs = self.binder.bind_many(
            self.resource, bindings, self.run, conflicts.written_digests(self, items)
        )
        conflicts.log_conflicts(self, items)
        audit_values = []
        patients = self._patient_names([item for item in items if _reported(item)])
        for item in items:
            for action, record, message, previous in item.audits:
                ref_previous = previous_refs.get(item.cliniko_id)
                if action == "update" and record == item.target and ref_previous:
                    # the binding changed too: the rollback of this line puts it back
                    previous = dict(previous or {}, __ref__=ref_previous)  # noqa: PLW2901
                values = self._audit_values(item, action, record, message, previous)
                if action in ("skip", "fail") and id(item) in patients:
                    values["patient_name"] = patients[id(item)]
                audit_values.append(values)
            if not item.audits:
                values = self._audit_values(item, item.action, item.target, "", None)
                values["unchanged"] = item.unchanged
                values["patient_name"] = patients.get(id(item), False)
                audit_values.append(values)
        self.runner.audit(audit_values)
        self.runner.count(self.resource, items)

    def _patient_names(self, items):
        """``{id(item): the name of its patient}`` for skipped and failed ``items``: for a
        patient, the name Cliniko gives; for what belongs to one, the migrated contact's name
        (a patient that was not migrated has none here). One look-up for the page."""
        names, wanted = {}, {}
        for item in items:
            if self.resource == "patients":
                name = " ".join(
                    part
                    for part in (item.source.get("first_name"), item.source.get("last_name"))
                    if isinstance(part, str) and part.strip()
                )
                if name:
                    names[id(item)] = name[:200]
                continue
            try:
                patient_ids = graph.patient_ids_of(self.resource, item.source)
            except (TypeError, ValueError, AttributeError, KeyError):
                continue  # a malformed link: the record failed for it, without a name
            if patient_ids:
                wanted[id(item)] = sorted(patient_ids)
        if wanted:
            found = self.runner.records("patients", sorted(set().union(*wanted.values())))
            for key, ids in wanted.items():
                partners = [found[i] for i in ids if i in found]
                if partners:
                    names[key] = ", ".join(p.display_name or "?" for p in partners[:3])[:200]
                else:
                    names[key] = "Cliniko patient %s (not migrated)" % ", ".join(ids[:3])
        return names

    def _audit_values(self, item, action, record, message, previous):
        return {
            "action": action,
            "resource": self.resource,
            "cliniko_id": item.cliniko_id or False,
            "res_model": record._name if record else False,
            "res_id": record.id if record else False,
            "message": "; ".join(filter(None, [item.message, message])) or False,
            "previous_values": previous or False,
        }


UP_TO_DATE = "up to date"  # Cliniko's updated_at has not moved since the last run
NO_CHANGE = "no change"  # compared field by field: nothing to write


def _reported(item):
    """A record whose reason the run lists: skipped (but not merely unchanged) or failed."""
    return item.action == "fail" or (item.action == "skip" and not item.unchanged)


# What a malformed record can raise while it is read; anything else (the key refused, Cliniko
# down, the run blocked) is the run's business, not the record's.
RECORD_ERRORS = (
    MappingError,
    TypeError,
    ValueError,
    AttributeError,
    KeyError,
    IndexError,
    OverflowError,
    ClinikoBadRequestError,
    ClinikoNotFoundError,
    ClinikoPermissionError,
)


def record_error_text(error):
    """The reason listed for a record that failed on what Cliniko sent."""
    if isinstance(error, (MappingError, ClinikoError)):
        return str(error)
    if isinstance(error, KeyError):
        return "the record has no %s" % error
    return "unexpected data from Cliniko (%s: %s)" % (error.__class__.__name__, str(error)[:200])


def _with_query(url, params):
    """``url`` with ``params`` in its query: the URL a cursor keeps for a page."""
    if not params:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _first_page_url(client, source, per_page):
    path, params = source
    first = [(key, value) for key, value in normalize_params(params) if key != "per_page"]
    return _with_query(client._url(path), [*first, ("per_page", str(per_page))])


def _list_index(client, lists, url):
    """Which of ``lists`` the cursor ``url`` is a page of (by its path; the first if none)."""
    wanted = urlsplit(url).path.rstrip("/")
    for index, (path, _params) in enumerate(lists):
        if urlsplit(client._url(path)).path.rstrip("/") == wanted:
            return index
    return 0


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _error_text(error):
    return (getattr(error, "args", None) and str(error.args[0])) or error.__class__.__name__
