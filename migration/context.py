"""The write context of every migration write: nothing is sent, nobody is notified.

Every ORM call the migration makes goes through an environment built by ``silent_env`` so the
keys live in one place (see Odoo's ``mail_thread.py`` header for what each one stops).
"""

MIGRATION_CONTEXT = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
    "mail_auto_subscribe_no_notify": True,
    "mail_activity_quick_update": True,
    "mail_activity_automation_skip": True,
    # res.users: no invitation / password reset e-mail for placeholder users.
    "no_reset_password": True,
    # calendar.event: no invitation, no alarm, no "meeting scheduled" note.
    "no_mail_to_attendees": True,
    "dont_notify": True,
    "skip_contact_description": True,
    # ir.attachment: keep original images byte for byte.
    "image_no_postprocess": True,
    "active_test": False,
    "cliniko_migration": True,
}


def silent_env(env):
    """Return ``env`` with the migration context applied."""
    return env(context=dict(env.context, **MIGRATION_CONTEXT))
