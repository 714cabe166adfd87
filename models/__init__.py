# Mixins first: Odoo builds the models in import order, and a model can inherit only one that
# is already built.
from . import cliniko_mixins

# isort: split
from . import (
    cliniko_appointment_type,
    cliniko_audit_log,
    cliniko_connection,
    cliniko_connection_delta,
    cliniko_external_ref,
    cliniko_field_map,
    cliniko_invoice,
    cliniko_location,
    cliniko_migration_run,
    cliniko_migration_run_appointments,
    cliniko_migration_run_chatter,
    cliniko_migration_run_delta,
    cliniko_migration_run_map,
    cliniko_migration_run_practitioners,
    cliniko_migration_run_practitioners_ui,
    cliniko_practitioner_decision,
    cliniko_request_stamp,
    cliniko_signoff,
    cliniko_source_audit,
    cliniko_sync_conflict,
    cliniko_verification,
    crm_lead,
    crm_lead_appointment,
    crm_lead_history,
    crm_lead_patient_details,
    crm_stage,
    ir_attachment,
    phone_memo,
    product_template,
    res_partner,
    res_partner_contact,
    res_users,
)

# isort: split
# After the models it extends (leads, events, users, connections).
from . import cliniko_clinic_ui
from . import cliniko_migration_overview
from . import crm_lead_patient_form

# isort: split
# After the run's other extensions: Verify and Roll Back queued from the web client.
from . import cliniko_migration_run_jobs

# isort: split
# After the maps and runs it extends: the files of the headless command.
from . import cliniko_headless

# isort: split
# Last: its run extension overrides the run's others for Data Export runs.
from . import cliniko_export
