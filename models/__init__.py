from . import (
    cliniko_appointment_type,
    cliniko_audit_log,
    cliniko_connection,
    cliniko_external_ref,
    cliniko_location,
    cliniko_migration_run,
    cliniko_practitioner_decision,
    crm_lead,
    crm_stage,
    res_partner,
)
from . import res_partner_contact, crm_lead_patient_details, cliniko_invoice
from . import cliniko_migration_run_appointments, crm_lead_appointment
from . import cliniko_migration_run_practitioners, product_template, res_users
from . import crm_lead_history, ir_attachment
