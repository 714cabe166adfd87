"""Reference data migrated end to end: locations, appointment types, products, practitioners.

Cliniko sandbox over HTTP -> cliniko.location, cliniko.appointment.type, product.template and
res.users, with the practitioner decisions a run pauses for.
"""

import copy

from ..migration.runner import MigrationRunner
from ..migration.values import link_id
from .common import ClinikoSandboxCase

REFERENCE_MODELS = (
    "cliniko.location",
    "cliniko.appointment.type",
    "product.template",
    "product.product",
    "res.users",
    "res.partner",
    "res.users.settings",
    "discuss.channel.member",
    "ir.attachment",
    "cliniko.external.ref",
)


def _text(value):
    return (value or "").strip() or False


def _stamp(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


class TestReferenceData(ClinikoSandboxCase):
    default_unmatched_practitioners = False  # these tests decide themselves

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clinic = cls.sandbox.clinic

    # -- helpers -----------------------------------------------------------------------------
    def cliniko(self, resource):
        """``{id: record as the API serves it}`` of a resource, deleted records left out."""
        return {
            rid: self.clinic.get(resource, rid)
            for rid, record in self.clinic.resources[resource].items()
            if not record.get("deleted_at")
        }

    def counts(self, run, resource):
        return run.summary()["resources"][resource]

    def bound(self, run, resource, cliniko_ids):
        return MigrationRunner(run).records(resource, cliniko_ids)

    def locations(self):
        return (
            self.env["cliniko.location"]
            .with_context(active_test=False)
            .search([("connection_id", "=", self.connection.id)])
        )

    def appointment_types(self):
        return (
            self.env["cliniko.appointment.type"]
            .with_context(active_test=False)
            .search([("connection_id", "=", self.connection.id)])
        )

    def products(self, field):
        return (
            self.env["product.template"]
            .with_context(active_test=False)
            .search([(field, "!=", False)])
        )

    def row_counts(self):
        return {
            model: self.env[model].with_context(active_test=False).search_count([])
            for model in REFERENCE_MODELS
        }

    def practitioner_email(self, practitioner_id):
        user_id = self.clinic.resources["practitioners"][practitioner_id]["user_id"]
        return self.clinic.resources["users"][user_id]["email"]

    def make_user(self, name, email):
        return (
            self.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": name,
                    "login": "%s-login" % name.lower().replace(" ", "."),
                    "email": email,
                    "group_ids": [(6, 0, [self.env.ref("base.group_user").id])],
                }
            )
        )

    def patch(self, resource, record_id, **changes):
        """Change a sandbox record for this test only (the sandbox is shared by the class)."""
        store = self.clinic.resources[resource]
        original = copy.deepcopy(store[record_id])

        def restore():
            store[record_id] = original
            self.clinic.touch()

        self.addCleanup(restore)
        self.clinic.tick(60)
        self.clinic.update(resource, record_id, **changes)

    def decide(self, run, decision, user=None, cliniko_ids=None):
        decisions = run.practitioner_decision_ids.filtered(
            lambda d: not d.decision and (cliniko_ids is None or d.cliniko_id in cliniko_ids)
        )
        decisions.write({"decision": decision, "user_id": user.id if user else False})
        return decisions

    # -- locations ---------------------------------------------------------------------------
    def test_each_business_becomes_one_location_field_by_field(self):
        run = self.migrate(resources="businesses")
        self.assertEqual(run.state, "done", run.error_message)
        businesses = self.cliniko("businesses")
        counts = self.counts(run, "businesses")
        self.assertEqual(counts["fetched"], len(businesses))
        self.assertEqual(counts["created"], len(businesses))
        self.assertCountersAddUp(run)
        locations = {location.cliniko_id: location for location in self.locations()}
        self.assertEqual(set(locations), set(businesses))
        for bid, business in businesses.items():
            location = locations[bid]
            with self.subTest(business=bid):
                self.assertEqual(location.name, business["business_name"].strip())
                self.assertEqual(location.street, _text(business["address_1"]))
                self.assertEqual(location.street2, _text(business["address_2"]))
                self.assertEqual(location.city, _text(business["city"]))
                self.assertEqual(location.zip, _text(business["post_code"]))
                self.assertEqual(location.country_id.code, business["country_code"])
                if _text(business["state"]):
                    self.assertIn(
                        business["state"], (location.state_id.code, location.state_id.name)
                    )
                self.assertEqual(location.tz, business["time_zone_identifier"])
                self.assertEqual(location.email, _text(business["email_reply_to"]))
                self.assertEqual(location.website, _text(business["website_address"]))
                registration = " ".join(
                    filter(
                        None,
                        [
                            business["business_registration_name"],
                            business["business_registration_value"],
                        ],
                    )
                )
                self.assertEqual(location.registration, registration or False)
                self.assertEqual(
                    location.contact_information, _text(business["contact_information"])
                )
                self.assertEqual(location.active, not business["archived_at"])
                self.assertEqual(location.company_id, self.connection.company_id)

    def test_state_written_as_a_name_or_a_code_is_resolved(self):
        self.migrate(resources="businesses")
        victoria = self.env.ref("base.state_au_7")
        for location in self.locations().filtered(lambda loc: loc.country_id.code == "AU"):
            self.assertEqual(location.state_id, victoria, location.name)

    def test_archived_business_arrives_archived(self):
        self.migrate(resources="businesses")
        archived = self.clinic.edge_cases["archived_business"]
        location = self.locations().filtered(lambda loc: loc.cliniko_id == archived)
        self.assertTrue(location)
        self.assertFalse(location.active)

    def test_business_without_a_name_fails_with_its_reason_and_the_run_goes_on(self):
        bid = next(
            b for b, business in self.cliniko("businesses").items() if not business["archived_at"]
        )
        self.patch("businesses", bid, business_name="", display_name=None, label=None)
        run = self.migrate(resources="businesses")
        self.assertEqual(run.state, "done", run.error_message)
        counts = self.counts(run, "businesses")
        self.assertEqual(counts["failed"], 1)
        self.assertEqual(counts["created"], len(self.cliniko("businesses")) - 1)
        self.assertCountersAddUp(run)
        line = run.audit_ids.filtered(lambda a: a.cliniko_id == bid)
        self.assertEqual(line.action, "fail")
        self.assertEqual(line.message, "the business has no name")
        self.assertFalse(self.locations().filtered(lambda loc: loc.cliniko_id == bid))

    def test_business_changed_in_cliniko_is_updated_with_its_previous_values_audited(self):
        self.migrate(resources="businesses")
        bid = next(iter(self.cliniko("businesses")))
        location = self.locations().filtered(lambda loc: loc.cliniko_id == bid)
        old_city = location.city
        self.patch("businesses", bid, city="Ballarat")
        run = self.migrate(resources="businesses")
        self.assertEqual(self.counts(run, "businesses")["updated"], 1)
        self.assertEqual(location.city, "Ballarat")
        line = run.audit_ids.filtered(lambda a: a.action == "update")
        self.assertEqual(line.previous_values["values"], {"city": old_city})
        run.action_rollback()
        self.assertEqual(location.city, old_city)

    # -- appointment types -------------------------------------------------------------------
    def test_appointment_types_are_copied_field_by_field_with_their_billable_item(self):
        run = self.migrate(resources="appointment_types")
        self.assertEqual(run.state, "done", run.error_message)
        kinds = self.cliniko("appointment_types")
        self.assertEqual(self.counts(run, "appointment_types")["created"], len(kinds))
        self.assertCountersAddUp(run)
        types = {kind.cliniko_id: kind for kind in self.appointment_types()}
        self.assertEqual(set(types), set(kinds))
        for tid, kind in kinds.items():
            record = types[tid]
            item = self.clinic.get("billable_items", link_id(kind["billable_item"]))
            with self.subTest(appointment_type=tid):
                self.assertEqual(record.name, kind["name"])
                self.assertEqual(record.duration_minutes, kind["duration_in_minutes"])
                self.assertEqual(record.max_attendees, kind["max_attendees"])
                self.assertEqual(record.category, _text(kind["category"]))
                self.assertEqual(record.description, _text(kind["description"]))
                color = kind["color"].upper()
                if len(color) == 4:  # #RGB
                    color = "#" + "".join(digit * 2 for digit in color[1:])
                self.assertEqual(record.color, color)
                self.assertEqual(record.active, not kind["archived_at"])
                self.assertEqual(record.product_id.cliniko_billable_item_id, item["id"])
                self.assertEqual(record.price, float(item["price"]))

    def test_short_colour_is_expanded(self):
        short = [t for t in self.cliniko("appointment_types").values() if len(t["color"]) == 4]
        self.assertTrue(short, "the sandbox clinic should hold a #RGB colour")
        self.migrate(resources="appointment_types")
        record = self.appointment_types().filtered(lambda t: t.cliniko_id == short[0]["id"])
        self.assertEqual(len(record.color), 7)

    def test_archived_appointment_type_arrives_archived(self):
        self.migrate(resources="appointment_types")
        archived = self.clinic.edge_cases["archived_appointment_type"]
        record = self.appointment_types().filtered(lambda t: t.cliniko_id == archived)
        self.assertTrue(record)
        self.assertFalse(record.active)

    def test_group_appointment_type_keeps_its_attendee_limit(self):
        self.migrate(resources="appointment_types")
        group_id = self.clinic.edge_cases["group_appointment_type"]
        record = self.appointment_types().filtered(lambda t: t.cliniko_id == group_id)
        self.assertGreater(record.max_attendees, 1)
        self.assertEqual(
            record.max_attendees,
            self.clinic.resources["appointment_types"][group_id]["max_attendees"],
        )
        self.assertTrue(record.is_group)
        self.assertFalse(
            self.appointment_types().filtered(lambda t: t.max_attendees == 1).filtered("is_group")
        )

    def test_appointment_type_follows_the_price_of_its_billable_item(self):
        self.migrate(resources="appointment_types")
        kind = next(iter(self.cliniko("appointment_types").values()))
        record = self.appointment_types().filtered(lambda t: t.cliniko_id == kind["id"])
        item_id = link_id(kind["billable_item"])
        price = self.clinic.resources["billable_items"][item_id]["price"]
        self.clinic.tick(60)
        self.clinic.update("billable_items", item_id, price="999.5")
        self.addCleanup(self.clinic.update, "billable_items", item_id, price=price)
        self.migrate(resources="appointment_types")
        self.assertEqual(record.price, 999.5)

    def test_appointment_type_whose_billable_item_is_missing_is_migrated_and_flagged(self):
        tid = next(iter(self.cliniko("appointment_types")))
        self.patch("appointment_types", tid, billable_item_id="999999")
        run = self.migrate(resources="appointment_types")
        record = self.appointment_types().filtered(lambda t: t.cliniko_id == tid)
        self.assertTrue(record)
        self.assertFalse(record.product_id)
        self.assertEqual(record.price, 0)
        line = run.audit_ids.filtered(lambda a: a.cliniko_id == tid)
        self.assertEqual(line.action, "create")
        self.assertIn("default billable item 999999 was not migrated", line.message)

    # -- products ----------------------------------------------------------------------------
    def test_billable_items_become_service_products_field_by_field(self):
        run = self.migrate(resources="billable_items")
        self.assertEqual(run.state, "done", run.error_message)
        items = self.cliniko("billable_items")
        self.assertEqual(self.counts(run, "billable_items")["created"], len(items))
        self.assertCountersAddUp(run)
        products = {
            p.cliniko_billable_item_id: p for p in self.products("cliniko_billable_item_id")
        }
        self.assertEqual(set(products), set(items))
        for iid, item in items.items():
            product = products[iid]
            tax = self.clinic.get("taxes", link_id(item["tax"]))
            with self.subTest(billable_item=iid):
                self.assertEqual(product.name, item["name"])
                self.assertEqual(product.type, "service")
                self.assertEqual(product.default_code, _text(item["item_code"]))
                self.assertEqual(product.list_price, float(item["price"]))
                self.assertEqual(product.cliniko_item_type, item["item_type"])
                self.assertEqual(product.cliniko_tax_name, tax["name"])
                self.assertEqual(product.cliniko_tax_rate, float(tax["rate"]))
                self.assertEqual(product.active, not item["archived_at"])
                self.assertEqual(product.company_id, self.connection.company_id)

    def test_products_become_goods_field_by_field(self):
        run = self.migrate(resources="products")
        self.assertEqual(run.state, "done", run.error_message)
        goods = self.cliniko("products")
        self.assertEqual(self.counts(run, "products")["created"], len(goods))
        self.assertCountersAddUp(run)
        products = {p.cliniko_product_id: p for p in self.products("cliniko_product_id")}
        self.assertEqual(set(products), set(goods))
        for pid, good in goods.items():
            product = products[pid]
            tax = self.clinic.get("taxes", link_id(good["tax"]))
            with self.subTest(product=pid):
                self.assertEqual(product.name, good["name"])
                self.assertEqual(product.type, "consu")
                self.assertEqual(product.default_code, _text(good["item_code"]))
                self.assertEqual(product.list_price, float(good["price_ex_tax"]))
                self.assertEqual(product.standard_price, float(good["cost_price"]))
                self.assertEqual(
                    product.cliniko_supplier_name, _text(good["product_supplier_name"])
                )
                self.assertEqual(product.cliniko_serial_number, _text(good["serial_number"]))
                self.assertEqual(product.cliniko_stock_level, good["stock_level"])
                self.assertEqual(product.cliniko_tax_name, tax["name"])
                self.assertEqual(product.cliniko_tax_rate, float(tax["rate"]))
                self.assertEqual(product.active, not good["archived_at"])

    def test_archived_billable_item_and_product_arrive_archived(self):
        item_id = next(iter(self.cliniko("billable_items")))
        product_id = next(iter(self.cliniko("products")))
        self.clinic.archive("billable_items", item_id)
        self.clinic.archive("products", product_id)
        self.addCleanup(self.clinic.unarchive, "billable_items", item_id)
        self.addCleanup(self.clinic.unarchive, "products", product_id)
        self.migrate(resources="billable_items,products")
        item = self.products("cliniko_billable_item_id").filtered(
            lambda p: p.cliniko_billable_item_id == item_id
        )
        product = self.products("cliniko_product_id").filtered(
            lambda p: p.cliniko_product_id == product_id
        )
        self.assertTrue(item)
        self.assertFalse(item.active)
        self.assertTrue(product)
        self.assertFalse(product.active)

    # -- practitioners: matching -------------------------------------------------------------
    def test_practitioner_is_matched_by_email_ignoring_case_and_spaces(self):
        plain = next(
            pid
            for pid, p in self.clinic.resources["practitioners"].items()
            if p["active"] and (self.practitioner_email(pid) or "").islower()
        )
        unusual = self.clinic.edge_cases["practitioner_unusual_email"]
        user = self.make_user("Plain Match", "  %s  " % self.practitioner_email(plain).upper())
        odd = self.make_user("Odd Match", self.practitioner_email(unusual).strip().lower())
        run = self.migrate(resources="practitioners")
        bound = self.bound(run, "practitioners", [plain, unusual])
        self.assertEqual(bound[plain], user)
        self.assertEqual(bound[unusual], odd)
        practitioner = self.clinic.resources["practitioners"][plain]
        self.assertEqual(user.cliniko_practitioner_id, plain)
        self.assertEqual(user.cliniko_designation, practitioner["designation"])
        self.assertTrue(user.cliniko_practitioner_active)
        self.assertFalse(user.cliniko_placeholder)
        self.assertFalse(run.practitioner_decision_ids.filtered(lambda d: d.cliniko_id in bound))

    def test_unmatched_practitioners_become_undecided_decisions(self):
        users_before = self.env["res.users"].with_context(active_test=False).search_count([])
        run = self.migrate(resources="practitioners")
        self.assertEqual(run.state, "done", run.error_message)
        practitioners = self.clinic.resources["practitioners"]
        decisions = run.practitioner_decision_ids
        self.assertEqual(set(decisions.mapped("cliniko_id")), set(practitioners))
        self.assertFalse(decisions.filtered("decision"))
        counts = self.counts(run, "practitioners")
        self.assertEqual(counts["fetched"], len(practitioners))
        self.assertEqual(counts["skipped"], len(practitioners))
        self.assertCountersAddUp(run)
        self.assertEqual(
            self.env["res.users"].with_context(active_test=False).search_count([]), users_before
        )
        waiting = run.audit_ids.filtered(lambda a: a.resource == "practitioners")
        self.assertEqual(set(waiting.mapped("action")), {"skip"})
        self.assertTrue(all("waiting for a decision" in line.message for line in waiting))

    def test_practitioner_without_email_is_a_decision_not_an_error(self):
        run = self.migrate(resources="practitioners")
        pid = self.clinic.edge_cases["practitioner_without_email"]
        decision = run.practitioner_decision_ids.filtered(lambda d: d.cliniko_id == pid)
        self.assertEqual(decision.reason, "no e-mail in Cliniko")
        self.assertFalse(decision.email)
        self.assertEqual(self.counts(run, "practitioners")["failed"], 0)

    def test_practitioner_decision_proposes_a_user_of_the_same_name(self):
        pid = self.clinic.edge_cases["practitioner_without_email"]
        practitioner = self.clinic.resources["practitioners"][pid]
        same_name = self.make_user(practitioner["label"], "someone.else@example.com")
        run = self.migrate(resources="practitioners")
        decision = run.practitioner_decision_ids.filtered(lambda d: d.cliniko_id == pid)
        self.assertEqual(decision.proposed_user_id, same_name)
        self.assertFalse(decision.decision)

    def test_inactive_practitioners_are_read_too(self):
        inactive = {
            pid for pid, p in self.clinic.resources["practitioners"].items() if not p["active"]
        }
        self.assertIn(self.clinic.edge_cases["inactive_practitioner"], inactive)
        run = self.migrate(resources="practitioners", unmatched_practitioners="placeholder")
        bound = self.bound(run, "practitioners", list(inactive))
        self.assertEqual(set(bound), inactive)
        for pid, user in bound.items():
            self.assertFalse(user.cliniko_practitioner_active, pid)
            self.assertFalse(user.active, "a placeholder of an inactive practitioner is archived")
        decisions = run.practitioner_decision_ids.filtered(lambda d: d.cliniko_id in inactive)
        self.assertFalse(any(decisions.mapped("cliniko_active")))

    # -- practitioners: the pause and the decisions ------------------------------------------
    def test_full_run_pauses_before_appointments_until_practitioners_are_decided(self):
        run = self.migrate()
        self.assertEqual(run.state, "blocked")
        self.assertIn("no Odoo user and no decision", run.error_message)
        self.assertIn(
            self.clinic.resources["practitioners"][
                self.clinic.edge_cases["practitioner_without_email"]
            ]["label"],
            run.error_message,
        )
        done = run.resource_ids.filtered("done").mapped("resource")
        self.assertIn("patients", done)
        appointments = run.resource_ids.filtered(lambda r: r.resource == "individual_appointments")
        self.assertFalse(appointments.done)
        self.assertFalse(appointments.fetched)
        self.assertEqual(
            run.practitioner_pending_count, len(self.clinic.resources["practitioners"])
        )

    def test_placeholder_decision_creates_an_internal_user_and_the_run_resumes(self):
        run = self.migrate(resources="individual_appointments")
        self.assertEqual(run.state, "blocked")
        ids = list(self.clinic.resources["practitioners"])
        self.decide(run, "placeholder")
        run.action_start()
        self.assertEqual(run.state, "done", run.error_message)
        bound = self.bound(run, "practitioners", ids)
        self.assertEqual(set(bound), set(ids))
        salesman = self.env.ref("sales_team.group_sale_salesman")
        for pid, user in bound.items():
            practitioner = self.clinic.resources["practitioners"][pid]
            with self.subTest(practitioner=pid):
                self.assertTrue(user.cliniko_placeholder)
                self.assertEqual(user.login, "cliniko-practitioner-%s@placeholder.invalid" % pid)
                self.assertEqual(user.name, practitioner["label"])
                self.assertFalse(user.share)
                self.assertFalse(user.email)
                self.assertIn(salesman, user.all_group_ids)
                self.assertEqual(user.notification_type, "inbox")
                self.assertEqual(user.active, practitioner["active"])
                self.assertEqual(user.cliniko_designation, practitioner["designation"])
        decisions = run.practitioner_decision_ids
        self.assertTrue(all(decisions.mapped("applied")))
        self.assertEqual(decisions.user_id, self.env["res.users"].concat(*bound.values()))
        counts = self.counts(run, "practitioners")
        self.assertEqual(counts["fetched"], len(ids))
        self.assertEqual(counts["created"], len(ids))
        self.assertEqual(counts["skipped"], 0)
        self.assertCountersAddUp(run)

    def test_placeholder_user_sends_nothing(self):
        mails = self.env["mail.mail"].search_count([])
        messages = self.env["mail.message"].search_count([])
        run = self.migrate(resources="practitioners", unmatched_practitioners="placeholder")
        placeholders = self.env["res.users"].concat(
            *self.bound(run, "practitioners", list(self.clinic.resources["practitioners"])).values()
        )
        self.assertTrue(placeholders)
        self.assertEqual(self.env["mail.mail"].search_count([]), mails)
        self.assertEqual(self.env["mail.message"].search_count([]), messages)
        self.assertFalse(any(placeholders.mapped("password")))
        if "digest.digest" in self.env:
            self.assertFalse(
                self.env["digest.digest"].search([("user_ids", "in", placeholders.ids)])
            )

    def test_unassigned_decision_binds_nobody_and_the_run_resumes(self):
        run = self.migrate(resources="individual_appointments")
        self.assertEqual(run.state, "blocked")
        users = self.env["res.users"].with_context(active_test=False).search_count([])
        self.decide(run, "unassigned")
        run.action_start()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertFalse(
            self.bound(run, "practitioners", list(self.clinic.resources["practitioners"]))
        )
        self.assertEqual(
            self.env["res.users"].with_context(active_test=False).search_count([]), users
        )
        counts = self.counts(run, "practitioners")
        self.assertEqual(counts["skipped"], counts["fetched"])
        self.assertCountersAddUp(run)
        unassigned = run.audit_ids.filtered(
            lambda a: a.resource == "practitioners" and "left unassigned" in (a.message or "")
        )
        self.assertEqual(len(unassigned), len(self.clinic.resources["practitioners"]))

    def test_map_decision_binds_the_chosen_user_and_the_run_resumes(self):
        chosen = self.make_user("Chosen Practitioner", "chosen@example.com")
        run = self.migrate(resources="individual_appointments")
        pid = self.clinic.edge_cases["practitioner_without_email"]
        self.decide(run, "map", chosen, [pid])
        MigrationRunner(run).execute()  # whatever resumes the run carries decisions out
        self.assertEqual(run.state, "blocked", "the other practitioners are still undecided")
        self.assertEqual(self.bound(run, "practitioners", [pid])[pid], chosen)
        self.assertEqual(chosen.cliniko_practitioner_id, pid)
        self.decide(run, "unassigned")
        run.action_start()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertCountersAddUp(run)
        counts = self.counts(run, "practitioners")
        self.assertEqual(counts["fetched"], len(self.clinic.resources["practitioners"]))
        self.assertEqual(counts["created"], 1)

    def test_a_run_policy_decides_without_pausing(self):
        run = self.migrate(
            resources="individual_appointments", unmatched_practitioners="unassigned"
        )
        self.assertEqual(run.state, "done", run.error_message)
        self.assertEqual(set(run.practitioner_decision_ids.mapped("decision")), {"unassigned"})

    def test_decision_carries_over_to_the_next_run(self):
        first = self.migrate(resources="practitioners", unmatched_practitioners="unassigned")
        second = self.migrate(resources="individual_appointments")
        self.assertEqual(second.state, "done", second.error_message)
        self.assertEqual(
            set(second.practitioner_decision_ids.mapped("cliniko_id")),
            set(first.practitioner_decision_ids.mapped("cliniko_id")),
        )
        self.assertEqual(set(second.practitioner_decision_ids.mapped("decision")), {"unassigned"})

    # -- re-run and rollback -----------------------------------------------------------------
    def test_running_again_creates_nothing(self):
        resources = "businesses,practitioners,appointment_types"
        self.migrate(resources=resources, unmatched_practitioners="placeholder")
        counts = self.row_counts()
        second = self.migrate(resources=resources)
        self.assertEqual(second.state, "done", second.error_message)
        self.assertEqual(self.row_counts(), counts)
        for resource in (
            "businesses",
            "practitioners",
            "appointment_types",
            "billable_items",
            "products",
        ):
            summary = self.counts(second, resource)
            with self.subTest(resource=resource):
                self.assertTrue(summary["fetched"])
                self.assertEqual(summary["created"], 0)
                self.assertEqual(summary["updated"], 0)
                self.assertEqual(summary["skipped"], summary["fetched"])
        self.assertFalse(second.practitioner_decision_ids)

    def test_rollback_removes_placeholder_users_and_reference_records(self):
        before = self.row_counts()
        run = self.migrate(
            resources="businesses,practitioners,appointment_types",
            unmatched_practitioners="placeholder",
        )
        self.assertGreater(self.row_counts()["res.users"], before["res.users"])
        run.action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual(self.row_counts(), before)
        self.assertFalse(run.audit_ids.filtered(lambda a: a.is_rollback and a.action == "fail"))

    def test_rollback_keeps_a_mapped_user_and_restores_its_fields(self):
        pid = next(
            pid
            for pid, p in self.clinic.resources["practitioners"].items()
            if (self.practitioner_email(pid) or "").islower()
        )
        user = self.make_user("Mapped Practitioner", self.practitioner_email(pid))
        before = self.row_counts()
        run = self.migrate(resources="practitioners", unmatched_practitioners="unassigned")
        self.assertEqual(user.cliniko_practitioner_id, pid)
        run.action_rollback()
        self.assertTrue(user.exists())
        self.assertFalse(user.cliniko_practitioner_id)
        self.assertFalse(user.cliniko_designation)
        self.assertEqual(self.row_counts(), before)
