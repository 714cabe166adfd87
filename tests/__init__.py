from . import test_sandbox_strictness
