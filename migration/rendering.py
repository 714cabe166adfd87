"""Cliniko's structured history -> readable, sanitised HTML for the chatter (pure, no Odoo).

Treatment notes and patient forms hold ``{"sections": [{"name", "description"?, "questions":
[{"name", "type", "answer"?, "answers"?, "other"?, "signature_id"?}]}]}``. Each question becomes
its name in bold and its answer: text and dates as escaped text, ``paragraph`` answers (a little
HTML) through an allow-list, checkboxes and radio buttons as the list of selected answers (plus
"Other"), a signature as "Signed" and its id (the image is never fetched). Nothing is truncated
or split. Communications (SMS, e-mail, letters, calls, memos) get a header with the channel,
direction and addresses above their content.

Every piece of text taken from Cliniko is escaped; the only markup that comes through is what
``sanitize_fragment`` allows. The ORM sanitises ``mail.message.body`` once more on create.
"""

import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Tags Cliniko allows in treatment notes' paragraph answers, plus harmless inline ones.
ALLOWED_TAGS = frozenset(
    "p div br ul ol li blockquote h1 h2 h3 h4 h5 h6 b i u s strong em a span small sub sup "
    "pre code hr".split()
)
VOID_TAGS = frozenset(("br", "hr"))
# Tags whose content is dropped with them, not shown as text.
DROPPED_TAGS = frozenset(
    "script style iframe object embed template noscript title head svg math textarea select".split()
)
BLOCK_TAGS = frozenset("p div br ul ol li blockquote h1 h2 h3 h4 h5 h6 pre hr tr".split())
SAFE_SCHEMES = ("http://", "https://", "mailto:")
NO_ANSWER = "\u2014"  # an em dash: the question was left empty
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Markup that makes e-mail content HTML (a plain-text "<sorry>" does not).
_HTML_TAG_RE = re.compile(
    r"<\s*/?\s*(html|body|head|p|div|br|span|a|b|i|u|strong|em|ul|ol|li|table|tr|td|th|tbody"
    r"|img|font|center|blockquote|h[1-6]|hr|pre|style|script)(\s[^<>]*)?/?\s*>",
    re.IGNORECASE,
)
_SPACES_RE = re.compile(r"[ \t\r\f\v]+")
_NEWLINES_RE = re.compile(r"\s*\n\s*")

COMMUNICATION_TYPES = {1: "SMS", 2: "Email", 3: "Phone call", 4: "Other"}
DIRECTIONS = {1: "Sent", 2: "Received"}


def escape(value):
    """Text from Cliniko as HTML text (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def _clean(value):
    value = "" if value is None else str(value).strip()
    return value or None


def safe_url(value):
    """``value`` if it is an http(s) or mailto link, else None."""
    value = _clean(value)
    if value and value.lower().startswith(SAFE_SCHEMES):
        return value
    return None


class _Sanitizer(HTMLParser):
    """Rebuilds a fragment keeping only allowed tags, no attributes but a safe ``href``."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.stack = []
        self.dropping = 0

    def handle_starttag(self, tag, attrs):
        if tag in DROPPED_TAGS:
            self.dropping += 1
            return
        if self.dropping or tag not in ALLOWED_TAGS:
            return
        if tag in VOID_TAGS:
            self.out.append("<%s>" % tag)
            return
        if tag == "a":
            href = safe_url(dict(attrs).get("href"))
            if href:
                self.out.append(
                    '<a href="%s" target="_blank" rel="noopener noreferrer">' % escape(href)
                )
            else:
                self.out.append("<a>")
        else:
            self.out.append("<%s>" % tag)
        self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        if tag in VOID_TAGS and not self.dropping:
            self.out.append("<%s>" % tag)
        elif tag not in DROPPED_TAGS:
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in DROPPED_TAGS:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping or tag not in self.stack:
            return
        while self.stack:
            open_tag = self.stack.pop()
            self.out.append("</%s>" % open_tag)
            if open_tag == tag:
                break

    def handle_data(self, data):
        if not self.dropping:
            self.out.append(escape(data))

    def result(self):
        self.close()
        self.out.extend("</%s>" % tag for tag in reversed(self.stack))
        self.stack = []
        return "".join(self.out)


def sanitize_fragment(value):
    """A fragment of HTML from Cliniko reduced to the allowed tags, always well formed."""
    if not value:
        return ""
    parser = _Sanitizer()
    parser.feed(str(value))
    return parser.result()


def looks_like_html(value):
    return bool(value and _HTML_TAG_RE.search(str(value)))


def plain_text_html(value):
    """Plain text as HTML: escaped, line breaks kept."""
    lines = str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<br>".join(escape(line) for line in lines)


def text_or_html(value):
    """Content that may be plain text or HTML (e-mails): HTML is sanitised, text escaped."""
    if value is None or not str(value).strip():
        return ""
    if looks_like_html(value):
        return sanitize_fragment(value)
    return plain_text_html(value)


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.dropping = 0

    def handle_starttag(self, tag, attrs):
        if tag in DROPPED_TAGS:
            self.dropping += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in DROPPED_TAGS:
            self.dropping = max(0, self.dropping - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.dropping:
            self.parts.append(data)


def html_to_text(value):
    """The readable text of an HTML fragment: entities decoded, one line per block."""
    if not value:
        return ""
    parser = _TextExtractor()
    parser.feed(str(value))
    parser.close()
    text = _SPACES_RE.sub(" ", "".join(parser.parts))
    return _NEWLINES_RE.sub("\n", text).strip()


# -- structured content ------------------------------------------------------------------------


def selected_answers(question):
    """The chosen values of a checkboxes/radiobuttons question, "Other" included."""
    chosen = [
        _clean(answer.get("value"))
        for answer in question.get("answers") or []
        if isinstance(answer, dict) and answer.get("selected")
    ]
    chosen = [value for value in chosen if value]
    other = question.get("other")
    if isinstance(other, dict) and other.get("selected"):
        chosen.append("Other: %s" % (_clean(other.get("value")) or NO_ANSWER))
    return chosen


def signature_text(question):
    signature_id = _clean(question.get("signature_id"))
    if signature_id:
        return "Signed (signature %s)" % signature_id
    if _clean(question.get("signature")):
        return "Signed"
    return "Not signed"


def _question_html(question):
    name = escape(_clean(question.get("name")) or "Question")
    kind = (question.get("type") or "").strip().lower()
    answer = question.get("answer")
    if kind in ("checkboxes", "radiobuttons") or (
        not _clean(answer) and question.get("answers") is not None
    ):
        chosen = selected_answers(question)
        if not chosen:
            return "<p><b>%s</b>: %s</p>" % (name, NO_ANSWER)
        items = "".join("<li>%s</li>" % escape(value) for value in chosen)
        return "<p><b>%s</b></p><ul>%s</ul>" % (name, items)
    if kind == "signature":
        return "<p><b>%s</b>: %s</p>" % (name, escape(signature_text(question)))
    if not _clean(answer):
        return "<p><b>%s</b>: %s</p>" % (name, NO_ANSWER)
    if kind == "paragraph":
        return "<p><b>%s</b></p><div>%s</div>" % (name, sanitize_fragment(answer))
    # text, date and anything unknown: one escaped value
    return "<p><b>%s</b>: %s</p>" % (name, escape(_clean(answer)))


def render_content(content):
    """The sections and questions of a note or form as HTML (every question, nothing cut)."""
    parts = []
    for section in _sections(content):
        title = _clean(section.get("name"))
        if title:
            parts.append("<h4>%s</h4>" % escape(title))
        description = _clean(section.get("description"))
        if description:
            parts.append("<div><i>%s</i></div>" % sanitize_fragment(description))
        for question in section.get("questions") or []:
            if isinstance(question, dict):
                parts.append(_question_html(question))
    return "".join(parts)


def _sections(content):
    if not isinstance(content, dict):
        return []
    return [section for section in content.get("sections") or [] if isinstance(section, dict)]


def _question_text(question):
    name = _clean(question.get("name")) or "Question"
    kind = (question.get("type") or "").strip().lower()
    answer = question.get("answer")
    if kind in ("checkboxes", "radiobuttons") or (
        not _clean(answer) and question.get("answers") is not None
    ):
        value = ", ".join(selected_answers(question))
    elif kind == "signature":
        value = signature_text(question)
    elif kind == "paragraph":
        value = html_to_text(sanitize_fragment(answer)).replace("\n", " ")
    else:
        value = _clean(answer) or ""
    return "%s: %s" % (name, value or NO_ANSWER)


def content_text(content):
    """The content as plain text: one line per question."""
    return "\n".join(
        _question_text(question)
        for section in _sections(content)
        for question in section.get("questions") or []
        if isinstance(question, dict)
    )


def summarize(text, limit=300):
    """The first ``limit`` characters of ``text`` on one line, "…" when cut."""
    flat = " ".join(str(text or "").split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "\u2026"


def format_datetime(value, tz=None):
    """A Cliniko UTC timestamp for people, in the clinic's time zone ``tz`` (an IANA name)
    when given: ``2016-07-21 13:45 AEST``; without one ``2016-07-21 03:45 UTC``."""
    value = _clean(value)
    if not value:
        return None
    match = re.match(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})", value)
    if not match:
        return value
    if tz and tz != "UTC":
        try:
            moment = datetime.strptime(" ".join(match.groups()), "%Y-%m-%d %H:%M")
            local = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(tz))
        except (ValueError, ZoneInfoNotFoundError):
            return "%s %s UTC" % match.groups()
        return local.strftime("%Y-%m-%d %H:%M %Z")
    return "%s %s UTC" % match.groups()


def _badge(label, tone):
    return '<span class="badge text-bg-%s">%s</span>' % (tone, escape(label))


def _facts(pairs):
    shown = ["%s: %s" % (escape(label), escape(value)) for label, value in pairs if value]
    return "<p>%s</p>" % "<br>".join(shown) if shown else ""


# -- whole messages --------------------------------------------------------------------------


def render_treatment_note(record, author_note=None, tz=None):
    """A treatment note as the body of a chatter note.

    ``author_note`` is a line added when the practitioner has no Odoo user (the message is
    then authored by the system, so the practitioner's name must be in the body).
    """
    draft = bool(record.get("draft"))
    badges = [_badge("Draft", "warning") if draft else _badge("Final", "success")]
    if _clean(record.get("archived_at")):
        badges.append(_badge("Archived in Cliniko", "secondary"))
    title = _clean(record.get("title")) or "Treatment note"
    header = "<p>%s <b>%s</b></p>" % (" ".join(badges), escape(title))
    facts = _facts(
        [
            ("Practitioner", _clean(record.get("author_name"))),
            ("Written", format_datetime(record.get("created_at"), tz)),
            ("Finalised", None if draft else format_datetime(record.get("finalized_at"), tz)),
            ("Archived", format_datetime(record.get("archived_at"), tz)),
        ]
    )
    note = "<p><i>%s</i></p>" % escape(author_note) if author_note else ""
    body = render_content(record.get("content")) or "<p><i>This note has no content.</i></p>"
    return header + facts + note + body


def note_summary(record, limit=300):
    """A short plain-text summary of a treatment note for the patient's lead."""
    title = _clean(record.get("title")) or "Treatment note"
    return summarize("%s \u2014 %s" % (title, content_text(record.get("content"))), limit)


def communication_channel(record):
    try:
        code = int(record.get("type_code") or 0)
    except (TypeError, ValueError):
        code = 0
    return COMMUNICATION_TYPES.get(code) or _clean(record.get("type")) or "Message"


def communication_direction(record):
    try:
        code = int(record.get("direction_code") or 0)
    except (TypeError, ValueError):
        code = 0
    return DIRECTIONS.get(code) or _clean(record.get("direction_description")) or ""


def render_communication(record, tz=None):
    """An SMS, e-mail, letter, phone call or memo as the body of a chatter message."""
    channel = communication_channel(record)
    direction = communication_direction(record)
    badges = []
    if record.get("confidential"):
        badges.append(_badge("Confidential", "danger"))
    if _clean(record.get("archived_at")):
        badges.append(_badge("Archived in Cliniko", "secondary"))
    heading = " \u00b7 ".join(
        escape(part) for part in (direction, _clean(record.get("category"))) if part
    )
    header = "<p>%s<b>%s</b>%s</p>" % (
        "".join(badge + " " for badge in badges),
        escape(channel),
        " \u00b7 " + heading if heading else "",
    )
    facts = _facts(
        [
            ("From", _clean(record.get("from"))),
            ("To", _clean(record.get("to"))),
            ("Subject", _clean(record.get("content_subject"))),
            ("Date", format_datetime(record.get("created_at"), tz)),
        ]
    )
    raw = record.get("content")
    if channel == "Email":
        content = text_or_html(raw)
    else:
        content = plain_text_html(raw) if raw is not None and str(raw).strip() else ""
    body = (
        "<div>%s</div>" % content
        if content
        else "<p><i>No content (not recorded, or hidden by Cliniko permissions).</i></p>"
    )
    return header + facts + body


def render_patient_form(record, tz=None):
    """A completed patient form: its answers, when it was sent and completed, and its link."""
    name = _clean(record.get("name")) or "Patient form"
    badges = [
        _badge("Completed", "success")
        if _clean(record.get("completed_at"))
        else _badge("Not completed", "warning")
    ]
    if record.get("restricted_to_practitioner"):
        badges.append(_badge("Restricted to practitioner", "info"))
    if _clean(record.get("archived_at")):
        badges.append(_badge("Archived in Cliniko", "secondary"))
    header = "<p>%s <b>Patient form: %s</b></p>" % (" ".join(badges), escape(name))
    facts = _facts(
        [
            ("Sent", format_datetime(record.get("created_at"), tz)),
            ("Completed", format_datetime(record.get("completed_at"), tz)),
        ]
    )
    url = safe_url(record.get("url"))
    link = (
        '<p><a href="%s" target="_blank" rel="noopener noreferrer">Open the form in Cliniko</a>'
        "</p>" % escape(url)
        if url
        else ""
    )
    body = render_content(record.get("content")) or "<p><i>This form has no answers.</i></p>"
    return header + facts + link + body
