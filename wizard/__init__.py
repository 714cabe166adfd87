"""Transient dialogs of the admin workflow."""
