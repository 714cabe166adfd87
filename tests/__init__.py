from . import test_sandbox_strictness
from . import test_hostile_clinic
from . import test_cli_reliability
