"""Transient dialogs of the admin workflow."""

from . import cliniko_export_import_wizard, cliniko_rollback_wizard
