from . import (
    cliniko_audit_log,
    cliniko_connection,
    cliniko_external_ref,
    cliniko_migration_run,
    crm_lead,
    crm_stage,
    res_partner,
)
from . import cliniko_practitioner_decision
from . import cliniko_location
from . import cliniko_appointment_type
