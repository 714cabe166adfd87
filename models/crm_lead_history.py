"""Clinical and message history on the patient's lead: the latest note at a glance.

The history itself (treatment notes, communications, patient forms) is chatter messages on the
patient's lead, written by ``migration/history.py``; the files are ``ir.attachment`` records on
the same lead (``models/ir_attachment.py``). This file adds what the lead and the messages
need to show it: a plain-text summary of the latest final treatment note, the lead's Cliniko
files, and whether a migrated note was a draft or final in Cliniko.
"""

from odoo import fields, models

NOTE_STATES = [("draft", "Draft"), ("final", "Final")]


class CrmLead(models.Model):
    _inherit = "crm.lead"

    cliniko_last_note_summary = fields.Text(
        string="Latest Treatment Note",
        readonly=True,
        copy=False,
        help="The beginning of the latest final treatment note migrated from Cliniko, as plain "
        "text. The whole note is in the chatter.",
    )
    cliniko_last_note_date = fields.Datetime(
        string="Latest Treatment Note Date", readonly=True, copy=False
    )
    cliniko_attachment_ids = fields.One2many(
        "ir.attachment",
        "res_id",
        string="Cliniko Files",
        domain=[("res_model", "=", "crm.lead"), ("cliniko_created_at", "!=", False)],
        readonly=True,
    )


class MailMessage(models.Model):
    _inherit = "mail.message"

    # Cliniko's own restriction (a form restricted to its practitioner, a confidential memo):
    # a global record rule lets only that user and the migration managers read it.
    cliniko_restricted = fields.Boolean(string="Restricted in Cliniko", readonly=True, copy=False)
    cliniko_restricted_user_id = fields.Many2one(
        "res.users", string="Restricted To", readonly=True, copy=False, ondelete="set null"
    )
    cliniko_note_state = fields.Selection(
        NOTE_STATES,
        string="Cliniko Note Status",
        readonly=True,
        copy=False,
        help="Set on treatment notes migrated from Cliniko: whether the note was still a draft "
        "or final there.",
    )
