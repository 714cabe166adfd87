"""Cliniko billable items -> service ``product.template``; Cliniko products -> goods
(``consu``) ``product.template``.

``map_billable_item`` and ``map_product`` are the pure mapping rules (no Odoo). Prices are
Cliniko's decimal strings. Accounting is not a dependency of the addon, so a Cliniko tax cannot
become an Odoo tax: its name and rate (read once per run from ``/taxes``) are kept on the
product as text.
"""

from decimal import Decimal, InvalidOperation

from odoo.tools import plaintext2html

from .importer import MappingError, register
from .reference import OneToOneImporter, to_integer
from .values import link_id, text


def parse_money(value, label):
    """A Cliniko decimal string (or number) as a float; MappingError when it is not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0.0
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise MappingError("%s %r is not a number" % (label, value)) from None
    if not amount.is_finite():
        raise MappingError("%s %r is not a number" % (label, value))
    return float(amount)


def tax_values(record, taxes):
    """``({"cliniko_tax_name", "cliniko_tax_rate"}, warnings)`` for the record's tax link."""
    tax_id = link_id(record.get("tax"))
    if not tax_id:
        return {"cliniko_tax_name": False, "cliniko_tax_rate": 0.0}, []
    tax = taxes.get(tax_id)
    if tax is None:
        return (
            {"cliniko_tax_name": False, "cliniko_tax_rate": 0.0},
            ["tax %s is not in Cliniko's list of taxes; not kept" % tax_id],
        )
    rate = tax.get("rate") if tax.get("rate") not in (None, "") else tax.get("amount")
    return {
        "cliniko_tax_name": text(tax.get("name")) or False,
        "cliniko_tax_rate": parse_money(rate, "tax rate"),
    }, []


def map_billable_item(record, taxes):
    """Map one Cliniko billable item to ``(values, warnings)``."""
    name = text(record.get("name"))
    if not name:
        raise MappingError("the billable item has no name")
    taxed, warnings = tax_values(record, taxes)
    values = dict(
        taxed,
        name=name,
        type="service",
        default_code=text(record.get("item_code")) or False,
        list_price=parse_money(record.get("price"), "price"),
        cliniko_billable_item_id=str(record["id"]),
        cliniko_item_type=text(record.get("item_type")) or False,
        active=not record.get("archived_at"),
    )
    return values, warnings


def map_product(record, taxes):
    """Map one Cliniko product to ``(values, warnings, notes)``; the notes stay plain text."""
    name = text(record.get("name"))
    if not name:
        raise MappingError("the product has no name")
    taxed, warnings = tax_values(record, taxes)
    values = dict(
        taxed,
        name=name,
        type="consu",
        default_code=text(record.get("item_code")) or False,
        list_price=parse_money(record.get("price_ex_tax"), "price"),
        standard_price=parse_money(record.get("cost_price"), "cost price"),
        cliniko_product_id=str(record["id"]),
        cliniko_supplier_name=text(record.get("product_supplier_name")) or False,
        cliniko_serial_number=text(record.get("serial_number")) or False,
        cliniko_stock_level=to_integer(record.get("stock_level")),
        active=not record.get("archived_at"),
    )
    return values, warnings, text(record.get("notes"))


class ProductTemplateImporter(OneToOneImporter):
    """Shared by billable items and products: the taxes, the company, the create-only type."""

    model = "product.template"

    def before_resource(self):
        self._taxes = {str(tax.get("id")): tax for tax in self.runner.fetch_all("/taxes")}

    def owner_values(self):
        return {"company_id": self.runner.connection.company_id.id}

    def _finish_values(self, item, values, warnings):
        item.message = "; ".join(warnings)
        return dict(values, **self.owner_values())


@register
class BillableItemImporter(ProductTemplateImporter):
    """Cliniko billable items (what appointments are charged) -> service products."""

    resource = "billable_items"

    def map(self, item):
        values, warnings = map_billable_item(item.source, self._taxes)
        return self._finish_values(item, values, warnings)


@register
class ProductImporter(ProductTemplateImporter):
    """Cliniko products (goods sold over the counter) -> goods products."""

    resource = "products"

    def map(self, item):
        values, warnings, notes = map_product(item.source, self._taxes)
        values["description"] = plaintext2html(notes) if notes else False
        return self._finish_values(item, values, warnings)
