"""Transient dialogs of the admin workflow."""

from . import cliniko_rollback_wizard
