"""The sign-off's XLSX download: built on request from the run, never stored.

Read as the logged-in user: a user without access to the run, or without the clinical group,
gets a 404 (nothing says the run exists).
"""

from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request

from ..models.cliniko_signoff import XLSX_MIMETYPE


class ClinikoSignOff(http.Controller):
    @http.route(
        "/cliniko_crm_migration/signoff/<int:run_id>.xlsx",
        type="http",
        auth="user",
        methods=["GET"],
    )
    def signoff_xlsx(self, run_id):
        run = request.env["cliniko.migration.run"].browse(run_id)
        try:
            run.check_access("read")
            content = run._cliniko_signoff_xlsx()
        except (AccessError, MissingError):
            raise request.not_found() from None
        filename = "cliniko-signoff-run-%s.xlsx" % run.id
        return request.make_response(
            content,
            headers=[
                ("Content-Type", XLSX_MIMETYPE),
                ("Content-Disposition", http.content_disposition(filename)),
                ("Cache-Control", "no-store"),
            ],
        )
