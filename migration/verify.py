"""Verification of a run: the counts reconcile, and every migrated field holds what it should.

1. Reconciliation, per resource: Cliniko's count (``total_entries`` under the graph's list
   filters), the reference rows of the connection, the Odoo records they point to and the
   run's counters. They reconcile when the counters add up, every reference points to a record
   that exists, and (full runs) the run fetched at least what Cliniko counts (some importers
   also read what the plain list leaves out: deleted records, inactive practitioners). Failed
   records are listed with their reasons from the audit log.
2. Comparison (``compare``): each migrated record is read from Cliniko again, page by page, run
   through its importer's mapping under the run's confirmed field map (the expected values),
   and compared field by field with what the Odoo record holds now (the resources the graph
   marks ``compared``). Fields written on create
   only (e.g. the lead's stage) are not compared: people may change them.

The run is verified when everything reconciles and every mismatch is acknowledged.
"""

import json

from odoo import fields

from . import graph
from .importer import Item, MappingError
from .patients import custom_field_answer, iter_custom_fields
from .proposer import CUSTOM_PREFIX
from .runner import MigrationRunner, importer_class
from .values import text

SHOWN = 300  # characters of a value shown in a line


def verify(run):
    """Reconcile and compare ``run``; store the result on it."""
    run.verification_resource_ids.unlink()
    run.verification_mismatch_ids.unlink()
    run.env["cliniko.verification.resource"].create(reconcile(run))
    mismatches = [
        {
            "run_id": run.id,
            "resource": row["resource"],
            "cliniko_id": row["cliniko_id"],
            "res_model": row["res_model"],
            "res_id": row["res_id"],
            "field_name": row["field"],
            "expected": row["expected"],
            "actual": row["actual"],
        }
        for row in compare(run)
        if not row["match"]
    ]
    run.env["cliniko.verification.mismatch"].create(mismatches)
    run.verified_at = fields.Datetime.now()
    run._log(
        "Verified: %s mismatch(es); %s"
        % (len(mismatches), "verified" if run.verified else "not verified")
    )
    return run


def reconcile(run):
    """One dict per resource of the run (values of ``cliniko.verification.resource``)."""
    env = run.env
    client = run.connection_id._get_client()
    Ref = env["cliniko.external.ref"].sudo()
    Audit = env["cliniko.audit.log"].sudo()
    result = []
    for sequence, resource in enumerate(graph.load_order(run._selected_resources())):
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


def compare(run):
    """Yield one row per migrated record and field: ``{"resource", "cliniko_id", "res_model",
    "res_id", "field", "source_path", "source", "expected", "actual", "match"}``."""
    runner = MigrationRunner(run)
    runner._prepare()  # the confirmed map, the sample's scope, the clinic's region
    wanted = [r for r in graph.load_order(run._selected_resources()) if r.compared]
    for resource in wanted:
        yield from _compare_resource(runner, importer_class(resource)(runner))


def _compare_resource(runner, importer):
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
                yield from _compare_record(plan, importer.resource, item, expected, record)


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
