"""The binder: Cliniko id <-> Odoo record, through ``cliniko.external.ref``.

As in OCA's connector: ``to_internal`` finds the bindings of Cliniko ids, ``record`` the Odoo
record a binding points to, and ``bind_many`` records the links.
"""

from odoo import fields


class Binder:
    def __init__(self, env, connection):
        self.env = env
        self.connection = connection
        self.Ref = env["cliniko.external.ref"].sudo()

    def to_internal(self, resource, cliniko_ids):
        """Return ``{cliniko_id: cliniko.external.ref}`` for the ids already bound."""
        cliniko_ids = [str(cliniko_id) for cliniko_id in cliniko_ids if cliniko_id]
        if not cliniko_ids:
            return {}
        refs = self.Ref.search(
            [
                ("connection_id", "=", self.connection.id),
                ("resource", "=", resource),
                ("cliniko_id", "in", cliniko_ids),
            ]
        )
        return {ref.cliniko_id: ref for ref in refs}

    def record(self, ref):
        """The Odoo record a binding points to (may no longer exist)."""
        return self.env[ref.res_model].browse(ref.res_id).exists()

    def bind_many(self, resource, bindings, run, written=None):
        """Create or refresh bindings; ``bindings`` is a list of
        ``(cliniko_id, record, source_updated_at, existing_ref_or_None)``.

        Returns ``{cliniko_id: previous ref values}`` for the refs that existed, so a
        rollback can put them back. ``written`` is ``{cliniko_id: digests of what the
        migration wrote}`` (``cliniko_written``, see ``conflicts.py``).
        """
        written = written or {}
        now = fields.Datetime.now()
        to_create, previous = [], {}
        for cliniko_id, record, source_updated_at, ref in bindings:
            values = {
                "res_model": record._name,
                "res_id": record.id,
                "run_id": run.id,
                "source_updated_at": source_updated_at,
                "synced_at": now,
            }
            if cliniko_id in written:
                values["cliniko_written"] = written[cliniko_id]
            if ref:
                previous[cliniko_id] = {
                    "res_model": ref.res_model,
                    "res_id": ref.res_id,
                    "run_id": ref.run_id.id,
                    "source_updated_at": fields.Datetime.to_string(ref.source_updated_at),
                    "synced_at": fields.Datetime.to_string(ref.synced_at),
                    "cliniko_written": ref.cliniko_written or False,
                }
                ref.write(values)
            else:
                values.update(
                    connection_id=self.connection.id, resource=resource, cliniko_id=cliniko_id
                )
                to_create.append(values)
        if to_create:
            self.Ref.create(to_create)
        return previous
