"""A Cliniko invoice and its lines, kept as a record of what was billed (no accounting).

Cliniko's API exposes invoices read-only and no payments: the status (Open, Paid, Closed, Open
credit) is all that is known about settlement, so what is outstanding is derived from it. The
addon does not depend on ``account``: these records carry no journal entries.

The patient's lead sums its invoices (count, total, outstanding); the appointment's lead shows
the invoice of the visit (number, status, total).
"""

from odoo import api, fields, models

INVOICE_STATUSES = [
    ("open", "Open"),
    ("paid", "Paid"),
    ("closed", "Closed"),
    ("open_credit", "Open credit"),
]
OPEN_STATUSES = ("open", "open_credit")


class ClinikoInvoice(models.Model):
    _name = "cliniko.invoice"
    _inherit = "cliniko.mirror.mixin"
    _description = "Cliniko Invoice"
    _order = "issue_date desc, id desc"

    name = fields.Char(compute="_compute_name", store=True)
    currency_id = fields.Many2one(related="company_id.currency_id", string="Currency")
    number = fields.Char(string="Invoice Number", index="btree_not_null")
    issue_date = fields.Date()
    status_code = fields.Integer(help="Cliniko's status code: 10, 20, 30 or 40.")
    status = fields.Selection(INVOICE_STATUSES)
    closed_at = fields.Datetime(help="When Cliniko closed the invoice (paid or written off).")
    total_amount = fields.Monetary(string="Total", help="Including tax.")
    net_amount = fields.Monetary(string="Net", help="Excluding tax.")
    tax_amount = fields.Monetary(string="Tax")
    discounted_amount = fields.Monetary(string="Discount", help="The total discount given.")
    paid_amount = fields.Monetary(
        string="Paid",
        compute="_compute_settlement",
        store=True,
        help="The total of an invoice Cliniko marks Paid, else 0. Cliniko's API has no "
        "payments, so part-payments are not known.",
    )
    outstanding_amount = fields.Monetary(
        string="Outstanding",
        compute="_compute_settlement",
        store=True,
        help="Cliniko's API has no payments: the total while the invoice is Open or Open "
        "credit, else 0 (Paid or Closed).",
    )
    invoice_to = fields.Text(string="Invoice To")
    patient_extra_information = fields.Text()
    notes = fields.Text()
    online_payment_url = fields.Char(string="Online Payment Link")
    cliniko_original_invoice_id = fields.Char(
        string="Cliniko Original Invoice ID",
        help="For a credit or reversal: the invoice it undoes.",
    )
    partner_id = fields.Many2one(
        "res.partner", string="Patient", index=True, ondelete="restrict", required=True
    )
    patient_lead_id = fields.Many2one(
        "crm.lead", string="Patient Lead", index="btree_not_null", ondelete="set null"
    )
    appointment_lead_id = fields.Many2one(
        "crm.lead", string="Appointment", index="btree_not_null", ondelete="set null"
    )
    practitioner_user_id = fields.Many2one("res.users", string="Practitioner", ondelete="set null")
    location_id = fields.Many2one("cliniko.location", string="Location", ondelete="set null")
    line_ids = fields.One2many("cliniko.invoice.line", "invoice_id", string="Lines")
    cliniko_created_at = fields.Datetime(string="Created in Cliniko", readonly=True)
    cliniko_updated_at = fields.Datetime(string="Updated in Cliniko", readonly=True)

    @api.depends("number", "cliniko_id")
    def _compute_name(self):
        for invoice in self:
            invoice.name = (
                "Invoice %s" % invoice.number
                if invoice.number
                else "Cliniko invoice %s" % (invoice.cliniko_id or "")
            )

    @api.depends("status", "total_amount")
    def _compute_settlement(self):
        for invoice in self:
            is_open = invoice.status in OPEN_STATUSES
            invoice.outstanding_amount = invoice.total_amount if is_open else 0.0
            invoice.paid_amount = invoice.total_amount if invoice.status == "paid" else 0.0


class ClinikoInvoiceLine(models.Model):
    _name = "cliniko.invoice.line"
    _description = "Cliniko Invoice Line"
    _order = "invoice_id, sequence, id"

    invoice_id = fields.Many2one("cliniko.invoice", required=True, ondelete="cascade", index=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    currency_id = fields.Many2one(related="invoice_id.currency_id", string="Currency")
    cliniko_id = fields.Char(string="Cliniko ID", index="btree_not_null", readonly=True)
    name = fields.Char(string="Description")
    code = fields.Char(string="Item Code")
    quantity = fields.Float(default=1.0)
    unit_price = fields.Monetary()
    net_price = fields.Monetary(string="Net", help="After discount, excluding tax.")
    discount_percentage = fields.Float(string="Discount (%)")
    discounted_amount = fields.Monetary(string="Discount")
    is_monetary_discount = fields.Boolean(
        string="Fixed Discount", help="The discount is a fixed amount, not a percentage."
    )
    concession_type_name = fields.Char(string="Concession")
    tax_name = fields.Char(string="Tax")
    tax_rate = fields.Float(string="Tax Rate (%)")
    tax_amount = fields.Monetary(string="Tax Amount")
    total_including_tax = fields.Monetary(string="Total (incl. tax)")
    product_tmpl_id = fields.Many2one(
        "product.template", string="Product", ondelete="set null", index="btree_not_null"
    )
    cliniko_created_at = fields.Datetime(string="Created in Cliniko", readonly=True)
    cliniko_updated_at = fields.Datetime(string="Updated in Cliniko", readonly=True)


class CrmLead(models.Model):
    _inherit = "crm.lead"

    # The summaries are stored computes over the invoices; ``readonly=False`` only so that the
    # patient importer can give a new lead its zeros and spare the compute (views show them
    # read-only).

    # On the patient's lead: every invoice of the patient.
    # Invoices are health data (what was treated, who pays): clinical users only.
    cliniko_invoice_ids = fields.One2many(
        "cliniko.invoice",
        "patient_lead_id",
        string="Cliniko Invoices",
        groups="cliniko_crm_migration.group_cliniko_clinical",
    )
    cliniko_invoice_count = fields.Integer(
        string="Invoices", compute="_compute_cliniko_invoice_summary", store=True, readonly=False
    )
    cliniko_invoiced_total = fields.Monetary(
        string="Invoiced",
        currency_field="company_currency",
        compute="_compute_cliniko_invoice_summary",
        store=True,
        readonly=False,
    )
    cliniko_invoiced_outstanding = fields.Monetary(
        string="Outstanding",
        currency_field="company_currency",
        compute="_compute_cliniko_invoice_summary",
        store=True,
        readonly=False,
        help="Sum of the totals of the Open and Open credit invoices (Cliniko's API has no "
        "payments).",
    )
    # On the appointment's lead: the invoice(s) of the visit.
    cliniko_visit_invoice_ids = fields.One2many(
        "cliniko.invoice",
        "appointment_lead_id",
        string="Visit Invoices",
        groups="cliniko_crm_migration.group_cliniko_clinical",
    )
    cliniko_visit_invoice_number = fields.Char(
        string="Invoice Number",
        compute="_compute_cliniko_visit_invoice",
        store=True,
        readonly=False,
    )
    cliniko_visit_invoice_status = fields.Selection(
        INVOICE_STATUSES,
        string="Invoice Status",
        compute="_compute_cliniko_visit_invoice",
        store=True,
        readonly=False,
        help="The status of the visit's latest invoice.",
    )
    cliniko_visit_invoice_total = fields.Monetary(
        string="Invoice Total",
        currency_field="company_currency",
        compute="_compute_cliniko_visit_invoice",
        store=True,
        readonly=False,
    )

    @api.depends(
        "cliniko_invoice_ids.active",
        "cliniko_invoice_ids.total_amount",
        "cliniko_invoice_ids.outstanding_amount",
    )
    def _compute_cliniko_invoice_summary(self):
        # filtered() below keeps only its own records for prefetching: read the invoices of
        # every lead at once first (one query, not one per lead)
        self.cliniko_invoice_ids.fetch(["active", "total_amount", "outstanding_amount"])
        for lead in self:
            invoices = lead.cliniko_invoice_ids.filtered("active")
            lead.cliniko_invoice_count = len(invoices)
            lead.cliniko_invoiced_total = sum(invoices.mapped("total_amount"))
            lead.cliniko_invoiced_outstanding = sum(invoices.mapped("outstanding_amount"))

    @api.depends(
        "cliniko_visit_invoice_ids.active",
        "cliniko_visit_invoice_ids.number",
        "cliniko_visit_invoice_ids.status",
        "cliniko_visit_invoice_ids.total_amount",
    )
    def _compute_cliniko_visit_invoice(self):
        self.cliniko_visit_invoice_ids.fetch(
            ["active", "number", "status", "total_amount", "issue_date"]
        )
        for lead in self:
            invoices = lead.cliniko_visit_invoice_ids.filtered("active").sorted(
                lambda invoice: (invoice.issue_date or fields.Date.today(), invoice.id)
            )
            lead.cliniko_visit_invoice_number = (
                ", ".join(invoice.number for invoice in invoices if invoice.number) or False
            )
            lead.cliniko_visit_invoice_status = invoices[-1:].status or False
            lead.cliniko_visit_invoice_total = sum(invoices.mapped("total_amount"))
