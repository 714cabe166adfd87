from . import test_clinic_ui
