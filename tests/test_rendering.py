"""Cliniko's structured notes, forms and messages rendered as sanitised HTML (no database)."""

from ..migration.rendering import (
    content_text,
    html_to_text,
    note_summary,
    render_communication,
    render_content,
    render_patient_form,
    render_treatment_note,
    sanitize_fragment,
    selected_answers,
    summarize,
    text_or_html,
)

NOTE = {
    "id": "1",
    "created_at": "2017-06-12T16:56:57Z",
    "finalized_at": "2017-06-12T17:30:00Z",
    "title": "Standard Consultation",
    "draft": False,
    "author_name": "Natasha Hermiston",
    "content": {
        "sections": [
            {
                "name": "Section 1",
                "description": "<div>Ask about <b>sleep</b></div>",
                "questions": [
                    {
                        "name": "Patient progress report",
                        "type": "paragraph",
                        "answer": "<div>Pain &lt; 3/10 &amp; improving</div><div>HEP<br>done</div>",
                    },
                    {"name": "Assessment", "type": "text", "answer": "R knee <swollen> & warm"},
                    {"name": "Pain score", "type": "text"},
                ],
            },
            {
                "name": "Section 2",
                "questions": [
                    {
                        "name": "Choose just one",
                        "type": "radiobuttons",
                        "answers": [
                            {"value": "Choice 1"},
                            {"value": "Choice 2", "selected": True},
                            {"value": "Choice 3"},
                        ],
                    },
                    {
                        "name": "Regions",
                        "type": "checkboxes",
                        "answers": [
                            {"value": "Neck", "selected": True},
                            {"value": "Hip"},
                            {"value": "Knee", "selected": True},
                        ],
                        "other": {"enabled": True, "selected": True, "value": "Left wrist"},
                    },
                    {"name": "Next review", "type": "date", "answer": "2017-06-26"},
                ],
            },
        ]
    },
}


def test_every_question_and_answer_is_rendered():
    text = html_to_text(render_treatment_note(NOTE))
    for question in (
        "Patient progress report",
        "Assessment",
        "Pain score",
        "Choose just one",
        "Regions",
        "Next review",
    ):
        assert question in text
    for answer in (
        "Pain < 3/10 & improving",
        "R knee <swollen> & warm",
        "Choice 2",
        "Neck",
        "Knee",
        "Other: Left wrist",
        "2017-06-26",
    ):
        assert answer in text
    assert "Section 1" in text and "Section 2" in text
    assert "Ask about sleep" in text


def test_only_selected_choices_are_listed():
    assert selected_answers(NOTE["content"]["sections"][1]["questions"][0]) == ["Choice 2"]
    text = html_to_text(render_content(NOTE["content"]))
    assert "Choice 1" not in text and "Choice 3" not in text and "Hip" not in text


def test_unanswered_questions_show_a_dash():
    html = render_content({"sections": [{"questions": [{"name": "Pain score", "type": "text"}]}]})
    assert html_to_text(html) == "Pain score: \u2014"


def test_text_answers_are_escaped_not_interpreted():
    html = render_treatment_note(NOTE)
    assert "R knee &lt;swollen&gt; &amp; warm" in html
    assert "<swollen>" not in html


def test_paragraph_answers_keep_their_allowed_markup():
    html = render_content(NOTE["content"])
    assert "<div>Pain &lt; 3/10 &amp; improving</div><div>HEP<br>done</div>" in html


def test_scripts_styles_attributes_and_unsafe_links_are_removed():
    dirty = (
        '<div onclick="steal()" style="color:red">ok<script>alert(1)</script>'
        '<style>p{}</style><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a>'
        '<a href="https://example.com/a?b=1&c=2" onclick="y">link</a><iframe>no</iframe></div>'
    )
    clean = sanitize_fragment(dirty)
    assert clean == (
        '<div>ok<a>x</a><a href="https://example.com/a?b=1&amp;c=2" target="_blank" '
        'rel="noopener noreferrer">link</a></div>'
    )


def test_broken_markup_is_closed():
    assert (
        sanitize_fragment("<div><b>bold<ul><li>one")
        == "<div><b>bold<ul><li>one</li></ul></b></div>"
    )
    assert sanitize_fragment("text</div></b>more") == "textmore"


def test_draft_and_final_are_visible():
    assert "Draft" in html_to_text(render_treatment_note(dict(NOTE, draft=True)))
    final = html_to_text(render_treatment_note(NOTE))
    assert "Final" in final and "Draft" not in final
    assert "Finalised: 2017-06-12 17:30 UTC" in final
    assert "Written: 2017-06-12 16:56 UTC" in final
    assert "Practitioner: Natasha Hermiston" in final


def test_a_missing_author_is_named_in_the_body():
    text = html_to_text(render_treatment_note(NOTE, "Written in Cliniko by Natasha, no user."))
    assert "Written in Cliniko by Natasha, no user." in text


def test_a_long_note_is_rendered_whole():
    sentence = "<div>Strength 4/5 hip abductors (L) &lt; (R); reviewed clamshells.</div>"
    answer = sentence * 3000  # about 200 KB
    note = dict(
        NOTE,
        content={
            "sections": [{"questions": [{"name": "Plan", "type": "paragraph", "answer": answer}]}]
        },
    )
    html = render_treatment_note(note)
    assert len(html) > len(answer)
    assert html.count("reviewed clamshells") == 3000
    assert html_to_text(answer) in html_to_text(html)


def test_content_text_and_summary():
    text = content_text(NOTE["content"])
    assert "Choose just one: Choice 2" in text
    assert "Regions: Neck, Knee, Other: Left wrist" in text
    summary = note_summary(NOTE, limit=60)
    assert len(summary) == 60 and summary.endswith("\u2026")
    assert summary.startswith("Standard Consultation \u2014 Patient progress report: Pain <")
    assert summarize("short  text\n here") == "short text here"


def test_empty_content_says_so():
    assert "no content" in html_to_text(render_treatment_note(dict(NOTE, content=None)))


def test_sms_and_memo_headers():
    sms = {
        "type_code": 1,
        "type": "SMS",
        "direction_code": 2,
        "category": "Reply from Patient",
        "from": "+61412345678",
        "to": "FitzroyPhysio",
        "content": "Running 5 min late <sorry>!\nSee you",
        "created_at": "2025-01-10T04:15:00Z",
    }
    html = render_communication(sms)
    text = html_to_text(html)
    assert text.startswith("SMS \u00b7 Received \u00b7 Reply from Patient")
    assert "From: +61412345678" in text and "To: FitzroyPhysio" in text
    assert "Running 5 min late &lt;sorry&gt;!<br>See you" in html
    memo = {"type_code": 3, "direction_code": 1, "category": "Memo", "confidential": True}
    text = html_to_text(render_communication(memo))
    assert "Confidential" in text and "Phone call" in text and "No content" in text


def test_email_html_content_is_sanitised_and_plain_text_escaped():
    assert text_or_html("<p>Hello<script>x()</script></p>") == "<p>Hello</p>"
    assert text_or_html("a < b & c") == "a &lt; b &amp; c"
    assert text_or_html("Sorry <late>\nBye") == "Sorry &lt;late&gt;<br>Bye"
    assert text_or_html("<P>Hi</P>") == "<p>Hi</p>"
    assert text_or_html(None) == ""


def test_patient_form_shows_answers_signature_and_link():
    form = {
        "name": "New Patient Intake",
        "url": "https://clinic.au1.cliniko.com/f/?abc",
        "created_at": "2020-12-05T16:50:29Z",
        "completed_at": "2020-12-05T16:50:40Z",
        "restricted_to_practitioner": True,
        "content": {
            "sections": [
                {
                    "name": "Privacy Policy",
                    "description": "<div>We keep it private.</div>",
                    "questions": [
                        {
                            "name": "I accept the above privacy policy",
                            "type": "signature",
                            "signature_id": "565805660088829113",
                        },
                        {"name": "Witness", "type": "signature"},
                    ],
                }
            ]
        },
    }
    html = render_patient_form(form)
    text = html_to_text(html)
    assert "Patient form: New Patient Intake" in text
    assert "I accept the above privacy policy: Signed (signature 565805660088829113)" in text
    assert "Witness: Not signed" in text
    assert "Completed: 2020-12-05 16:50 UTC" in text
    assert "Restricted to practitioner" in text
    assert 'href="https://clinic.au1.cliniko.com/f/?abc"' in html
    assert "href" not in render_patient_form(dict(form, url="javascript:alert(1)"))
