"""The Cliniko resources the migration reads, and what each one needs loaded first.

This graph is the single source of the order of work: the load order is a topological sort
of it, the rollback order is that sort reversed, and the run's progress lines follow it.
Every other fact about a resource is written down here too; its importer says which resource it
imports (``importer.register``).
"""

from dataclasses import dataclass

from .values import link_id


@dataclass(frozen=True)
class Resource:
    """One Cliniko resource: its API name, a label for people and its prerequisites."""

    name: str
    label: str
    depends: tuple = ()
    # Extra q[] filters the full read sends, e.g. to include archived or cancelled rows.
    list_filters: tuple = ()
    # Not loaded while a Cliniko practitioner has no decision recorded on the run.
    needs_practitioner_decisions: bool = False
    # How a record names its patient(s) (a sample run keeps those of its patients): "id" (it
    # is the patient), "patient_ids" (a list of ids), or the key of a patient link; "" for
    # reference data, which a sample migrates whole.
    patient_link: str = ""
    # Scoped through a parent record instead: (parent resource, key of the link to it).
    parent_link: tuple = ()
    # The Odoo model of its importer's flat values (of its main record when they are nested):
    # where the proposed field map sends a target without a "key/" prefix.
    model: str = ""
    # Cliniko's legacy list of removed rows, /<name>/deleted (id + deleted_at stubs, SPEC
    # §1.11), which a delta sync reads for what was deleted since.
    deleted_list: bool = False
    # Cliniko's legacy lists of archived / cancelled rows (full records), /<name>/<state>.
    state_lists: tuple = ()
    # Its list takes an updated_at filter, so a delta sync reads only what changed (SPEC.md
    # documents none for some lists, and Cliniko answers 400 to it there).
    updated_at_filter: bool = True
    # Its importer returns Odoo values for the record it binds, so verification compares
    # them field by field (the others render records into visits, messages or lead summaries,
    # checked by the reconciliation only).
    compared: bool = False
    # What its importer writes only when it creates a record, never on update, so people may
    # change it afterwards; verification does not compare it: (model, field) pairs.
    create_only: tuple = ()
    # Part of the patient's history on the lead: the history resources are read together,
    # merged by date, in the graph's order on equal timestamps.
    history: bool = False

    def create_only_fields(self, model):
        """The fields of ``model`` this resource's importer writes only on create."""
        return tuple(field for owner, field in self.create_only if owner == model)


def _only_on_create(model, *field_names):
    return tuple((model, name) for name in field_names)


# The lead's pipeline: a person moves the lead on from where the migration put it.
_PATIENT_LEAD_CREATE_ONLY = _only_on_create(
    "crm.lead", "type", "team_id", "stage_id", "user_id", "probability", "automated_probability"
)
# A visit's lead (appointments.py's docstring says why each one); its stage is written when its
# status moves, and only then (``_VisitImporter._update_lead``).
_VISIT_LEAD_CREATE_ONLY = _only_on_create(
    "crm.lead",
    "type",
    "team_id",
    "user_id",
    "expected_revenue",
    "probability",
    "automated_probability",
    "date_closed",
    "iap_enrich_done",
    "cliniko_connection_id",
)
_ARCHIVED = ("archived_at:*",)
_ARCHIVED_OR_DELETED = ("archived_at:*", "deleted_at:*")
_REFERENCE = ("businesses", "practitioners", "appointment_types")

GRAPH = (
    # Reference data: who, where, what.
    Resource(
        "businesses",
        "Locations",
        list_filters=_ARCHIVED,
        model="cliniko.location",
        deleted_list=True,
        state_lists=("archived",),
        compared=True,
        create_only=_only_on_create("cliniko.location", "connection_id", "company_id"),
    ),
    Resource("practitioners", "Practitioners", model="res.users"),
    Resource(
        "billable_items",
        "Billable items",
        list_filters=_ARCHIVED,
        model="product.template",
        compared=True,
        create_only=_only_on_create("product.template", "company_id", "type"),
    ),
    Resource(
        "products",
        "Products",
        list_filters=_ARCHIVED,
        model="product.template",
        compared=True,
        create_only=_only_on_create("product.template", "company_id", "type"),
    ),
    # A type is charged its default billable item (or product): those come first.
    Resource(
        "appointment_types",
        "Appointment types",
        depends=("billable_items", "products"),
        list_filters=_ARCHIVED,
        model="cliniko.appointment.type",
        state_lists=("archived",),
        compared=True,
        create_only=_only_on_create("cliniko.appointment.type", "connection_id", "company_id"),
    ),
    Resource("contacts", "Contacts", list_filters=_ARCHIVED, model="res.partner", compared=True),
    # People.
    Resource(
        "patients",
        "Patients",
        depends=("businesses", "contacts"),
        list_filters=_ARCHIVED,
        patient_link="id",
        model="res.partner",
        deleted_list=True,
        state_lists=("archived",),
        compared=True,
        create_only=_PATIENT_LEAD_CREATE_ONLY,
    ),
    # Visits.
    Resource(
        "individual_appointments",
        "Appointments",
        depends=("patients", *_REFERENCE),
        # deleted_at:* so deleted appointments are fetched and counted as skipped
        list_filters=("archived_at:*", "cancelled_at:*", "deleted_at:*"),
        needs_practitioner_decisions=True,
        patient_link="patient",
        model="crm.lead",
        deleted_list=True,
        state_lists=("cancelled",),
        create_only=_VISIT_LEAD_CREATE_ONLY,
    ),
    Resource(
        "group_appointments",
        "Group appointments",
        # patients: the session's calendar event invites every attendee
        depends=("patients", *_REFERENCE),
        list_filters=_ARCHIVED,
        needs_practitioner_decisions=True,
        patient_link="patient_ids",
        model="calendar.event",
        deleted_list=True,
    ),
    Resource(
        "attendees",
        "Group attendances",
        depends=("patients", "group_appointments"),
        list_filters=("archived_at:*", "cancelled_at:*"),
        needs_practitioner_decisions=True,
        patient_link="patient",
        model="crm.lead",
        deleted_list=True,
        state_lists=("cancelled",),
        create_only=_VISIT_LEAD_CREATE_ONLY,
    ),
    # History on the patient's lead.
    Resource(
        "treatment_notes",
        "Treatment notes",
        depends=("patients", "practitioners", "individual_appointments", "attendees"),
        # SPEC §2.10 lists no deleted_at filter for notes (Cliniko answers 400 to it): the
        # notes deleted in Cliniko are simply not listed
        list_filters=_ARCHIVED,
        patient_link="patient",
        model="mail.message",
        deleted_list=True,
        history=True,
    ),
    Resource(
        "communications",
        "Messages",
        depends=("patients",),
        # deleted messages are listed too, so they are counted (skipped)
        list_filters=_ARCHIVED_OR_DELETED,
        patient_link="patient",
        model="mail.message",
        history=True,
    ),
    Resource(
        "patient_forms",
        "Patient forms",
        depends=("patients",),
        list_filters=_ARCHIVED,
        patient_link="patient",
        model="mail.message",
        history=True,
    ),
    Resource(
        "patient_attachments",
        "Files",
        depends=("patients",),
        list_filters=_ARCHIVED,
        patient_link="patient",
        model="ir.attachment",
        compared=True,
    ),
    Resource(
        "medical_alerts",
        "Medical alerts",
        depends=("patients",),
        list_filters=_ARCHIVED,
        patient_link="patient",
        model="crm.lead",
        deleted_list=True,
    ),
    Resource(
        "patient_cases",
        "Patient cases",
        depends=("patients", "contacts"),
        list_filters=_ARCHIVED,
        patient_link="patient",
        model="crm.lead",
    ),
    Resource(
        "referral_sources",
        "Referral sources",
        depends=("patients", "contacts"),
        patient_link="patient",
        model="crm.lead",
        updated_at_filter=False,
    ),
    # Money.
    Resource(
        "invoices",
        "Invoices",
        depends=("patients", "individual_appointments", "attendees", "practitioners", "businesses"),
        list_filters=_ARCHIVED,
        patient_link="patient",
        model="cliniko.invoice",
        deleted_list=True,
        compared=True,
    ),
    Resource(
        "invoice_items",
        "Invoice items",
        depends=("invoices", "billable_items", "products"),
        list_filters=_ARCHIVED,
        parent_link=("invoices", "invoice"),
        model="cliniko.invoice.line",
        deleted_list=True,
        compared=True,
    ),
)

_BY_NAME = {resource.name: resource for resource in GRAPH}


def get(name):
    return _BY_NAME[name]


def patient_ids_of(resource, record):
    """The Cliniko patient ids a record of ``resource`` belongs to (empty: it names none)."""
    key = get(resource).patient_link
    if key == "id":
        return {str(record.get("id") or "")}
    if key == "patient_ids":
        return {str(pid) for pid in record.get("patient_ids") or []}
    found = link_id(record.get(key))
    return {found} if found else set()


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
