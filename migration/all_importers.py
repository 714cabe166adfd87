"""Every resource importer of the migration, loaded: each registers itself (``@register``).

The runner imports this module, so that ``importer.importer_class`` knows the importer of
every graph resource. A module of a new group of resources is added here.
"""

from . import (  # noqa: F401 - imported for the importers they register
    appointments,
    attachments,
    contacts,
    graph,
    history,
    invoices,
    patient_details,
    patients,
    practitioners,
    products,
    reference,
)
from .importer import registered

# Every resource of the graph has its importer: the runner never meets one without.
_missing = [resource.name for resource in graph.GRAPH if resource.name not in registered()]
if _missing:
    raise ImportError("no importer registered for: %s" % ", ".join(_missing))
