from . import test_sandbox_strictness
from . import test_hostile_clinic
from . import test_cli_reliability
from . import test_final_sync_form
from . import test_rollback_safety
