"""What a run asks of its importers, said once: the runner fills it in, importers read it.

Before any page is read the runner (``MigrationRunner._prepare``) sets the confirmed field
map's plan and, for a sample run, the sample's patients; a delta runner guards against
overwriting what people changed in Odoo. Importers never look these up on the runner.
"""

from dataclasses import dataclass


@dataclass
class RunOptions:
    # The confirmed field map's plan (``cliniko.field.map._cliniko_plan``); None: as mapped.
    field_map_plan: object = None
    # The Cliniko ids of a sample run's patients; None: the whole clinic.
    sample_scope: set | None = None
    # Leave alone what someone changed in Odoo since the migration wrote it (``conflicts.py``).
    conflict_safe: bool = False
