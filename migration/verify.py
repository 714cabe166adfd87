"""Verification of a run: the counts reconcile, and every migrated field holds what it should.

1. Reconciliation, per resource: Cliniko's count (``total_entries`` under the graph's list
   filters), the reference rows of the connection, the Odoo records they point to and the
   run's counters. They reconcile when the counters add up, every reference points to a record
   that exists, and (full runs) the run fetched at least what Cliniko counts (some importers
   also read what the plain list leaves out: deleted records, inactive practitioners). Failed
   records are listed with their reasons from the audit log.
2. Comparison (``compare``): each migrated record is read from Cliniko again, page by page, and
   compared field by field with what the Odoo record holds now, read back through the ORM:

   - the sign-off rules (``basis`` "cliniko"): for patients, appointments (stage, type,
     practitioner, start/end, its calendar event), history (original date and text), files
     (name, size, SHA-256 of the bytes Cliniko serves against those Odoo stores) and invoices,
     the expected value is what ``expectations`` derives from Cliniko's record, written apart
     from the importers' mappers;
   - the other fields of the resources the graph marks ``compared`` (``basis`` "map"): the
     expected value is the importer's mapping under the run's confirmed field map. Fields
     written on create only (e.g. the patient lead's salesperson) are not compared there.

   A field the confirmed map skips is not compared. The stage of a visit is (the sign-off says
   where each appointment stands): a stage a person changed shows as a mismatch to acknowledge.
3. The sign-off: the report (PDF, ``report/cliniko_signoff_report.xml``) and its XLSX export
   (``/cliniko_crm_migration/signoff/<run>.xlsx``) list the counts per resource, the mismatches,
   then the matches; the admin's acknowledgement (who, when) is stored on the run and audited.

The run is verified when everything reconciles and every mismatch is acknowledged.

Progress: ``verify`` takes an optional ``progress(percent, step)`` callback, called as each
resource's count and each resource's comparison begins (weighted by the references the run has
for it: the records to compare) and with 100 once the report is stored. The caller decides what
to do with it (the queued job stores and commits it apart, ``cliniko_migration_run_jobs.py``).
"""

import hashlib
import json
from datetime import date, datetime

from odoo import fields, models

from ..cliniko_api import ClinikoError
from . import expectations, graph
from .importer import Item, MappingError
from .patients import custom_field_answer, iter_custom_fields
from .proposer import CUSTOM_PREFIX
from .runner import MigrationRunner, importer_class
from .values import text

SHOWN = 300  # characters of a value shown in a line


class Steps:
    """Progress over weighted steps: ``begin(weight, what)`` says a step of that weight
    begins (the previous one is done), ``finish(what)`` says 100."""

    def __init__(self, progress, total):
        self.progress = progress
        self.total = max(1, total)
        self.done = 0
        self.pending = 0

    def begin(self, weight, what):
        self.done += self.pending
        self.pending = weight
        if self.progress:
            self.progress(min(99.0, 100.0 * self.done / self.total), what)

    def finish(self, what):
        self.done, self.pending = self.total, 0
        if self.progress:
            self.progress(100.0, what)


def verify(run, progress=None):
    """Reconcile and compare ``run``; store the result on it (a new verification needs a new
    sign-off acknowledgement). ``progress(percent, step)``: told as each step begins."""
    resources = graph.load_order(run._selected_resources())
    compared = [r for r in resources if r.compared or r.name in SIGNED_OFF]
    # a count per resource weighs 1; a comparison, the records it reads again (its refs)
    Ref = run.env["cliniko.external.ref"].sudo()
    refs = {
        resource.name: Ref.search_count(
            [("connection_id", "=", run.connection_id.id), ("resource", "=", resource.name)]
        )
        for resource in compared
    }
    weights = {resource.name: max(1, refs[resource.name]) for resource in compared}
    steps = Steps(progress, len(resources) + sum(weights.values()) + 1)
    numbered = len(resources) + len(compared)

    def counting(index, resource):
        steps.begin(1, "Counting %s (%s of %s)" % (resource.label.lower(), index, numbered))

    def comparing(index, resource):
        steps.begin(
            weights[resource.name],
            "Comparing %s (%s of %s)"
            % (resource.label.lower(), len(resources) + index, numbered),
        )

    run.verification_resource_ids.unlink()
    run.verification_mismatch_ids.unlink()
    run.verification_check_ids.unlink()
    run.env["cliniko.verification.resource"].create(reconcile(run, on_resource=counting))
    mismatches, checks = [], {}
    for row in compare(run, on_resource=comparing):
        key = (row["resource"], row["res_model"], row["field"], row["basis"])
        counted = checks.setdefault(key, [0, 0])
        counted[0] += 1
        counted[1] += bool(row["match"])
        if not row["match"]:
            mismatches.append(line_values(run, row))
    steps.begin(1, "Storing the report")
    run.env["cliniko.verification.mismatch"].create(mismatches)
    order = {r.name: index for index, r in enumerate(graph.GRAPH)}
    run.env["cliniko.verification.check"].create(
        [
            {
                "run_id": run.id,
                "sequence": order.get(resource, len(order)),
                "resource": resource,
                "res_model": model,
                "field_name": field,
                "basis": basis,
                "checked": checked,
                "matched": matched,
            }
            for (resource, model, field, basis), (checked, matched) in checks.items()
        ]
    )
    run.write(
        {
            "verified_at": fields.Datetime.now(),
            "signoff_acknowledged_by": False,
            "signoff_acknowledged_at": False,
        }
    )
    run._log(
        "Verified: %s field(s) compared, %s mismatch(es); %s"
        % (
            sum(checked for checked, _matched in checks.values()),
            len(mismatches),
            "verified" if run.verified else "not verified",
        )
    )
    steps.finish("Verified")
    return run


def reconcile(run, on_resource=None):
    """One dict per resource of the run (values of ``cliniko.verification.resource``);
    ``on_resource(number, resource)`` is told as each begins (numbered from 1)."""
    env = run.env
    client = run.connection_id._get_client()
    Ref = env["cliniko.external.ref"].sudo()
    Audit = env["cliniko.audit.log"].sudo()
    result = []
    for sequence, resource in enumerate(graph.load_order(run._selected_resources())):
        if on_resource:
            on_resource(sequence + 1, resource)
        counter = run.resource_ids.filtered(lambda line, name=resource.name: line.resource == name)
        params = [("q[]", condition) for condition in resource.list_filters]
        try:
            cliniko, known = client.count("/" + resource.name, params), True
        except Exception:  # noqa: BLE001 - a resource Cliniko cannot count is shown as unknown
            cliniko, known = 0, False
        refs = Ref.search(
            [("connection_id", "=", run.connection_id.id), ("resource", "=", resource.name)]
        )
        existing = 0
        by_model = {}
        for ref in refs:
            by_model.setdefault(ref.res_model, []).append(ref.res_id)
        for model, ids in by_model.items():
            if model in env:
                existing += len(env[model].with_context(active_test=False).browse(ids).exists())
        counts = {name: counter[name] if counter else 0 for name in COUNTS}
        failed_lines = Audit.search(
            [("run_id", "=", run.id), ("resource", "=", resource.name), ("action", "=", "fail")],
            order="id",
        )
        problems = []
        if counts["fetched"] != sum(counts[name] for name in COUNTS[1:]):
            problems.append("the counters do not add up")
        if existing != len(refs):
            problems.append(
                "%s reference(s) point to records that no longer exist" % (len(refs) - existing)
            )
        if (
            known
            and run.run_type == "full"
            and counter
            and counter.done
            and counts["fetched"] < cliniko
        ):
            problems.append(
                "Cliniko counts %s, the run fetched only %s" % (cliniko, counts["fetched"])
            )
        result.append(
            dict(
                counts,
                run_id=run.id,
                sequence=sequence,
                resource=resource.name,
                cliniko_known=known,
                cliniko_count=cliniko,
                reference_count=len(refs),
                odoo_count=existing,
                reconciled=not problems,
                problems="\n".join(problems) or False,
                failures="\n".join(
                    "%s: %s" % (line.cliniko_id or "?", line.message or "") for line in failed_lines
                )
                or False,
            )
        )
    return result


COUNTS = ("fetched", "created", "updated", "unchanged", "skipped", "failed")


def line_values(run, row):
    """The values of a line that stores a row of ``compare`` on ``run`` (a verification
    mismatch, a sample diff line): which record and field, on what basis, expected and actual."""
    return {
        "run_id": run.id,
        "resource": row["resource"],
        "cliniko_id": row["cliniko_id"],
        "res_model": row["res_model"],
        "res_id": row["res_id"],
        "field_name": row["field"],
        "source_path": row["source_path"] or False,
        "basis": row["basis"],
        "expected": row["expected"],
        "actual": row["actual"],
    }


def compare(run, on_resource=None):
    """Yield one row per migrated record and field: ``{"resource", "cliniko_id", "res_model",
    "res_id", "field", "source_path", "source", "expected", "actual", "match", "basis"}``.

    ``basis`` says where the expected value comes from: ``cliniko`` (the sign-off rules of
    ``expectations``, read from Cliniko's record independently of the importers) or ``map``
    (the importer's mapping under the confirmed map, for the fields the rules do not cover).
    ``on_resource(number, resource)`` is told as each resource compared begins (from 1)."""
    runner = MigrationRunner(run)
    runner._prepare()  # the confirmed map, the sample's scope, the clinic's region
    rules = SignOffRules(runner)
    number = 0
    for resource in graph.load_order(run._selected_resources()):
        if on_resource and (resource.compared or resource.name in SIGNED_OFF):
            number += 1
            on_resource(number, resource)
        if resource.compared:
            yield from _compare_resource(runner, importer_class(resource)(runner), rules)
        elif resource.name in SIGNED_OFF:
            for pairs in _bound_pages(runner, resource):
                yield from rules.rows(resource.name, pairs)


def _compare_resource(runner, importer, rules):
    plan = runner.options.field_map_plan
    importer.before_resource()
    for records in importer.pages():
        items = [Item(record) for record in importer.in_scope(records)]
        refs = runner.binder.to_internal(importer.resource, [item.cliniko_id for item in items])
        items = [
            item
            for item in items
            if item.cliniko_id in refs and not importer.skip_reason(item.source)
        ]
        for item in items:
            item.ref = refs[item.cliniko_id]
        ruled = set()
        if importer.resource in SIGNED_OFF:
            for row in rules.rows(importer.resource, [(item.source, item.ref) for item in items]):
                ruled.add((row["res_model"], row["field"]))
                yield row
        importer.prepare(items)
        for item in items:
            try:
                values = importer.apply_field_map(importer.map(item))
            except MappingError:
                continue
            main = runner.binder.record(item.ref)
            if not main:
                continue
            for expected, record in _targets(importer.resource, values, main):
                for row in _compare_record(plan, importer.resource, item, expected, record):
                    if (row["res_model"], row["field"]) not in ruled:
                        yield row


def _bound_pages(runner, resource):
    """Lists of ``(Cliniko record, binding)`` of ``resource``: the records the run migrated
    (in the sample's scope, bound, not deleted since), read from Cliniko page by page."""
    params = [("q[]", condition) for condition in resource.list_filters]
    scope = runner.options.sample_scope
    for page in runner.client.iter_pages("/" + resource.name, params=params):
        records = [r for r in page.get(resource.name) or [] if r.get("id") is not None]
        if scope is not None and resource.patient_link:
            records = [r for r in records if graph.patient_ids_of(resource.name, r) & scope]
        records = [r for r in records if not r.get("deleted_at")]
        refs = runner.binder.to_internal(resource.name, [str(r["id"]) for r in records])
        pairs = [(r, refs[str(r["id"])]) for r in records if str(r["id"]) in refs]
        if pairs:
            yield pairs


def _targets(resource, values, main):
    """``(values, record)`` pairs: which Odoo record each dict of the mapped values is for."""
    if not isinstance(values, dict):
        return []
    pairs = []
    nested = False
    for key in ("partner", "attachment"):
        if isinstance(values.get(key), dict):
            nested = True
            pairs.append((values[key], main))
    if isinstance(values.get("lead"), dict) and main._name == "res.partner":
        nested = True
        lead = main.env["crm.lead"]._cliniko_patient_leads(main).get(main.id)
        if lead:
            pairs.append((values["lead"], lead))
    if not nested:
        pairs.append(({k: v for k, v in values.items() if k in main._fields}, main))
    return pairs


def _compare_record(plan, resource, item, expected, record):
    create_only = plan.create_only.get(resource, set())
    for name, value in expected.items():
        field = record._fields.get(name)
        if field is None or field.type in ("one2many", "many2many"):
            continue
        if (record._name, name) in create_only:
            continue
        try:
            wanted = field.convert_to_record(field.convert_to_cache(value, record), record)
            match = field.convert_to_write(wanted, record) == field.convert_to_write(
                record[name], record
            )
        except (TypeError, ValueError):
            continue
        source_path = plan.expected_source(resource, record._name, name)
        yield {
            "resource": resource,
            "cliniko_id": item.cliniko_id,
            "res_model": record._name,
            "res_id": record.id,
            "field": name,
            "source_path": source_path,
            "source": _source_value(item.source, source_path),
            "expected": _shown(field, wanted),
            "actual": _shown(field, record[name]),
            "match": match,
            "basis": "map",
        }


def _source_value(record, source_path):
    if not source_path:
        return False
    path = source_path.split(".", 1)[1]
    if path.startswith(CUSTOM_PREFIX):
        token = path[len(CUSTOM_PREFIX) :]
        for _section, field in iter_custom_fields(record.get("custom_fields")):
            if (text(field.get("token")) or text(field.get("name"))) == token:
                return custom_field_answer(field) or False
        return False
    value = record.get(path)
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return _cut(value)


def _shown(field, value):
    if field.type == "many2one":
        return _cut(value.display_name) if value else False
    if field.type == "json":
        return _cut(json.dumps(value, ensure_ascii=False, sort_keys=True)) if value else False
    if value is False or value is None:
        return False
    return _cut(value)


def _cut(value):
    if value in (None, False, ""):
        return False
    value = str(value)
    return value if len(value) <= SHOWN else value[: SHOWN - 1] + "…"


# -- the sign-off rules, read back through the ORM ---------------------------------------------
SIGNED_OFF = (
    "patients",
    "individual_appointments",
    "attendees",
    "treatment_notes",
    "communications",
    "patient_forms",
    "patient_attachments",
    "invoices",
)
_HISTORY = ("treatment_notes", "communications", "patient_forms")
CHUNK_SIZE = 64 * 1024


class _Sink:
    """A file that keeps nothing: the download computes the digest on the way."""

    def write(self, data):
        return len(data)

    def tell(self):
        return 0

    def seekable(self):
        return False


class SignOffRules:
    """Compares what ``expectations`` says Odoo must hold with what the ORM reads back."""

    def __init__(self, runner):
        self.runner = runner
        self.env = runner.env
        self.plan = runner.options.field_map_plan
        self._type_names = None
        self._stages = {}
        self._users = {}

    # -- per resource: (record, ref, {target: Odoo record}, facts) -----------------------------
    def rows(self, resource, pairs):
        if resource in _HISTORY:
            subjects = self._history(resource, pairs)
        else:
            subjects = getattr(self, "_" + resource)(resource, pairs)
        for record, ref, targets, facts in subjects:
            for fact in facts:
                target = targets.get(fact.target)
                if not target or self._skipped(resource, fact, target):
                    continue
                yield self._row(resource, record, target, fact)

    def _mains(self, pairs):
        return [(record, ref, self.runner.binder.record(ref)) for record, ref in pairs]

    def _patients(self, resource, pairs):
        found = [(r, ref, main) for r, ref, main in self._mains(pairs) if main]
        partners = self.env["res.partner"].browse([main.id for _r, _ref, main in found])
        leads = self.env["crm.lead"]._cliniko_patient_leads(partners)
        for record, ref, partner in found:
            targets = {"partner": partner, "lead": leads.get(partner.id)}
            yield record, ref, targets, expectations.patient(record, self.runner.region)

    def _type_name_map(self):
        if self._type_names is None:
            self._type_names = {
                str(kind["id"]): kind.get("name")
                for kind in self.runner.fetch_all(
                    "/appointment_types", params=[("q[]", "archived_at:*")]
                )
            }
        return self._type_names

    def _visits(self, pairs, bookings, attendance):
        names = self._type_name_map()
        found = [(r, ref, main) for r, ref, main in self._mains(pairs) if main]
        leads = self.env["crm.lead"].browse(
            [main.id for _r, _ref, main in found if main._name == "crm.lead"]
        )
        events = {}
        if leads:
            for event in (
                self.env["calendar.event"]
                .with_context(active_test=False)
                .search(
                    [("opportunity_id", "in", leads.ids), ("cliniko_appointment_event", "=", True)]
                )
            ):
                events.setdefault(event.opportunity_id.id, event)
        for record, ref, main in found:
            booking = bookings.get(str(record["id"]))
            if booking is None:
                continue
            now = ref.synced_at or fields.Datetime.now()
            if main._name == "crm.lead":
                facts = expectations.appointment(record, booking, now, names, attendance)
                yield record, ref, {"visit": main, "event": events.get(main.id)}, facts
            elif main._name == "calendar.event":
                yield record, ref, {"visit": main}, expectations.appointment_event(booking)

    def _individual_appointments(self, resource, pairs):
        return self._visits(pairs, {str(r["id"]): r for r, _ref in pairs}, False)

    def _attendees(self, resource, pairs):
        wanted = sorted({expectations.link(r.get("booking")) for r, _ref in pairs} - {None})
        groups = {}
        if wanted:
            params = [("q[]", "id:=%s" % ",".join(wanted)), ("q[]", "archived_at:*")]
            for group in self.runner.client.iter_records("/group_appointments", params=params):
                groups[str(group["id"])] = group
        bookings = {
            str(r["id"]): groups[expectations.link(r.get("booking"))]
            for r, _ref in pairs
            if expectations.link(r.get("booking")) in groups
        }
        return self._visits(pairs, bookings, True)

    def _history(self, resource, pairs):
        for record, ref, message in self._mains(pairs):
            if message:
                yield record, ref, {"message": message}, expectations.history(resource, record)

    def _patient_attachments(self, resource, pairs):
        megabytes = self.runner.connection.max_file_size_mb or 100
        for record, ref, attachment in self._mains(pairs):
            if not attachment:
                continue
            content = record.get("content")
            url = (content.get("links", {}).get("self") if isinstance(content, dict) else None) or (
                "/patient_attachments/%s/content" % record["id"]
            )
            try:
                digest = self.runner.client.download(
                    url, _Sink(), chunk_size=CHUNK_SIZE, max_bytes=megabytes * 1024 * 1024
                )["sha256"]
            except ClinikoError as error:
                digest = "Cliniko does not serve the file: %s" % error
            facts = expectations.attachment(record, digest)
            yield record, ref, {"file": attachment}, facts

    def _invoices(self, resource, pairs):
        for record, ref, invoice in self._mains(pairs):
            if invoice:
                yield record, ref, {"invoice": invoice}, expectations.invoice(record)

    # -- one fact ---------------------------------------------------------------------------
    def _skipped(self, resource, fact, target):
        """The confirmed map skips this field: the admin chose not to migrate it."""
        skipped = self.plan.skipped.get(resource, ()) if self.plan is not None else ()
        return fact.field in skipped or "%s/%s" % (fact.target, fact.field) in skipped

    def _resolve(self, fact, target):
        """``(expected, actual)`` as comparable plain values, and both as shown."""
        if fact.rule == "stage":
            stage = self._stage(fact.expected, target)
            return stage.id, target.stage_id.id, stage.display_name, target.stage_id.display_name
        if fact.rule == "user":
            user = self._user(fact.expected)
            return user.id, target.user_id.id, user.display_name, target.user_id.display_name
        if fact.field == "content_sha256":
            actual = _stored_sha256(target)
        elif fact.field == "country_id":
            actual = target.country_id.code
        elif fact.field == "cliniko_appointment_type_id":
            actual = target.cliniko_appointment_type_id.name
        else:
            actual = target[fact.field]
        shown = expectations.html_text(actual) if fact.rule == "text" else actual
        return fact.expected, actual, _plain(fact.expected), _plain(shown)

    def _stage(self, status, lead):
        kind = lead.cliniko_appointment_type_id
        if status == "booked" and "stage_id" in kind._fields and kind.stage_id:
            return kind.stage_id
        if status not in self._stages:
            self._stages[status] = self.env["crm.stage"]._cliniko_stage(status)
        return self._stages[status]

    def _user(self, practitioner_id):
        if practitioner_id not in self._users:
            found = {}
            if practitioner_id:
                found = self.runner.records("practitioners", [practitioner_id])
            user = found.get(practitioner_id)
            self._users[practitioner_id] = (
                user if user is not None and user._name == "res.users" else self.env["res.users"]
            )
        return self._users[practitioner_id]

    def _row(self, resource, record, target, fact):
        expected, actual, shown_expected, shown_actual = self._resolve(fact, target)
        if fact.rule in ("stage", "user"):
            match = expected == actual
        else:
            match = expectations.matches(fact.rule, expected, actual)
        return {
            "resource": resource,
            "cliniko_id": str(record["id"]),
            "res_model": target._name,
            "res_id": target.id,
            "field": fact.field,
            "source_path": fact.source_path,
            "source": _source_value(record, fact.source_path),
            "expected": _cut(shown_expected),
            "actual": _cut(shown_actual),
            "match": bool(match),
            "basis": "cliniko",
        }


def _plain(value):
    """A value as a person reads it in the report."""
    if isinstance(value, models.BaseModel):
        return value.display_name if value else False
    if isinstance(value, (list, tuple)):
        return " | ".join(str(part) for part in value if part) or False
    if isinstance(value, datetime):
        return fields.Datetime.to_string(value)
    if isinstance(value, date):
        return fields.Date.to_string(value)
    return value


def _stored_sha256(attachment):
    """SHA-256 of the bytes Odoo holds for ``attachment``, read in chunks from its storage."""
    attachment = attachment.sudo()
    digest = hashlib.sha256()
    if attachment.store_fname:
        with open(attachment._full_path(attachment.store_fname), "rb") as stored:
            while chunk := stored.read(CHUNK_SIZE):
                digest.update(chunk)
    else:
        digest.update(attachment.raw or b"")
    return digest.hexdigest()
