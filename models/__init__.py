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
