"""Reference data migrated end to end: locations, appointment types, products, practitioners.

Cliniko sandbox over HTTP -> cliniko.location, cliniko.appointment.type, product.template and
res.users, with the practitioner decisions a run pauses for.
"""

import copy

from ..migration.runner import MigrationRunner
from ..migration.values import link_id
from .common import ClinikoSandboxCase, outside_runs

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


class ReferenceCase(ClinikoSandboxCase):
    default_unmatched_practitioners = False  # these tests decide themselves

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clinic = cls.sandbox.clinic

    # -- helpers -----------------------------------------------------------------------------
    @classmethod
    def cliniko(cls, resource):
        """``{id: record as the API serves it}`` of a resource, deleted records left out."""
        return {
            rid: cls.clinic.get(resource, rid)
            for rid, record in cls.clinic.resources[resource].items()
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

    @classmethod
    def row_counts(cls):
        return {
            model: cls.env[model].with_context(active_test=False).search_count([])
            for model in REFERENCE_MODELS
        }

    @classmethod
    def practitioner_email(cls, practitioner_id):
        user_id = cls.clinic.resources["practitioners"][practitioner_id]["user_id"]
        return cls.clinic.resources["users"][user_id]["email"]

    @classmethod
    def make_user(cls, name, email):
        return (
            cls.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": name,
                    "login": "%s-login" % name.lower().replace(" ", "."),
                    "email": email,
                    "group_ids": [(6, 0, [cls.env.ref("base.group_user").id])],
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

    @classmethod
    def migrate_once(cls, **values):
        """A run for ``setUpClass``: the class's tests read its result."""
        run = cls.start_run(**values)
        assert run.state in ("done", "blocked"), run.error_message
        return run

    def decide(self, run, decision, user=None, cliniko_ids=None):
        decisions = run.practitioner_decision_ids.filtered(
            lambda d: not d.decision and (cliniko_ids is None or d.cliniko_id in cliniko_ids)
        )
        decisions.write({"decision": decision, "user_id": user.id if user else False})
        return decisions


class TestReferenceData(ReferenceCase):
    """Locations, appointment types, billable items and products migrated once for the
    class: tests read the result, or change Cliniko and run again in their body."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # appointment types bring the billable items and products they are charged
        cls.reference_run = cls.migrate_once(resources="businesses,appointment_types")

    def test_each_business_becomes_one_location_field_by_field(self):
        run = self.reference_run
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
        victoria = self.env.ref("base.state_au_7")
        for location in self.locations().filtered(lambda loc: loc.country_id.code == "AU"):
            self.assertEqual(location.state_id, victoria, location.name)

    def test_archived_business_arrives_archived(self):
        archived = self.clinic.edge_cases["archived_business"]
        location = self.locations().filtered(lambda loc: loc.cliniko_id == archived)
        self.assertTrue(location)
        self.assertFalse(location.active)

    def test_business_changed_in_cliniko_is_updated_with_its_previous_values_audited(self):
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

    def test_appointment_types_are_copied_field_by_field_with_their_billable_item(self):
        run = self.reference_run
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
        record = self.appointment_types().filtered(lambda t: t.cliniko_id == short[0]["id"])
        self.assertEqual(len(record.color), 7)

    def test_archived_appointment_type_arrives_archived(self):
        archived = self.clinic.edge_cases["archived_appointment_type"]
        record = self.appointment_types().filtered(lambda t: t.cliniko_id == archived)
        self.assertTrue(record)
        self.assertFalse(record.active)

    def test_group_appointment_type_keeps_its_attendee_limit(self):
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
        kind = next(iter(self.cliniko("appointment_types").values()))
        record = self.appointment_types().filtered(lambda t: t.cliniko_id == kind["id"])
        item_id = link_id(kind["billable_item"])
        price = self.clinic.resources["billable_items"][item_id]["price"]
        self.clinic.tick(60)
        self.clinic.update("billable_items", item_id, price="999.5")
        self.addCleanup(self.clinic.update, "billable_items", item_id, price=price)
        self.migrate(resources="appointment_types")
        self.assertEqual(record.price, 999.5)

    def test_billable_items_become_service_products_field_by_field(self):
        run = self.reference_run
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
        run = self.reference_run
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


class TestReferenceDataChangedBeforeTheRun(ReferenceCase):
    """Changed in Cliniko before one run: a business loses its name, an appointment type
    points at a billable item that does not exist, a billable item and a product archived."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        clinic = cls.clinic
        clinic.tick(60)
        cls.nameless_bid = next(
            b for b, business in cls.cliniko("businesses").items() if not business["archived_at"]
        )
        clinic.update(
            "businesses", cls.nameless_bid, business_name="", display_name=None, label=None
        )
        cls.unbilled_tid = next(iter(cls.cliniko("appointment_types")))
        clinic.update("appointment_types", cls.unbilled_tid, billable_item_id="999999")
        cls.archived_item_id = next(iter(cls.cliniko("billable_items")))
        cls.archived_product_id = next(iter(cls.cliniko("products")))
        clinic.archive("billable_items", cls.archived_item_id)
        clinic.archive("products", cls.archived_product_id)
        cls.changed_run = cls.migrate_once(resources="businesses,appointment_types")

    def test_business_without_a_name_fails_with_its_reason_and_the_run_goes_on(self):
        bid, run = self.nameless_bid, self.changed_run
        self.assertEqual(run.state, "done", run.error_message)
        counts = self.counts(run, "businesses")
        self.assertEqual(counts["failed"], 1)
        self.assertEqual(counts["created"], len(self.cliniko("businesses")) - 1)
        self.assertCountersAddUp(run)
        line = run.audit_ids.filtered(lambda a: a.cliniko_id == bid)
        self.assertEqual(line.action, "fail")
        self.assertEqual(line.message, "the business has no name")
        self.assertFalse(self.locations().filtered(lambda loc: loc.cliniko_id == bid))

    def test_appointment_type_whose_billable_item_is_missing_is_migrated_and_flagged(self):
        tid, run = self.unbilled_tid, self.changed_run
        record = self.appointment_types().filtered(lambda t: t.cliniko_id == tid)
        self.assertTrue(record)
        self.assertFalse(record.product_id)
        self.assertEqual(record.price, 0)
        line = run.audit_ids.filtered(lambda a: a.cliniko_id == tid)
        self.assertEqual(line.action, "create")
        self.assertIn("default billable item 999999 was not migrated", line.message)

    def test_archived_billable_item_and_product_arrive_archived(self):
        item_id, product_id = self.archived_item_id, self.archived_product_id
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


class TestPractitionerMatching(ReferenceCase):
    """Two Odoo users whose e-mail matches a practitioner's, then one practitioners run."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        practitioners = cls.clinic.resources["practitioners"]
        cls.plain = next(
            pid
            for pid, p in practitioners.items()
            if p["active"] and (cls.practitioner_email(pid) or "").islower()
        )
        cls.unusual = cls.clinic.edge_cases["practitioner_unusual_email"]
        cls.plain_user = cls.make_user(
            "Plain Match", "  %s  " % cls.practitioner_email(cls.plain).upper()
        )
        cls.odd_user = cls.make_user(
            "Odd Match", cls.practitioner_email(cls.unusual).strip().lower()
        )
        cls.matching_run = cls.migrate_once(resources="practitioners")

    def test_practitioner_is_matched_by_email_ignoring_case_and_spaces(self):
        plain, unusual, run = self.plain, self.unusual, self.matching_run
        user, odd = self.plain_user, self.odd_user
        bound = self.bound(run, "practitioners", [plain, unusual])
        self.assertEqual(bound[plain], user)
        self.assertEqual(bound[unusual], odd)
        practitioner = self.clinic.resources["practitioners"][plain]
        self.assertEqual(user.cliniko_practitioner_id, plain)
        self.assertEqual(user.cliniko_designation, practitioner["designation"])
        self.assertTrue(user.cliniko_practitioner_active)
        self.assertFalse(user.cliniko_placeholder)
        self.assertFalse(run.practitioner_decision_ids.filtered(lambda d: d.cliniko_id in bound))

    def test_a_matched_user_is_granted_clinical_access_and_the_line_says_so(self):
        # made with base.group_user only: a practitioner treats, so binding grants the group
        for user, pid in ((self.plain_user, self.plain), (self.odd_user, self.unusual)):
            with self.subTest(user=user.name):
                self.assertTrue(user.has_group("cliniko_crm_migration.group_cliniko_clinical"))
                line = self.matching_run.audit_ids.filtered(
                    lambda a, pid=pid: a.resource == "practitioners"
                    and a.cliniko_id == pid
                    and a.res_model == "res.users"
                )
                self.assertEqual(line.mapped("action"), ["update"])
                self.assertEqual(line.res_id, user.id)
                self.assertIn("granted clinical access", line.message)


class TestUndecidedPractitioners(ReferenceCase):
    """One practitioners run with no policy; an Odoo user bears the name (not the e-mail) of
    the practitioner without e-mail."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pid = cls.clinic.edge_cases["practitioner_without_email"]
        practitioner = cls.clinic.resources["practitioners"][pid]
        cls.same_name = cls.make_user(practitioner["label"], "someone.else@example.com")
        cls.users_before = cls.env["res.users"].with_context(active_test=False).search_count([])
        cls.undecided_run = cls.migrate_once(resources="practitioners")

    def test_unmatched_practitioners_become_undecided_decisions(self):
        users_before, run = self.users_before, self.undecided_run
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
        run = self.undecided_run
        pid = self.clinic.edge_cases["practitioner_without_email"]
        decision = run.practitioner_decision_ids.filtered(lambda d: d.cliniko_id == pid)
        self.assertEqual(decision.reason, "no e-mail in Cliniko")
        self.assertFalse(decision.email)
        self.assertEqual(self.counts(run, "practitioners")["failed"], 0)

    def test_practitioner_decision_proposes_a_user_of_the_same_name(self):
        pid = self.clinic.edge_cases["practitioner_without_email"]
        same_name, run = self.same_name, self.undecided_run
        decision = run.practitioner_decision_ids.filtered(lambda d: d.cliniko_id == pid)
        self.assertEqual(decision.proposed_user_id, same_name)
        self.assertFalse(decision.decision)


class TestPlaceholderPractitioners(ReferenceCase):
    """One practitioners run whose policy gives every practitioner a placeholder user."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mails_before = cls.env["mail.mail"].search_count([])
        cls.messages_before = cls.env["mail.message"].search_count(outside_runs("mail.message"))
        cls.placeholder_run = cls.migrate_once(
            resources="practitioners", unmatched_practitioners="placeholder"
        )

    def test_inactive_practitioners_are_read_too(self):
        inactive = {
            pid for pid, p in self.clinic.resources["practitioners"].items() if not p["active"]
        }
        self.assertIn(self.clinic.edge_cases["inactive_practitioner"], inactive)
        run = self.placeholder_run
        bound = self.bound(run, "practitioners", list(inactive))
        self.assertEqual(set(bound), inactive)
        for pid, user in bound.items():
            self.assertFalse(user.cliniko_practitioner_active, pid)
            self.assertFalse(user.active, "a placeholder of an inactive practitioner is archived")
        decisions = run.practitioner_decision_ids.filtered(lambda d: d.cliniko_id in inactive)
        self.assertFalse(any(decisions.mapped("cliniko_active")))

    def test_placeholder_user_sends_nothing(self):
        # counted in setUpClass, before the run
        mails, messages, run = self.mails_before, self.messages_before, self.placeholder_run
        placeholders = self.env["res.users"].concat(
            *self.bound(run, "practitioners", list(self.clinic.resources["practitioners"])).values()
        )
        self.assertTrue(placeholders)
        self.assertEqual(self.env["mail.mail"].search_count([]), mails)
        self.assertEqual(
            self.env["mail.message"].search_count(outside_runs("mail.message")), messages
        )
        self.assertFalse(any(placeholders.mapped("password")))
        if "digest.digest" in self.env:
            self.assertFalse(
                self.env["digest.digest"].search([("user_ids", "in", placeholders.ids)])
            )


class TestFullRunPause(ReferenceCase):
    """A whole clinic's run, with no practitioner decided, once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.full_run = cls.migrate_once()

    def test_full_run_pauses_before_appointments_until_practitioners_are_decided(self):
        run = self.full_run
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


class TestPractitionerDecisions(ReferenceCase):
    """One appointments run paused for decisions, made once for the class: each test decides
    and resumes it (each test runs in a savepoint, so the next one finds it paused again)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.chosen = cls.make_user("Chosen Practitioner", "chosen@example.com")
        cls.paused_run = cls.migrate_once(resources="individual_appointments")

    def test_placeholder_decision_creates_an_internal_user_and_the_run_resumes(self):
        run = self.paused_run
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
                # archived (no paid seat) unless the run asks for active placeholders
                self.assertFalse(user.active)
                self.assertEqual(user.cliniko_designation, practitioner["designation"])
        decisions = run.practitioner_decision_ids
        self.assertTrue(all(decisions.mapped("applied")))
        self.assertEqual(decisions.user_id, self.env["res.users"].concat(*bound.values()))
        counts = self.counts(run, "practitioners")
        self.assertEqual(counts["fetched"], len(ids))
        self.assertEqual(counts["created"], len(ids))
        self.assertEqual(counts["skipped"], 0)
        self.assertCountersAddUp(run)

    def test_unassigned_decision_binds_nobody_and_the_run_resumes(self):
        run = self.paused_run
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
        chosen, run = self.chosen, self.paused_run
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


class TestPractitionerPolicies(ReferenceCase):
    """What a run's policy, or an earlier run's decisions, do: runs made in the test body."""

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


class TestReferenceReruns(ReferenceCase):
    """Locations, practitioners and appointment types migrated once with placeholder users;
    one practitioner matches an Odoo user. Tests run again or roll the run back."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mapped_pid = next(
            pid
            for pid, p in cls.clinic.resources["practitioners"].items()
            if (cls.practitioner_email(pid) or "").islower()
        )
        cls.mapped_user = cls.make_user(
            "Mapped Practitioner", cls.practitioner_email(cls.mapped_pid)
        )
        cls.counts_before = cls.row_counts()
        cls.rerun_base = cls.migrate_once(
            resources="businesses,practitioners,appointment_types",
            unmatched_practitioners="placeholder",
        )

    def test_running_again_creates_nothing(self):
        resources = "businesses,practitioners,appointment_types"
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
                self.assertEqual(summary["unchanged"] + summary["skipped"], summary["fetched"])
        self.assertFalse(second.practitioner_decision_ids)

    def test_rollback_removes_placeholder_users_and_reference_records(self):
        # counted in setUpClass, before the run; the class's run is rolled back here
        before, run = self.counts_before, self.rerun_base
        self.assertGreater(self.row_counts()["res.users"], before["res.users"])
        run.action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual(self.row_counts(), before)
        self.assertFalse(run.audit_ids.filtered(lambda a: a.is_rollback and a.action == "fail"))

    def test_rollback_keeps_a_mapped_user_and_restores_its_fields(self):
        # the other practitioners got placeholder users, which the rollback removes too
        pid, user, run = self.mapped_pid, self.mapped_user, self.rerun_base
        before = self.counts_before
        self.assertEqual(user.cliniko_practitioner_id, pid)
        self.assertTrue(user.has_group("cliniko_crm_migration.group_cliniko_clinical"))
        run.action_rollback()
        self.assertTrue(user.exists())
        self.assertFalse(user.has_group("cliniko_crm_migration.group_cliniko_clinical"))
        self.assertTrue(user.has_group("base.group_user"))
        self.assertFalse(user.cliniko_practitioner_id)
        self.assertFalse(user.cliniko_designation)
        self.assertEqual(self.row_counts(), before)
