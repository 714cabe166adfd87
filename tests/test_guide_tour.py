"""The guided path in a real browser (headless Chromium, 1440x900) during a migration of the
sandbox clinic (the full run stopped midway, in the background): the overview's next action,
the run in progress, a patient's lead and the calendar opened from it.

With ``CLINIKO_SCREENSHOTS=1`` the same tours also save the screenshots of the Apps page
(``static/description/cliniko_*.png``; ``tools/screenshots.sh`` regenerates them).
"""

import base64
import io
import json
import os
import re
import struct
import time
from pathlib import Path
from unittest.mock import patch

from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser

from .common import ClinikoSandboxCase

SIGNAL = "cliniko-screenshot:"
APPOINTMENTS = ("individual_appointments", "group_appointments", "attendees")
DESCRIPTION = Path(__file__).resolve().parents[1] / "static" / "description"
MAX_BYTES = 300_000


def screenshots_wanted():
    return os.environ.get("CLINIKO_SCREENSHOTS") == "1"


def small_png(data):
    """The PNG with its colours reduced (a web client's flat colours survive it), so each
    picture of the Apps page stays small."""
    from PIL import Image  # noqa: PLC0415 - only when screenshots are taken

    image = Image.open(io.BytesIO(data)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    return out.getvalue()


def save_screenshot(browser, name, future):
    data = base64.b64decode(future.result()["data"])
    (DESCRIPTION / ("cliniko_%s.png" % name)).write_bytes(small_png(data))
    browser._websocket_send(
        "Runtime.evaluate", params={"expression": "window.clinikoShotDone = %s" % json.dumps(name)}
    )


_handle_console = ChromeBrowser._handle_console
_navigate_to = ChromeBrowser.navigate_to
CLINIC_TZ = "Australia/Melbourne"  # the sandbox clinic's businesses


def navigate_in_clinic_time(browser, url, wait_stop=False):
    """The web client shows times in the browser's time zone: the front desk's is the
    clinic's."""
    browser._websocket_request("Emulation.setTimezoneOverride", params={"timezoneId": CLINIC_TZ})
    return _navigate_to(browser, url, wait_stop=wait_stop)


def handle_console(browser, type, args=None, **kw):  # pylint: disable=redefined-builtin
    """Chrome's console, plus the tour's screenshot requests (``shot`` in the tour)."""
    _handle_console(browser, type, args=args, **kw)
    text = (args or [{}])[0].get("value")
    if isinstance(text, str) and text.startswith(SIGNAL):
        name = text[len(SIGNAL) :]
        future = browser._websocket_send(
            "Page.captureScreenshot", params={"format": "png"}, with_future=True
        )
        future.add_done_callback(lambda done: save_screenshot(browser, name, done))


@tagged("post_install", "-at_install")
class TestGuideTour(HttpCase, ClinikoSandboxCase):
    """One migration of the sandbox clinic: connection tested, audited, the full run midway."""

    sandbox_options = {"seed": 3, "patients": 8}
    # practitioners as (archived) placeholder users: the calendar shows whom each visit is with
    default_unmatched_practitioners = "placeholder"
    browser_size = "1440x900"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.connection.write({"name": "Harbourside Physio"})
        cls.env.ref("base.user_admin").tz = CLINIC_TZ
        cls.connection.cliniko_test_connection()
        cls.connection.action_run_source_audit()
        # The full run in the background, as the scheduler works on it, stopped midway: the
        # appointments are in, the history is still to come.
        cls.full_run = (
            cls.env["cliniko.migration.run"]
            .with_context(cliniko_accept_proposed_map=True, cliniko_background=True)
            .create(
                {
                    "connection_id": cls.connection.id,
                    "unmatched_practitioners": cls.default_unmatched_practitioners,
                }
            )
        )
        cls.full_run.with_context(cliniko_background=True).action_start()
        Run = cls.env["cliniko.migration.run"].with_context(cliniko_batch_pages=1)
        for _batch in range(100):
            lines = cls.full_run.resource_ids.filtered(lambda line: line.resource in APPOINTMENTS)
            if lines and all(lines.mapped("done")):
                break
            Run._cron_process_runs()
        assert cls.full_run.state == "running", (cls.full_run.state, cls.full_run.error_message)

    def tour(self, url, name):
        self.tour_started = time.time()
        code = "odoo.startTour(%s, %s)" % (
            json.dumps(name),
            json.dumps({"stepDelay": 0, "startUrl": url}),
        )
        with patch.object(ChromeBrowser, "navigate_to", navigate_in_clinic_time):
            if screenshots_wanted():
                code = "window.clinikoScreenshots = true; " + code
                with patch.object(ChromeBrowser, "_handle_console", handle_console):
                    self.start_tour(url, name, login="admin", code=code)
            else:
                self.start_tour(url, name, login="admin", code=code)

    def test_the_overview_names_the_next_action_and_opens_it(self):
        self.assertLess(self.full_run.progress, 100)
        self.assertEqual(self.connection.overview_run_state, "todo")
        self.assertEqual(self.connection.overview_verify_state, "blocked")
        self.assertEqual(self.connection.overview_next_step, "run")
        self.tour(
            "/odoo/action-cliniko_crm_migration.action_cliniko_migration_overview/%s"
            % self.connection.id,
            "cliniko_overview_next_action",
        )
        if screenshots_wanted():
            self.assertScreenshots("overview", "run")

    def test_a_patient_lead_and_the_calendar_from_its_meeting_button(self):
        patients = self.env["crm.lead"].search([("cliniko_lead_kind", "=", "patient")])
        patient = patients.filtered(
            lambda lead: (
                lead.city and lead.cliniko_date_of_birth and lead.sudo()._cliniko_patient_events()
            )
        ).sorted(lambda lead: (not lead.cliniko_medical_alerts, lead.id))[:1]
        self.assertTrue(patient, "the sandbox has a patient with an address and appointments")
        self.tour(
            "/odoo/action-cliniko_crm_migration.action_cliniko_patients/%s" % patient.id,
            "cliniko_guide_patient",
        )
        if screenshots_wanted():
            self.assertScreenshots("patient", "calendar")

    def assertScreenshots(self, *names):
        for name in names:
            path = DESCRIPTION / ("cliniko_%s.png" % name)
            self.assertTrue(path.exists(), path)
            self.assertGreater(path.stat().st_mtime, self.tour_started, "%s is not new" % path)
            self.assertLess(path.stat().st_size, MAX_BYTES, path)

    def test_the_apps_page_shows_the_tours_screenshots(self):
        html = (DESCRIPTION / "index.html").read_text()
        self.assertIn("Cliniko Migration", html)
        self.assertIn("Overview", html)
        pictures = re.findall(r'<img src="([^"]+)"', html)
        self.assertEqual(
            sorted(pictures),
            ["cliniko_%s.png" % name for name in ("calendar", "overview", "patient", "run")],
        )
        for picture in pictures:
            data = (DESCRIPTION / picture).read_bytes()
            with self.subTest(picture=picture):
                self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
                self.assertEqual(struct.unpack(">II", data[16:24]), (1440, 900))
                self.assertLess(len(data), MAX_BYTES)
