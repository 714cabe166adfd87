"""Cliniko invoices and invoice items -> cliniko.invoice / cliniko.invoice.line, linked to the
patient, the visit, the practitioner and the location; summaries on the leads."""

from decimal import Decimal

from .common import ClinikoSandboxCase

INVOICE_RESOURCES = "invoices,invoice_items"
# What invoices link to, migrated first by a run of their own.
PREREQUISITES = "individual_appointments,group_appointments,attendees,billable_items,products"
STATUSES = {10: "open", 20: "paid", 30: "closed", 40: "open_credit"}
CENT = Decimal("0.01")


def cents(value):
    """A money value (Cliniko's decimal string or an Odoo float) as Decimal cents."""
    return Decimal(str(value or 0)).quantize(CENT)


def link(record, name):
    value = record.get(name)
    return value["links"]["self"].rsplit("/", 1)[1] if value else None


class TestInvoiceMigration(ClinikoSandboxCase):
    """What invoices link to in a first run, then the invoices in a run of their own (so a
    rollback of that run undoes the invoices only), once for the class: tests read the result,
    or change Cliniko and run the invoices again in their body (each in a savepoint)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clinic = cls.sandbox.clinic
        cls.prerequisites_run = cls.run_once(resources=PREREQUISITES)
        # what staff or the appointment importer had set on a billed visit
        cls.revenue_source = next(s for s in cls.invoices().values() if link(s, "appointment"))
        cls.visit_lead(cls.revenue_source).expected_revenue = 1.5
        cls.counts_before = cls.row_counts()
        cls.revenue_before = {
            lead.id: lead.expected_revenue for lead in cls.env["crm.lead"].search([])
        }
        cls.invoice_run = cls.run_once(resources=INVOICE_RESOURCES)

    # -- helpers -----------------------------------------------------------------------------
    @classmethod
    def run_once(cls, **values):
        """``run_to_the_end`` for ``setUpClass``: practitioners get placeholder users."""
        values.setdefault("unmatched_practitioners", "placeholder")
        run = cls.start_run(**values)
        assert run.state == "done", run.error_message
        for line in run.resource_ids:
            outcomes = ("created", "updated", "unchanged", "skipped", "failed")
            assert line.fetched == sum(line[name] for name in outcomes), (
                "counters of %s do not add up" % line.resource
            )
        return run

    def run_to_the_end(self, **values):
        values.setdefault("unmatched_practitioners", "placeholder")
        run = self.migrate(**values)
        for _attempt in range(3):
            if run.state != "blocked":
                break
            run.practitioner_decision_ids.filtered(lambda d: not d.decision).write(
                {"decision": "placeholder"}
            )
            run.action_start()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertCountersAddUp(run)
        return run

    @classmethod
    def invoices(cls, deleted=False):
        return {
            iid: cls.clinic.get("invoices", iid)
            for iid, record in cls.clinic.resources["invoices"].items()
            if bool(record["deleted_at"]) == deleted
        }

    def items(self, deleted=False):
        return {
            iid: self.clinic.get("invoice_items", iid)
            for iid, record in self.clinic.resources["invoice_items"].items()
            if bool(record["deleted_at"]) == deleted
        }

    def invoice_of(self, cliniko_id):
        return (
            self.env["cliniko.invoice"]
            .with_context(active_test=False)
            .search([("cliniko_id", "=", cliniko_id)])
        )

    def line_of(self, cliniko_id):
        return (
            self.env["cliniko.invoice.line"]
            .with_context(active_test=False)
            .search([("cliniko_id", "=", cliniko_id)])
        )

    @classmethod
    def bound(cls, resource, cliniko_id):
        """The Odoo record another importer bound to a Cliniko record (empty if none)."""
        ref = cls.env["cliniko.external.ref"].search(
            [
                ("connection_id", "=", cls.connection.id),
                ("resource", "=", resource),
                ("cliniko_id", "=", cliniko_id),
            ]
        )
        if not ref:
            return None
        return cls.env[ref.res_model].browse(ref.res_id)

    def patient_partner(self, patient_id):
        return self.migrated_partners().filtered(lambda p: p.cliniko_patient_id == patient_id)

    def patient_lead(self, patient_id):
        return self.patient_leads().filtered(lambda lead: lead.cliniko_patient_id == patient_id)

    @classmethod
    def visit_lead(cls, invoice):
        """The appointment lead an invoice bills: its individual appointment, else its
        group attendance (the appointment importer's bindings)."""
        for resource, name in (
            ("individual_appointments", "appointment"),
            ("attendees", "attendee"),
        ):
            record = cls.bound(resource, link(invoice, name)) if link(invoice, name) else None
            if record is not None and record._name == "crm.lead":
                return record
        return cls.env["crm.lead"]

    def plant(self, resource, **fields):
        record = self.clinic.create(resource, **fields)
        self.addCleanup(self._remove, resource, record["id"])
        return record

    def _remove(self, resource, record_id):
        self.clinic.resources[resource].pop(record_id, None)
        self.clinic.touch()

    @classmethod
    def row_counts(cls):
        return {
            model: cls.env[model].with_context(active_test=False).search_count([])
            for model in (
                "cliniko.invoice",
                "cliniko.invoice.line",
                "crm.lead",
                "res.partner",
                "cliniko.external.ref",
            )
        }

    # -- tests -------------------------------------------------------------------------------
    def test_counters_match_what_cliniko_lists_with_deleted_ones_skipped(self):
        run = self.invoice_run
        summary = run.summary()["resources"]
        for resource, active, deleted in (
            ("invoices", self.invoices(), self.invoices(deleted=True)),
            ("invoice_items", self.items(), self.items(deleted=True)),
        ):
            with self.subTest(resource=resource):
                self.assertTrue(deleted, "the sandbox clinic should hold deleted %s" % resource)
                counts = summary[resource]
                self.assertEqual(counts["fetched"], len(active) + len(deleted))
                self.assertEqual(counts["created"], len(active))
                self.assertEqual(counts["skipped"], len(deleted))
                self.assertEqual(counts["failed"], 0)
                for cliniko_id in deleted:
                    line = run.audit_ids.filtered(lambda a, c=cliniko_id: a.cliniko_id == c)
                    self.assertEqual((line.action, line.message), ("skip", "deleted in Cliniko"))

    def test_invoices_are_copied_field_by_field_with_money_as_decimals(self):
        for iid, source in self.invoices().items():
            invoice = self.invoice_of(iid)
            patient_id = link(source, "patient")
            with self.subTest(invoice=iid):
                self.assertEqual(len(invoice), 1)
                self.assertEqual(invoice.number, str(source["number"]))
                self.assertEqual(invoice.name, "Invoice %s" % source["number"])
                self.assertEqual(str(invoice.issue_date), source["issue_date"])
                self.assertEqual(invoice.status_code, source["status"])
                self.assertEqual(invoice.status, STATUSES[source["status"]])
                labels = dict(invoice._fields["status"].selection)
                self.assertEqual(labels[invoice.status], source["status_description"])
                closed = invoice.closed_at and invoice.closed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
                self.assertEqual(closed or None, source["closed_at"])
                for field in ("total_amount", "net_amount", "tax_amount", "discounted_amount"):
                    self.assertEqual(cents(invoice[field]), cents(source[field]), field)
                self.assertEqual(invoice.invoice_to or None, source["invoice_to"])
                self.assertEqual(
                    invoice.patient_extra_information or None,
                    (source["patient_extra_information"] or "").replace("\r\n", "\n") or None,
                )
                self.assertEqual(invoice.notes or None, source["notes"])
                self.assertEqual(invoice.partner_id, self.patient_partner(patient_id))
                self.assertEqual(invoice.patient_lead_id, self.patient_lead(patient_id))
                self.assertEqual(
                    invoice.location_id, self.bound("businesses", link(source, "business"))
                )
                practitioner = link(source, "practitioner")
                user = self.bound("practitioners", practitioner) if practitioner else None
                self.assertEqual(invoice.practitioner_user_id, user or self.env["res.users"])
                self.assertEqual(invoice.currency_id, self.env.company.currency_id)
                self.assertEqual(
                    invoice.cliniko_created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), source["created_at"]
                )
                self.assertTrue(invoice.active)

    def test_invoices_link_the_visit_they_bill(self):
        individual = group = 0
        for iid, source in self.invoices().items():
            invoice = self.invoice_of(iid)
            expected = self.visit_lead(source)
            with self.subTest(invoice=iid):
                self.assertEqual(invoice.appointment_lead_id, expected)
                if link(source, "appointment") or link(source, "attendee"):
                    self.assertTrue(expected, "the billed visit should be migrated")
                    self.assertEqual(expected.cliniko_lead_kind, "appointment")
                    self.assertEqual(expected.partner_id, invoice.partner_id)
                    individual += bool(link(source, "appointment"))
                    group += not link(source, "appointment")
        self.assertTrue(individual)
        self.assertTrue(group, "the sandbox clinic should hold invoiced group attendances")

    def test_an_invoice_without_appointment_has_no_visit_and_no_complaint(self):
        iid = self.clinic.edge_cases["invoice_without_appointment"]
        run = self.invoice_run
        invoice = self.invoice_of(iid)
        self.assertFalse(invoice.appointment_lead_id)
        self.assertFalse(invoice.practitioner_user_id)
        line = run.audit_ids.filtered(lambda a: a.cliniko_id == iid and a.action == "create")
        self.assertFalse(line.message)

    def test_invoice_lines_are_copied_field_by_field_with_their_product(self):
        with_product = 0
        for iid, source in self.items().items():
            line = self.line_of(iid)
            with self.subTest(item=iid):
                self.assertEqual(len(line), 1)
                self.assertEqual(line.invoice_id, self.invoice_of(link(source, "invoice")))
                self.assertEqual(line.name, source["name"])
                self.assertEqual(line.code or None, source["code"] or None)
                self.assertEqual(Decimal(str(line.quantity)), Decimal(str(source["quantity"])))
                for field in (
                    "unit_price",
                    "net_price",
                    "discounted_amount",
                    "tax_amount",
                    "total_including_tax",
                ):
                    self.assertEqual(cents(line[field]), cents(source[field]), field)
                self.assertEqual(
                    cents(line.discount_percentage), cents(source["discount_percentage"])
                )
                self.assertEqual(cents(line.tax_rate), cents(source["tax_rate"]))
                self.assertEqual(line.tax_name or None, source["tax_name"])
                self.assertEqual(line.concession_type_name or "", source["concession_type_name"])
                self.assertEqual(line.is_monetary_discount, source["is_monetary_discount"])
                for resource, name in (
                    ("billable_items", "billable_item"),
                    ("products", "product"),
                ):
                    if link(source, name):
                        product = self.bound(resource, link(source, name))
                        self.assertIsNotNone(product, "the %s should be migrated" % name)
                        self.assertEqual(line.product_tmpl_id, product)
                        with_product += 1
        self.assertTrue(with_product)

    def test_lines_add_up_to_their_invoice(self):
        for iid in self.invoices():
            invoice = self.invoice_of(iid)
            total = sum(
                (cents(amount) for amount in invoice.line_ids.mapped("total_including_tax")),
                Decimal(0),
            )
            self.assertEqual(total, cents(invoice.total_amount))

    def test_outstanding_is_the_total_of_open_invoices_only(self):
        seen = set()
        for iid, source in self.invoices().items():
            invoice = self.invoice_of(iid)
            is_open = source["status"] in (10, 40)
            seen.add(source["status"])
            with self.subTest(invoice=iid):
                expected = cents(source["total_amount"]) if is_open else Decimal("0.00")
                self.assertEqual(cents(invoice.outstanding_amount), expected)
                paid = cents(source["total_amount"]) if source["status"] == 20 else Decimal("0.00")
                self.assertEqual(cents(invoice.paid_amount), paid)
        self.assertTrue({10, 20} <= seen)

    def test_the_patient_lead_sums_its_invoices(self):
        by_patient = {}
        for source in self.invoices().values():
            by_patient.setdefault(link(source, "patient"), []).append(source)
        self.assertGreater(len(by_patient), 1)
        for patient_id, sources in by_patient.items():
            lead = self.patient_lead(patient_id)
            with self.subTest(patient=patient_id):
                self.assertEqual(lead.cliniko_invoice_count, len(sources))
                total = sum((cents(s["total_amount"]) for s in sources), Decimal(0))
                self.assertEqual(cents(lead.cliniko_invoiced_total), total)
                outstanding = sum(
                    (cents(s["total_amount"]) for s in sources if s["status"] in (10, 40)),
                    Decimal(0),
                )
                self.assertEqual(cents(lead.cliniko_invoiced_outstanding), outstanding)

    def test_the_visit_lead_shows_its_invoice_and_expects_the_invoiced_total(self):
        by_visit = {}
        for source in self.invoices().values():
            lead = self.visit_lead(source)
            if lead:
                by_visit.setdefault(lead, []).append(source)
        self.assertTrue(by_visit)
        for lead, sources in by_visit.items():
            with self.subTest(lead=lead.id):
                total = sum((cents(s["total_amount"]) for s in sources), Decimal(0))
                self.assertEqual(cents(lead.expected_revenue), total)
                self.assertEqual(cents(lead.cliniko_visit_invoice_total), total)
                latest = max(sources, key=lambda s: (s["issue_date"], s["created_at"]))
                self.assertEqual(lead.cliniko_visit_invoice_status, STATUSES[latest["status"]])
                self.assertEqual(
                    set(lead.cliniko_visit_invoice_number.split(", ")),
                    {str(s["number"]) for s in sources},
                )

    def test_expected_revenue_is_audited_and_the_rollback_puts_it_back(self):
        # setUpClass set 1.5 between the two runs; the class's invoice run is rolled back here
        source, run = self.revenue_source, self.invoice_run
        lead = self.visit_lead(source)
        self.assertEqual(cents(lead.expected_revenue), cents(source["total_amount"]))
        line = run.audit_ids.filtered(
            lambda a: a.action == "update" and a.res_model == "crm.lead" and a.res_id == lead.id
        )
        self.assertEqual(line.previous_values["values"], {"expected_revenue": 1.5})
        run.action_rollback()
        self.assertEqual(lead.expected_revenue, 1.5)

    def test_an_invoice_whose_patient_is_not_migrated_fails_and_so_do_its_items(self):
        ghost = self.clinic.edge_cases["deleted_patient"]
        business = next(iter(self.clinic.resources["businesses"]))
        invoice = self.plant("invoices", number=999, patient_id=ghost, business_id=business)
        item = self.plant("invoice_items", name="Orphan line", invoice_id=invoice["id"])
        # the class migrated the rest: the invoices are read again with the planted ones
        run = self.run_to_the_end(resources=INVOICE_RESOURCES)
        self.assertEqual(run.state, "done")
        self.assertFalse(self.invoice_of(invoice["id"]))
        for cliniko_id, reason in (
            (invoice["id"], "patient %s is not migrated" % ghost),
            (item["id"], "invoice %s is not migrated" % invoice["id"]),
        ):
            line = run.audit_ids.filtered(lambda a, c=cliniko_id: a.cliniko_id == c)
            self.assertEqual((line.action, line.message), ("fail", reason))
        summary = run.summary()["resources"]
        self.assertEqual(summary["invoices"]["failed"], 1)
        self.assertEqual(summary["invoice_items"]["failed"], 1)

    def test_running_again_creates_nothing(self):
        counts = self.row_counts()
        revenue = {lead.id: lead.expected_revenue for lead in self.env["crm.lead"].search([])}
        second = self.run_to_the_end(resources=INVOICE_RESOURCES)
        self.assertEqual(self.row_counts(), counts)
        self.assertEqual(
            {lead.id: lead.expected_revenue for lead in self.env["crm.lead"].search([])}, revenue
        )
        for resource in INVOICE_RESOURCES.split(","):
            summary = second.summary()["resources"][resource]
            with self.subTest(resource=resource):
                self.assertEqual(summary["created"], 0)
                self.assertEqual(summary["updated"], 0)
                self.assertEqual(summary["unchanged"] + summary["skipped"], summary["fetched"])

    def test_a_paid_invoice_in_cliniko_updates_the_odoo_invoice_and_the_summary(self):
        source = next(s for s in self.invoices().values() if s["status"] == 10)
        invoice = self.invoice_of(source["id"])
        lead = invoice.patient_lead_id
        outstanding = cents(lead.cliniko_invoiced_outstanding)
        record = self.clinic.resources["invoices"][source["id"]]
        old = dict(record)
        self.addCleanup(lambda: (record.update(old), self.clinic.touch()))
        self.clinic.tick(60)
        self.clinic.update(
            "invoices",
            source["id"],
            status=20,
            status_description="Paid",
            closed_at=self.clinic.now_iso(),
        )
        run = self.run_to_the_end(resources=INVOICE_RESOURCES)
        self.assertEqual(run.summary()["resources"]["invoices"]["updated"], 1)
        self.assertEqual(invoice.status, "paid")
        self.assertEqual(cents(invoice.outstanding_amount), Decimal("0.00"))
        self.assertEqual(
            cents(lead.cliniko_invoiced_outstanding), outstanding - cents(source["total_amount"])
        )
        run.action_rollback()
        self.assertEqual(invoice.status, "open")
        self.assertEqual(cents(lead.cliniko_invoiced_outstanding), outstanding)

    def test_an_invoice_deleted_in_cliniko_since_is_archived_and_leaves_the_sums(self):
        source = next(
            s for s in self.invoices().values() if link(s, "appointment") and s["status"] == 10
        )
        invoice = self.invoice_of(source["id"])
        patient_lead, visit = invoice.patient_lead_id, invoice.appointment_lead_id
        count, total = (
            patient_lead.cliniko_invoice_count,
            cents(patient_lead.cliniko_invoiced_total),
        )
        revenue = visit.expected_revenue
        record = self.clinic.resources["invoices"][source["id"]]
        items = [
            i
            for i in self.clinic.resources["invoice_items"].values()
            if i["invoice_id"] == source["id"]
        ]
        saved = [(r, dict(r)) for r in (record, *items)]
        self.addCleanup(lambda: ([r.update(old) for r, old in saved], self.clinic.touch()))
        self.clinic.tick(60)
        self.clinic.delete("invoices", source["id"])
        run = self.run_to_the_end(resources=INVOICE_RESOURCES)
        summary = run.summary()["resources"]["invoices"]
        self.assertEqual((summary["updated"], summary["created"]), (0, 0))
        self.assertFalse(invoice.active)
        self.assertFalse(any(invoice.line_ids.with_context(active_test=False).mapped("active")))
        self.assertEqual(patient_lead.cliniko_invoice_count, count - 1)
        self.assertEqual(
            cents(patient_lead.cliniko_invoiced_total), total - cents(source["total_amount"])
        )
        self.assertEqual(cents(visit.expected_revenue), Decimal("0.00"))
        line = run.audit_ids.filtered(
            lambda a: a.cliniko_id == source["id"] and a.res_model == "cliniko.invoice"
        )
        self.assertEqual(line.action, "update")
        self.assertIn("deleted in Cliniko", line.message)
        run.action_rollback()
        self.assertTrue(invoice.active)
        self.assertEqual(patient_lead.cliniko_invoice_count, count)
        self.assertEqual(visit.expected_revenue, revenue)

    def test_rollback_returns_every_table_to_its_row_count(self):
        # counted in setUpClass between the two runs; the class's invoice run is rolled back
        before, revenue, run = self.counts_before, self.revenue_before, self.invoice_run
        self.assertGreater(self.row_counts()["cliniko.invoice"], before["cliniko.invoice"])
        run.action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual(self.row_counts(), before)
        self.assertEqual(
            {lead.id: lead.expected_revenue for lead in self.env["crm.lead"].search([])}, revenue
        )
        self.assertFalse(run.audit_ids.filtered(lambda a: a.is_rollback and a.action == "fail"))
