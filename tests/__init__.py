from . import test_clinical_access
