"""The sign-off's rules (``migration/expectations.py``): pure, read from Cliniko's JSON only."""

import ast
import unittest
from datetime import date, datetime
from pathlib import Path

from ..migration import expectations as rules

NOW = datetime(2026, 1, 10, 12, 0)
PAIN = "<p>Lower <b>back</b></p>"
SIDES = [{"value": "Left", "selected": True}, {"value": "Right"}]


def fact(facts, target, field):
    return next(f for f in facts if (f.target, f.field) == (target, field))


class TestExpectations(unittest.TestCase):
    def test_the_rules_import_no_importer_nor_the_importers_helpers(self):
        tree = ast.parse(Path(rules.__file__).read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                imported.add("." * node.level + (node.module or ""))
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        allowed = {"re", "collections", "datetime", "decimal", "html.parser", "phonenumbers"}
        self.assertEqual(imported - allowed, set())

    def test_the_status_follows_the_readme_table(self):
        past, future = datetime(2026, 1, 1), datetime(2026, 2, 1)
        cancelled = {"cancelled_at": "2026-01-01T00:00:00Z"}
        self.assertEqual(rules.status(cancelled, past, NOW), "cancelled")
        self.assertEqual(rules.status({"did_not_arrive": True}, past, NOW), "did_not_arrive")
        self.assertEqual(rules.status({"arrived": False}, future, NOW, True), "did_not_arrive")
        self.assertEqual(rules.status({"arrived": None}, past, NOW, True), "completed")
        self.assertEqual(rules.status({}, past, NOW), "completed")
        self.assertEqual(rules.status({"patient_arrived": True}, future, NOW), "arrived")
        self.assertEqual(rules.status({}, future, NOW), "booked")

    def test_times_are_utc_and_an_end_before_the_start_is_the_start(self):
        start, end = rules.schedule(
            {"starts_at": "2026-01-05T09:00:00+10:00", "ends_at": "2026-01-04T00:00:00Z"}
        )
        self.assertEqual(start, datetime(2026, 1, 4, 23, 0))
        self.assertEqual(end, start)

    def test_a_patient_states_name_mobile_first_e164_and_the_birth_date(self):
        facts = rules.patient(
            {
                "first_name": " Ada ",
                "last_name": "Lovelace",
                "email": "Ada@Example.com",
                "date_of_birth": "1815-12-10",
                "patient_phone_numbers": [
                    {"phone_type": "Home", "number": "03 9123 4567"},
                    {"phone_type": "Mobile", "number": "0412 345 678"},
                ],
            },
            "AU",
        )
        self.assertEqual(fact(facts, "partner", "name").expected, "Ada Lovelace")
        self.assertEqual(fact(facts, "partner", "phone").expected, "+61412345678")
        born = fact(facts, "partner", "cliniko_date_of_birth")
        self.assertEqual(born.expected, date(1815, 12, 10))
        email = fact(facts, "partner", "email")
        self.assertTrue(rules.matches(email.rule, email.expected, "ada@example.com"))
        lines = fact(facts, "lead", "cliniko_phone_numbers")
        both = "Mobile: +61412345678\nHome: +61391234567"
        self.assertTrue(rules.matches("lines", lines.expected, both))
        self.assertFalse(rules.matches("lines", lines.expected, "Mobile: +61412345678"))

    def test_history_text_is_found_in_order_in_the_stripped_body(self):
        note = {
            "title": "Initial consult",
            "content": {
                "sections": [
                    {
                        "name": "Subjective",
                        "questions": [
                            {"name": "Pain", "type": "paragraph", "answer": PAIN},
                            {"name": "Side", "type": "radiobuttons", "answers": SIDES},
                        ],
                    }
                ]
            },
        }
        wanted = rules.history_text("treatment_notes", note)
        body = (
            "<p><b>Initial consult</b></p><h4>Subjective</h4><p><b>Pain</b></p>"
            "<div><p>Lower <b>back</b></p></div><p><b>Side</b></p><ul><li>Left</li></ul>"
        )
        self.assertTrue(rules.matches("text", wanted, body))
        self.assertFalse(rules.matches("text", wanted, body.replace("Left", "Right")))
        self.assertFalse(rules.matches("text", wanted, "<p>Side Left Pain</p>"), "order")

    def test_an_invoice_states_number_total_and_status(self):
        facts = rules.invoice({"number": 17, "total_amount": "120.50", "status": 20})
        self.assertEqual(fact(facts, "invoice", "number").expected, "17")
        total = fact(facts, "invoice", "total_amount")
        self.assertTrue(rules.matches(total.rule, total.expected, 120.5))
        self.assertEqual(fact(facts, "invoice", "status").expected, "paid")
