"""The Cliniko resources the migration reads, and what each one needs loaded first.

This graph is the single source of the order of work: the load order is a topological sort
of it, the rollback order is that sort reversed, and the run's progress lines follow it.
Each resource names the module of ``migration/`` that holds its importer.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    """One Cliniko resource: its API name, a label for people and its prerequisites."""

    name: str
    label: str
    module: str
    depends: tuple = ()
    # Extra q[] filters the full read sends, e.g. to include archived or cancelled rows.
    list_filters: tuple = ()
    # Not loaded while a Cliniko practitioner has no decision recorded on the run.
    needs_practitioner_decisions: bool = False


_ARCHIVED = ("archived_at:*",)
_ARCHIVED_OR_DELETED = ("archived_at:*", "deleted_at:*")
_REFERENCE = ("businesses", "practitioners", "appointment_types")

GRAPH = (
    # Reference data: who, where, what.
    Resource("businesses", "Locations", "reference", list_filters=_ARCHIVED),
    Resource("practitioners", "Practitioners", "practitioners"),
    Resource("billable_items", "Billable items", "products", list_filters=_ARCHIVED),
    Resource("products", "Products", "products", list_filters=_ARCHIVED),
    # A type is charged its default billable item (or product): those come first.
    Resource(
        "appointment_types",
        "Appointment types",
        "reference",
        depends=("billable_items", "products"),
        list_filters=_ARCHIVED,
    ),
    Resource("contacts", "Contacts", "contacts", list_filters=_ARCHIVED),
    # People.
    Resource(
        "patients",
        "Patients",
        "patients",
        depends=("businesses", "contacts"),
        list_filters=_ARCHIVED,
    ),
    # Visits.
    Resource(
        "individual_appointments",
        "Appointments",
        "appointments",
        depends=("patients", *_REFERENCE),
        # deleted_at:* so deleted appointments are fetched and counted as skipped
        list_filters=("archived_at:*", "cancelled_at:*", "deleted_at:*"),
        needs_practitioner_decisions=True,
    ),
    Resource(
        "group_appointments",
        "Group appointments",
        "appointments",
        # patients: the session's calendar event invites every attendee
        depends=("patients", *_REFERENCE),
        list_filters=_ARCHIVED,
        needs_practitioner_decisions=True,
    ),
    Resource(
        "attendees",
        "Group attendances",
        "appointments",
        depends=("patients", "group_appointments"),
        list_filters=("archived_at:*", "cancelled_at:*"),
        needs_practitioner_decisions=True,
    ),
    # History on the patient's lead.
    Resource(
        "treatment_notes",
        "Treatment notes",
        "history",
        depends=("patients", "practitioners", "individual_appointments", "attendees"),
        # SPEC §2.10 lists no deleted_at filter for notes (Cliniko answers 400 to it): the
        # notes deleted in Cliniko are simply not listed
        list_filters=_ARCHIVED,
    ),
    Resource(
        "communications",
        "Messages",
        "history",
        depends=("patients",),
        # deleted messages are listed too, so they are counted (skipped)
        list_filters=_ARCHIVED_OR_DELETED,
    ),
    Resource(
        "patient_forms", "Patient forms", "history", depends=("patients",), list_filters=_ARCHIVED
    ),
    Resource(
        "patient_attachments", "Files", "attachments", depends=("patients",), list_filters=_ARCHIVED
    ),
    Resource(
        "medical_alerts",
        "Medical alerts",
        "patient_details",
        depends=("patients",),
        list_filters=_ARCHIVED,
    ),
    Resource(
        "patient_cases",
        "Patient cases",
        "patient_details",
        depends=("patients", "contacts"),
        list_filters=_ARCHIVED,
    ),
    Resource(
        "referral_sources", "Referral sources", "patient_details", depends=("patients", "contacts")
    ),
    # Money.
    Resource(
        "invoices",
        "Invoices",
        "invoices",
        depends=("patients", "individual_appointments", "attendees", "practitioners", "businesses"),
        list_filters=_ARCHIVED,
    ),
    Resource(
        "invoice_items",
        "Invoice items",
        "invoices",
        depends=("invoices", "billable_items", "products"),
        list_filters=_ARCHIVED,
    ),
)

_BY_NAME = {resource.name: resource for resource in GRAPH}


def get(name):
    return _BY_NAME[name]


def names():
    return [resource.name for resource in GRAPH]


def load_order(selected=None):
    """Resources in dependency order (prerequisites first), stable by declaration order.

    ``selected`` limits the result to these names plus everything they depend on.
    """
    wanted = set(_closure(selected)) if selected else set(_BY_NAME)
    ordered, done = [], set()

    def visit(resource, path=()):
        if resource.name in done:
            return
        if resource.name in path:
            raise ValueError("dependency cycle: %s" % " -> ".join((*path, resource.name)))
        for dependency in resource.depends:
            visit(_BY_NAME[dependency], (*path, resource.name))
        done.add(resource.name)
        if resource.name in wanted:
            ordered.append(resource)

    for resource in GRAPH:
        visit(resource)
    return ordered


def rollback_order(selected=None):
    return list(reversed(load_order(selected)))


def _closure(selected):
    pending, seen = list(selected), []
    while pending:
        name = pending.pop()
        if name not in _BY_NAME:
            raise KeyError("unknown Cliniko resource: %s" % name)
        if name not in seen:
            seen.append(name)
            pending.extend(_BY_NAME[name].depends)
    return seen
