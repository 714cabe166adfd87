"""Patient files from Cliniko: when they were uploaded there and the checksum verified here.

``create_date`` cannot be set through the ORM, so the original upload time is kept in a field
of our own; ``cliniko_sha256`` is the SHA-256 of the bytes downloaded from Cliniko, checked
against what Odoo stored before the file counts as migrated.
"""

from odoo import fields, models


class IrAttachment(models.Model):
    _inherit = "ir.attachment"

    cliniko_created_at = fields.Datetime(
        string="Uploaded in Cliniko", readonly=True, copy=False, index="btree_not_null"
    )
    cliniko_archived_at = fields.Datetime(string="Archived in Cliniko", readonly=True, copy=False)
    # Same restriction as on history messages (security/cliniko_security.xml).
    cliniko_restricted = fields.Boolean(string="Restricted in Cliniko", readonly=True, copy=False)
    cliniko_restricted_user_id = fields.Many2one(
        "res.users", string="Restricted To", readonly=True, copy=False, ondelete="set null"
    )
    cliniko_sha256 = fields.Char(
        string="SHA-256 (verified)",
        readonly=True,
        copy=False,
        help="SHA-256 of the file downloaded from Cliniko; the stored file was checked against it.",
    )
