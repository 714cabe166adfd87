"""Every resource importer of the migration, loaded: each registers itself (``@register``).

The runner imports this module, so that ``importer.importer_class`` knows the importer of
every graph resource. A module of a new group of resources is added here.
"""

from . import (  # noqa: F401 - imported for the importers they register
    appointments,
    attachments,
    contacts,
    history,
    invoices,
    patient_details,
    patients,
    practitioners,
    products,
    reference,
)
