"""Cliniko invoices -> ``cliniko.invoice``; invoice items -> ``cliniko.invoice.line``.

A record of what was billed, not accounting: no journal entries (the addon does not depend on
``account``). Money arrives as decimal strings and is read with ``Decimal``. Each invoice is
linked to the patient (partner and lead), to the visit it bills (the legacy
``/appointments/{id}`` link carries the individual appointment's id; a group attendance is
found through the ``attendee`` link), to the practitioner's user and to the location. A link
whose record was not migrated is left empty and named in the audit line.

The visit's lead shows the invoice (number, status, total) and its ``expected_revenue``
becomes the invoiced total; that write is audited with the previous value so a rollback puts
it back. The patient's lead sums its invoices (count, total, outstanding). Cliniko's API has no
payments: outstanding is the total while an invoice is Open or Open credit.

Deleted invoices and items are counted and skipped; an invoice whose patient was not migrated,
or an item whose invoice was not, fails with that reason.
"""

from decimal import Decimal, InvalidOperation

from odoo.tools import float_compare

from .importer import Importer, MappingError, register
from .patient_details import ListsDeletedToo
from .snapshots import snapshot
from .values import link_id, parse_date, parse_datetime, text

# Cliniko's invoice status codes -> ``cliniko.invoice.status``.
STATUS_BY_CODE = {10: "open", 20: "paid", 30: "closed", 40: "open_credit"}


def money(value):
    """A Cliniko decimal (string or number) as a float, read exactly through Decimal."""
    if value is None or value == "":
        return 0.0
    try:
        return float(Decimal(str(value).strip()))
    except InvalidOperation:
        raise MappingError("amount %r is not a number" % (value,)) from None


def _multiline(value):
    value = text(value)
    return value.replace("\r\n", "\n").replace("\r", "\n") if value else False


def _status_code(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def map_invoice(record):
    """The pure part of an invoice's values (links are resolved by the importer)."""
    code = _status_code(record.get("status"))
    number = record.get("number")
    return {
        "cliniko_id": str(record["id"]),
        "number": str(number) if number not in (None, "") else False,
        "issue_date": parse_date(record.get("issue_date")),
        "status_code": code,
        "status": STATUS_BY_CODE.get(code, False),
        "closed_at": parse_datetime(record.get("closed_at")),
        "total_amount": money(record.get("total_amount")),
        "net_amount": money(record.get("net_amount")),
        "tax_amount": money(record.get("tax_amount")),
        "discounted_amount": money(record.get("discounted_amount")),
        "invoice_to": _multiline(record.get("invoice_to")),
        "patient_extra_information": _multiline(record.get("patient_extra_information")),
        "notes": _multiline(record.get("notes")),
        "online_payment_url": text(record.get("online_payment_url")) or False,
        "cliniko_original_invoice_id": link_id(record.get("original_invoice")) or False,
        "active": not record.get("archived_at"),
        "cliniko_created_at": parse_datetime(record.get("created_at")),
        "cliniko_updated_at": parse_datetime(record.get("updated_at")),
    }


def map_invoice_item(record):
    """The pure part of an invoice line's values."""
    return {
        "cliniko_id": str(record["id"]),
        "name": text(record.get("name")) or False,
        "code": text(record.get("code")) or False,
        "quantity": money(record.get("quantity") if record.get("quantity") is not None else 1),
        "unit_price": money(record.get("unit_price")),
        "net_price": money(record.get("net_price")),
        "discount_percentage": money(record.get("discount_percentage")),
        "discounted_amount": money(record.get("discounted_amount")),
        "is_monetary_discount": bool(record.get("is_monetary_discount")),
        "concession_type_name": text(record.get("concession_type_name")) or False,
        "tax_name": text(record.get("tax_name")) or False,
        "tax_rate": money(record.get("tax_rate")),
        "tax_amount": money(record.get("tax_amount")),
        "total_including_tax": money(record.get("total_including_tax")),
        "active": not record.get("archived_at"),
        "cliniko_created_at": parse_datetime(record.get("created_at")),
        "cliniko_updated_at": parse_datetime(record.get("updated_at")),
    }


def _lead_of(record):
    """The CRM lead a bound appointment record stands for (None when it is not a lead)."""
    if record is None:
        return None
    if record._name == "crm.lead":
        return record
    for name in ("opportunity_id", "lead_id"):
        if name in record._fields and record[name]._name == "crm.lead":
            return record[name] or None
    return None


def _user_of(record):
    if record is None:
        return None
    if record._name == "res.users":
        return record
    if "user_id" in record._fields and record.user_id._name == "res.users":
        return record.user_id or None
    return None


def _note(item, message):
    item.message = "; ".join(filter(None, [item.message, message]))


def _links(record, *names):
    return {name: link_id(record.get(name)) for name in names}


@register
class InvoiceImporter(ListsDeletedToo, Importer):
    resource = "invoices"
    model = "cliniko.invoice"

    def prepare(self, items):
        wanted = {"patient": set(), "appointment": set(), "attendee": set()}
        wanted.update(practitioner=set(), business=set())
        for item in items:
            for name, cliniko_id in _links(item.source, *wanted).items():
                if cliniko_id:
                    wanted[name].add(cliniko_id)
        records = self.runner.records
        self.patients = records("patients", list(wanted["patient"]))
        partners = self.env["res.partner"].union(*self.patients.values())
        self.patient_leads = self.env["crm.lead"]._cliniko_patient_leads(partners)
        self.appointments = records("individual_appointments", list(wanted["appointment"]))
        self.attendees = records("attendees", list(wanted["attendee"]))
        self.practitioners = records("practitioners", list(wanted["practitioner"]))
        self.businesses = records("businesses", list(wanted["business"]))

    def map(self, item):
        record = item.source
        links = _links(record, "patient", "appointment", "attendee", "practitioner", "business")
        if not links["patient"]:
            raise MappingError("the invoice has no patient")
        partner = self.patients.get(links["patient"])
        if not partner:
            raise MappingError("patient %s is not migrated" % links["patient"])
        values = map_invoice(record)
        if record.get("status") not in (None, "") and not values["status"]:
            _note(item, "unknown invoice status %r" % record.get("status"))
        lead = _lead_of(self.appointments.get(links["appointment"]))
        if not lead:
            lead = _lead_of(self.attendees.get(links["attendee"]))
        if not lead and (links["appointment"] or links["attendee"]):
            _note(
                item,
                "appointment %s not migrated; invoice not linked to a visit"
                % (links["appointment"] or "attendee %s" % links["attendee"]),
            )
        user = _user_of(self.practitioners.get(links["practitioner"]))
        if links["practitioner"] and not user:
            _note(item, "practitioner %s has no Odoo user; left empty" % links["practitioner"])
        location = self.businesses.get(links["business"])
        if location is not None and location._name != "cliniko.location":
            location = None
        if links["business"] and not location:
            _note(item, "location %s not migrated; left empty" % links["business"])
        patient_lead = self.patient_leads.get(partner.id)
        values.update(
            connection_id=self.runner.connection.id,
            partner_id=partner.id,
            patient_lead_id=patient_lead.id if patient_lead else False,
            appointment_lead_id=lead.id if lead else False,
            practitioner_user_id=user.id if user else False,
            location_id=location.id if location else False,
        )
        return values

    def create_batch(self, items):
        super().create_batch(items)
        self._set_visit_revenue([(item, item.target.appointment_lead_id) for item in items])

    def update_one(self, item, invoice):
        previous_lead = invoice.appointment_lead_id
        if not self.write_changes(item, invoice, item.values):
            return False
        self._set_visit_revenue([(item, previous_lead), (item, invoice.appointment_lead_id)])
        return True

    def forget(self, item, invoice):
        super().forget(item, invoice)
        self._set_visit_revenue([(item, invoice.appointment_lead_id)])

    def _set_visit_revenue(self, pairs):
        """Make each visit lead's expected revenue the total of its invoices; audited with
        the previous value on the last invoice of the page that touched the lead."""
        last = {}
        for item, lead in pairs:
            if lead:
                last[lead] = item
        # One recordset, so the invoices of every lead are read in one query.
        for lead in self.env["crm.lead"].union(*last):
            item = last[lead]
            invoices = lead.cliniko_visit_invoice_ids.filtered("active")
            total = sum(invoices.mapped("total_amount"))
            digits = lead.company_currency.decimal_places if lead.company_currency else 2
            if float_compare(lead.expected_revenue, total, precision_digits=digits) == 0:
                continue
            previous = snapshot(lead, ["expected_revenue"])
            lead.write({"expected_revenue": total})
            item.audit(
                "update", lead, "expected revenue set to the invoiced total", {"values": previous}
            )


@register
class InvoiceItemImporter(ListsDeletedToo, Importer):
    resource = "invoice_items"
    model = "cliniko.invoice.line"

    def prepare(self, items):
        wanted = {"invoice": set(), "billable_item": set(), "product": set()}
        for item in items:
            for name, cliniko_id in _links(item.source, *wanted).items():
                if cliniko_id:
                    wanted[name].add(cliniko_id)
        records = self.runner.records
        self.invoices = records("invoices", list(wanted["invoice"]))
        # A line's currency is its invoice's company's: read the page's invoices at once, or
        # create() reads each line's invoice on its own (one query a line).
        self.env["cliniko.invoice"].browse([i.id for i in self.invoices.values()]).fetch(
            ["company_id"]
        )
        self.billable_items = records("billable_items", list(wanted["billable_item"]))
        self.products = records("products", list(wanted["product"]))

    def map(self, item):
        record = item.source
        links = _links(record, "invoice", "billable_item", "product")
        if not links["invoice"]:
            raise MappingError("the invoice item has no invoice")
        invoice = self.invoices.get(links["invoice"])
        if not invoice:
            raise MappingError("invoice %s is not migrated" % links["invoice"])
        values = map_invoice_item(record)
        product = None
        if links["billable_item"]:
            product = self.billable_items.get(links["billable_item"])
            source = "billable item %s" % links["billable_item"]
        elif links["product"]:
            product = self.products.get(links["product"])
            source = "product %s" % links["product"]
        if product is not None and product._name == "product.product":
            product = product.product_tmpl_id
        if product is not None and product._name != "product.template":
            product = None
        if (links["billable_item"] or links["product"]) and not product:
            _note(item, "%s not migrated; line not linked to a product" % source)
        values.update(
            invoice_id=invoice.id,
            product_tmpl_id=product.id if product else False,
        )
        return values

    def update_one(self, item, line):
        return self.write_changes(item, line, item.values)
