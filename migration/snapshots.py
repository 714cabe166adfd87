"""Record snapshots: what a record holds now, as JSON, and how to write it back.

The audit log keeps a ``snapshot`` of what an update overwrote, the rollback and the sync
conflicts ``restore_values`` from it, and every update path writes only ``changed_values``.
Pure functions of a record and values: no run, no Cliniko.
"""

from odoo import fields


def snapshot(record, field_names):
    """The current values of ``field_names`` on ``record`` in a JSON-safe form."""
    result = {}
    for name in field_names:
        field = record._fields[name]
        value = record[name]
        if field.type == "many2one":
            value = value.id or False
        elif field.type in ("one2many", "many2many"):
            value = value.ids
        elif field.type == "date":
            value = fields.Date.to_string(value) if value else False
        elif field.type == "datetime":
            value = fields.Datetime.to_string(value) if value else False
        result[name] = value
    return result


def restore_values(record, values):
    """Turn a ``snapshot`` back into values for ``write``."""
    result = {}
    for name, value in values.items():
        field = record._fields.get(name)
        if field is None:
            continue
        if field.type in ("one2many", "many2many"):
            result[name] = [(6, 0, value or [])]
        else:
            result[name] = value
    return result


def changed_values(record, values):
    """The subset of ``values`` that differs from what ``record`` holds (compared as stored)."""
    result = {}
    for name, value in values.items():
        field = record._fields[name]
        wanted = field.convert_to_record(field.convert_to_cache(value, record), record)
        if field.convert_to_write(wanted, record) != field.convert_to_write(record[name], record):
            result[name] = value
    return result
