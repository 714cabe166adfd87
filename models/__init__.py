from . import cliniko_connection
from . import cliniko_migration_run
from . import cliniko_external_ref
from . import cliniko_audit_log
from . import res_partner
from . import crm_lead
from . import crm_stage
