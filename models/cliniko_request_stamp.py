"""One request a worker started on a Cliniko key: the shared budget's sliding window
(``migration/budget.py``). Written and read by that module's own SQL only; a row names its key
by a digest, never the key, and lasts one window."""

from odoo import fields, models


class ClinikoRequestStamp(models.Model):
    _name = "cliniko.request.stamp"
    _description = "Cliniko Request (shared budget)"
    _log_access = False

    key_digest = fields.Char(required=True, index=True)
    at = fields.Datetime(required=True, help="When the request started, by the database's clock.")
