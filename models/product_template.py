"""Cliniko identity on products: the billable item or product a template came from.

The addon depends on ``product`` only (no ``account``), so there is no tax model to link:
Cliniko's tax is kept as its name and rate, for reference.
"""

from odoo import fields, models

TAX_HELP = (
    "Cliniko's tax on this item, kept as text: Accounting is not a dependency of the "
    "migration, so no Odoo tax is linked. Set the Odoo tax by hand if you install it."
)


class ProductTemplate(models.Model):
    _inherit = "product.template"

    cliniko_billable_item_id = fields.Char(
        string="Cliniko Billable Item ID", index="btree_not_null", copy=False, readonly=True
    )
    cliniko_product_id = fields.Char(
        string="Cliniko Product ID", index="btree_not_null", copy=False, readonly=True
    )
    cliniko_item_type = fields.Char(
        string="Cliniko Item Type", help="Service, Product or Other (billable items)."
    )
    cliniko_tax_name = fields.Char(string="Cliniko Tax", help=TAX_HELP)
    cliniko_tax_rate = fields.Float(string="Cliniko Tax Rate (%)", help=TAX_HELP)
    cliniko_supplier_name = fields.Char(string="Cliniko Supplier")
    cliniko_serial_number = fields.Char(string="Cliniko Serial Number")
    cliniko_stock_level = fields.Integer(
        string="Cliniko Stock Level",
        help="Stock on hand in Cliniko when migrated (Inventory is not a dependency).",
    )
