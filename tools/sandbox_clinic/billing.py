"""Generator: invoices with their items (taxes, concession discounts, statuses) and
product sales.
"""

from .formats import DAY, DEFAULT_NOW, MELBOURNE_OFFSET, full_name, iso, iso_date, money
from .schema import INVOICE_STATUSES


class Billing:
    """Invoices and their items."""

    def invoice(self, patient, t, biz, prac, lines, *, appointment=None, attendee=None):
        rng = self.rng
        now = DEFAULT_NOW
        t = min(t, now - 30)
        u = rng.random()
        status = 20 if u < 0.8 else 10 if u < 0.95 else 30 if u < 0.98 else 40
        closed = None
        if status in (20, 30):
            closed = t + int(rng.random() * (14 * DAY))
            if closed >= now:
                status, closed = 10, None
        concession = None
        if patient["concession_type_id"]:
            concession = self.res["concession_types"][patient["concession_type_id"]]
        invoice = self.add(
            "invoices",
            t,
            "invoices",
            updated=closed or t,
            issue_date=iso_date(t + MELBOURNE_OFFSET),
            status=status,
            status_description=INVOICE_STATUSES[status],
            closed_at=iso(closed),
            invoice_to=(patient["invoice_default_to"] or full_name(patient)),
            patient_extra_information=(
                patient["invoice_extra_information"]
                or (
                    (
                        "Medicare: %s %s"
                        % (patient["medicare"], patient["medicare_reference_number"])
                    ).strip()
                    if patient["medicare"]
                    else None
                )
            ),
            patient_id=patient["id"],
            business_id=biz["id"],
            practitioner_id=prac["id"] if prac else None,
            appointment_id=appointment,
            attendee_id=attendee,
        )
        net_total = tax_total = discount_total = 0
        self.last_items = []
        for kind, thing in lines:
            price = int(
                round(float(thing["price"] if kind == "item" else thing["price_ex_tax"]) * 100)
            )
            quantity = 1 if kind == "item" else 1 + (rng.random() < 0.2)
            rate = self.tax_rate.get(thing["tax_id"], 0)
            percent = 10 if concession is not None and kind == "item" else 0
            discount = price * quantity * percent // 100
            net = price * quantity - discount
            tax = (net * rate + 50) // 100
            item = self.add(
                "invoice_items",
                t,
                "invoices",
                name=thing["name"],
                code=thing["item_code"],
                quantity=quantity,
                unit_price=money(price),
                net_price=money(net),
                discount_percentage=money(percent * 100),
                discounted_amount=money(discount),
                is_monetary_discount=False,
                concession_type_name=concession["name"] if percent else "",
                tax_name=self.res["taxes"][thing["tax_id"]]["name"],
                tax_rate=money(rate * 100),
                tax_amount=money(tax),
                total_including_tax=money(net + tax),
                invoice_id=invoice["id"],
                billable_item_id=thing["id"] if kind == "item" else None,
                product_id=thing["id"] if kind == "product" else None,
            )
            self.last_items.append(item)
            net_total += net
            tax_total += tax
            discount_total += discount
        invoice.update(
            net_amount=money(net_total),
            tax_amount=money(tax_total),
            total_amount=money(net_total + tax_total),
            discounted_amount=money(discount_total),
        )
        if status == 40:
            invoice["notes"] = "Overpaid by card; credit kept on account."
        return invoice

    def product_sale(self, patient, t, biz):
        product = self.products[int(self.rng.random() * (len(self.products)))]
        return self.invoice(patient, t, biz, None, [("product", product)])
