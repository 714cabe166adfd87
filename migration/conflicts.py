"""Conflict safety: a delta sync never overwrites what someone changed in Odoo.

Each binding (``cliniko.external.ref``) keeps, in ``cliniko_written``, a short digest of every
value the migration wrote, per Odoo record (``"model,id"``) and field. When an update path asks
what to write (``Importer.values_to_write``, the one place every importer goes through), a
field whose value in Cliniko differs from Odoo's is checked against that digest:

* Odoo's value is still what the migration wrote: nobody touched it, Cliniko's value is written;
* Odoo's value changed since, and Cliniko's did not: the Odoo edit stays, silently;
* both changed: the Odoo edit stays and a ``cliniko.sync.conflict`` keeps both values, for
  the admin to "take the Cliniko value" later.

A field without a digest (bound before this existed) is written as before. Full runs record
the digests but do not guard (a re-run of a full migration overwrites); delta runs guard
(``RunOptions.conflict_safe``). Fields an importer writes only on create
(``graph.Resource.create_only``) never reach this point.
"""

import hashlib
import json

from .snapshots import changed_values


def _canonical(field, record, value):
    return field.convert_to_write(value, record)


def digest_of(field, record, value):
    """A short digest of a value as it would be stored (``value`` in record form)."""
    data = repr(_canonical(field, record, value)).encode()
    return hashlib.blake2b(data, digest_size=6).hexdigest()


def current_digest(record, name):
    field = record._fields[name]
    return digest_of(field, record, record[name])


def wanted_digest(record, name, value):
    field = record._fields[name]
    return digest_of(
        field, record, field.convert_to_record(field.convert_to_cache(value, record), record)
    )


def record_key(record):
    return "%s,%s" % (record._name, record.id)


def values_to_write(importer, item, record, values):
    diff = changed_values(record, values)
    left_alone = set()
    if diff and item.ref and importer.runner.options.conflict_safe:
        stored = (item.ref.cliniko_written or {}).get(record_key(record)) or {}
        for name in list(diff):
            last = stored.get(name)
            if last is None or current_digest(record, name) == last:
                continue  # no record of it, or Odoo still holds what we wrote: Cliniko wins
            left_alone.add(name)
            wanted = diff.pop(name)
            if wanted_digest(record, name, wanted) != last:
                item.conflicts.append((record, name, wanted))
    item.wrote(record, [name for name in values if name not in left_alone])
    return diff


def written_digests(importer, items):
    """``{cliniko_id: cliniko_written}`` for the items created or updated on this page."""
    result = {}
    page_targets = []
    wanted = {}  # model -> ({ids}, {field names}): read the whole page at once, below
    for item in items:
        if item.action not in ("create", "update"):
            continue
        targets = dict(item.written)
        for action, record, _message, _previous in item.audits:
            if action == "create" and record and (record._name, record.id) not in targets:
                targets[(record._name, record.id)] = importer.written_fields(item, record)
        if not targets:
            continue
        page_targets.append((item, targets))
        for (model, res_id), names in targets.items():
            ids, field_names = wanted.setdefault(model, (set(), set()))
            ids.add(res_id)
            field_names.update(names)
    # One read per model and page of the fields not in cache (html fields are not cached by
    # create, and a lone browse() would read them one record at a time: two queries a patient).
    prefetched = {}
    for model, (ids, names) in wanted.items():
        records = importer.env[model].browse(sorted(ids))
        records.fetch([name for name in names if name in records._fields])
        prefetched[model] = records
    memo = {}  # (field, value) -> digest, for the plain values most records share (False...)
    for item, targets in page_targets:
        stored = dict((item.ref.cliniko_written or {}) if item.ref else {})
        for (model, res_id), names in targets.items():
            record = prefetched[model].browse(res_id).with_prefetch(prefetched[model]._prefetch_ids)
            if not names:
                continue
            entry = dict(stored.get(record_key(record)) or {})
            fields = record._fields
            for name in names:
                field = fields.get(name)
                if field is None:
                    continue
                value = field.__get__(record)
                if field.type in _PLAIN_TYPES and type(value) in _PLAIN_VALUES:
                    key = (field, type(value), value)
                    if key not in memo:
                        memo[key] = digest_of(field, record, value)
                    entry[name] = memo[key]
                else:
                    entry[name] = digest_of(field, record, value)
            stored[record_key(record)] = entry
        result[item.cliniko_id] = stored
    return result


# Field types whose stored form depends on the value alone (not on the record), for values of
# these Python types: their digest is computed once per page and value (``written_digests``).
_PLAIN_TYPES = frozenset(("char", "text", "selection", "boolean", "integer", "float"))
_PLAIN_VALUES = frozenset((bool, int, float, str, type(None)))


def json_value(record, name, value):
    """A write value made JSON-safe (ids for relations, strings for dates)."""
    field = record._fields[name]
    value = field.convert_to_record(field.convert_to_cache(value, record), record)
    if field.type in ("many2one", "one2many", "many2many"):
        return value.id or False if field.type == "many2one" else value.ids
    if field.type in ("date", "datetime"):
        return field.to_string(value) if value else False
    if hasattr(value, "__html__"):
        return str(value)
    try:
        json.dumps(value)
    except TypeError:
        return str(value)
    return value


def display_value(record, name, value=None, use_record=True):
    """A value for people: the display name of a relation, the text of anything else."""
    field = record._fields[name]
    if use_record:
        value = record[name]
    else:
        value = field.convert_to_record(field.convert_to_cache(value, record), record)
    if field.type in ("many2one", "one2many", "many2many"):
        return ", ".join(value.mapped("display_name")) or ""
    if field.type == "selection":
        return dict(field._description_selection(record.env)).get(value, value) or ""
    if value is False or value is None:
        return ""
    return str(value)


def log_conflicts(importer, items):
    """One open ``cliniko.sync.conflict`` per record and field (refreshed, not repeated)."""
    found = [(item, conflict) for item in items for conflict in item.conflicts]
    if not found:
        return
    Conflict = importer.env["cliniko.sync.conflict"].sudo()
    refs = importer.binder.to_internal(importer.resource, [item.cliniko_id for item, _c in found])
    for item, (record, name, wanted) in found:
        values = {
            "run_id": importer.run.id,
            "connection_id": importer.binder.connection.id,
            "ref_id": refs.get(item.cliniko_id, item.ref).id or False,
            "resource": importer.resource,
            "cliniko_id": item.cliniko_id,
            "res_model": record._name,
            "res_id": record.id,
            "field_name": name,
            "odoo_value": display_value(record, name),
            "cliniko_value": display_value(record, name, wanted, use_record=False),
            "cliniko_value_raw": {"value": json_value(record, name, wanted)},
        }
        existing = Conflict.search(
            [
                ("connection_id", "=", values["connection_id"]),
                ("res_model", "=", record._name),
                ("res_id", "=", record.id),
                ("field_name", "=", name),
                ("state", "=", "open"),
            ],
            limit=1,
        )
        if existing:
            existing.write(values)
        else:
            Conflict.create(values)
