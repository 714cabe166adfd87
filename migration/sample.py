"""The sample migration: which patients, what hangs off them, and the field-level diff.

1. ``choose``: patients are picked so that every appointment type, practitioner and location
   seen in the clinic's appointments is covered: greedily, the patient whose appointments cover
   the most still-uncovered ones first (ties: the oldest patient), then the oldest patients
   fill the sample up to its size. Same clinic, same sample.
2. The run migrates all reference data and, of the patient data, only what belongs to the
   sample's patients (``Importer.in_scope``, by each resource's ``patient_link`` in the
   graph: records of other patients are not even counted, so the counters reconcile with the
   sample).
3. ``build_diff``: every field of every migrated record, source value -> expected Odoo value
   -> actual Odoo value, mismatches first. The expected value comes from the sign-off rules
   (``expectations``: Cliniko's record, read apart from the importers) for patients,
   appointments, history, files and invoices, from the importer's mapping under the confirmed
   map for the other fields (``verify.compare``; each line says which: ``basis``).
"""

import json

from . import graph
from .values import link_id, text
from .verify import compare, line_values

COVERAGE = (
    ("appointment_type", "type"),
    ("practitioner", "practitioner"),
    ("business", "location"),
)


def choose(patients, appointments, size):
    """The sample: a list of at most ``size`` patient ids.

    ``patients`` are the candidate ids, oldest first; ``appointments`` maps a patient id to the
    set of what its appointments cover (``("type", id)``, ``("practitioner", id)``...).
    """
    order = {pid: index for index, pid in enumerate(patients)}
    covers = {pid: set(appointments.get(pid) or ()) for pid in patients}
    uncovered = set().union(*covers.values()) if covers else set()
    chosen, taken = [], set()
    while uncovered and len(chosen) < size:
        best, gain = None, 0
        for pid in patients:
            if pid in taken:
                continue
            found = len(covers[pid] & uncovered)
            if found > gain:
                best, gain = pid, found
        if best is None:
            break
        chosen.append(best)
        taken.add(best)
        uncovered -= covers[best]
    for pid in patients:
        if len(chosen) >= size:
            break
        if pid not in taken:
            chosen.append(pid)
            taken.add(pid)
    return sorted(chosen, key=order.get)


def read_candidates(client, page_size=100):
    """``(patient ids oldest first, {patient id: covered set})`` read from Cliniko: the
    patients a run would migrate (not deleted, not merged away) and what their individual and
    group appointments cover (ids only; nothing is kept)."""
    patients = []
    resource = graph.get("patients")
    params = [("q[]", condition) for condition in resource.list_filters]
    params.append(("sort", "created_at:asc"))
    for page in client.iter_pages("/patients", params=params, per_page=page_size):
        for record in page.get("patients") or []:
            if record.get("deleted_at") or record.get("merged_at"):
                continue
            if not (text(record.get("first_name")) or text(record.get("last_name"))):
                continue
            patients.append(str(record["id"]))
    covered = {}
    for name in ("individual_appointments", "group_appointments"):
        params = [("q[]", "archived_at:*"), ("sort", "created_at:asc")]
        for page in client.iter_pages("/" + name, params=params, per_page=page_size):
            for record in page.get(name) or []:
                if record.get("deleted_at"):
                    continue
                kinds = {
                    (kind, link_id(record.get(key)))
                    for key, kind in COVERAGE
                    if link_id(record.get(key))
                }
                for pid in graph.patient_ids_of(name, record):
                    covered.setdefault(pid, set()).update(kinds)
    return patients, covered


def choose_for_run(run, client=None):
    """Choose the sample of ``run`` and store it; return the ids."""
    client = client if client is not None else run.connection_id._get_client()
    patients, covered = read_candidates(client)
    chosen = choose(patients, covered, run.sample_size)
    run.sample_patient_ids = json.dumps(chosen)
    run._log(
        "Sample of %s patients chosen (of %s), covering %s appointment types, practitioners "
        "and locations" % (len(chosen), len(patients), len(set().union(*covered.values())))
        if covered
        else "Sample of %s patients chosen (of %s)" % (len(chosen), len(patients))
    )
    return chosen


def build_diff(run):
    """Replace the sample's diff lines with a fresh comparison (see ``verify.compare``)."""
    run.sample_diff_ids.unlink()
    rows = []
    for sequence, row in enumerate(compare(run)):
        if not row["source_path"] and row["match"]:
            continue  # importer bookkeeping, not a field of the map
        rows.append(
            dict(
                line_values(run, row),
                sequence=sequence,
                source_value=row["source"],
                match=row["match"],
            )
        )
    run.env["cliniko.sample.diff"].create(rows)
    return len(rows)
