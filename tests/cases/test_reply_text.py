"""The trimmer keeps what the customer wrote and drops quoted history and signatures."""

from __future__ import annotations

import pytest

from cases.inbound.reply_text import html_to_text, trim_reply


def test_plain_text_is_kept_as_written():
    assert trim_reply("Hello,\n\nthe job runs again.\n") == "Hello,\n\nthe job runs again."


def test_gmail_style_quote_is_dropped():
    text = (
        "Fixed after the upgrade.\n\n"
        "On Sat, 28 Nov 2026 at 09:00, Support <support@example.com> wrote:\n"
        "> Could you upgrade?\n"
    )
    assert trim_reply(text) == "Fixed after the upgrade."


def test_reply_header_wrapped_over_two_lines_is_recognised():
    text = (
        "Thanks!\n\n"
        "On Sat, 28 Nov 2026 at 09:00, Support Team <support@example.com>\n"
        "wrote:\n"
        "> Please confirm.\n"
    )
    assert trim_reply(text) == "Thanks!"


@pytest.mark.parametrize(
    "header",
    [
        "Le sam. 28 nov. 2026 à 09:00, Support <support@example.com> a écrit :",
        "Am Sa., 28. Nov. 2026 um 09:00 Uhr schrieb Support <support@example.com>:",
        "El sáb, 28 nov 2026 a las 09:00, Support (<support@example.com>) escribió:",
    ],
)
def test_translated_reply_headers_are_recognised(header):
    assert trim_reply(f"Merci.\n\n{header}\n> Bonjour\n") == "Merci."


def test_outlook_original_message_block_is_dropped():
    text = (
        "Approved, go ahead.\n\n"
        "-----Original Message-----\n"
        "From: Support <support@example.com>\n"
        "Sent: Saturday, 28 November 2026 09:00\n"
        "To: Alex\n"
        "Subject: [CS-1001] We need your input\n\n"
        "May we restart the cluster?\n"
    )
    assert trim_reply(text) == "Approved, go ahead."


def test_outlook_header_block_without_separator_is_dropped():
    text = (
        "Yes, restart it.\n\n"
        "From: Support <support@example.com>\n"
        "Sent: Saturday, 28 November 2026 09:00\n"
        "To: Alex <alex@example.com>\n"
        "Subject: RE: [CS-1001] We need your input\n\n"
        "May we restart the cluster?\n"
    )
    assert trim_reply(text) == "Yes, restart it."


def test_signature_after_standard_separator_is_dropped():
    text = "See attached logs.\n\n-- \nAlex Customer\nExample Ltd\n"
    assert trim_reply(text) == "See attached logs."


@pytest.mark.parametrize(
    "signature", ["Sent from my iPhone", "Get Outlook for Android", "Sent from Mail for Windows"]
)
def test_mobile_signatures_are_dropped(signature):
    assert trim_reply(f"On it.\n\n{signature}\n") == "On it."


def test_interleaved_answers_keep_the_answers_and_drop_the_quotes():
    text = "> Which version?\n2.4.1\n> Which region?\neu-west-1\n"
    assert trim_reply(text) == "2.4.1\neu-west-1"


def test_sentence_that_merely_starts_with_on_and_ends_with_wrote_is_kept():
    text = "On the failing node the job wrote:\nERROR disk full\n"
    assert trim_reply(text) == "On the failing node the job wrote:\nERROR disk full"


def test_windows_line_endings_are_normalised():
    assert trim_reply("Line one\r\nLine two\r\n") == "Line one\nLine two"


def test_only_a_quote_leaves_nothing():
    assert trim_reply("> quoted only\n> more\n") == ""


def test_html_is_turned_into_text_without_quoted_blocks():
    markup = (
        "<html><head><style>p {color: red}</style></head><body>"
        "<p>Restart&nbsp;done.</p><p>Regards<br>Alex</p>"
        "<blockquote type=cite>Please restart</blockquote></body></html>"
    )
    assert trim_reply(html_to_text(markup)) == "Restart done.\nRegards\nAlex"


def test_gmail_quote_div_is_dropped_from_html():
    markup = (
        '<div dir="ltr">All good.</div><br><div class="gmail_quote"><div>On Sat wrote:</div></div>'
    )
    assert trim_reply(html_to_text(markup)) == "All good."


def test_header_block_introducing_a_quote_keeps_the_answer_written_below_it():
    text = (
        "-----Original Message-----\n"
        "From: Support <support@example.com>\n"
        "Sent: Tuesday, March 3, 2026 10:00 AM\n"
        "To: Alex Morgan <alex@example.org>\n"
        "Subject: [CS-1001] We need your input\n\n"
        "> May we restart the cluster?\n\n"
        "Yes, tonight after 22:00.\n"
    )
    assert trim_reply(text) == "Yes, tonight after 22:00."


def test_reply_header_left_without_its_quote_is_dropped():
    text = "Thanks!\n\nOn Tue, 3 Mar 2026 at 10:00, Support <support@example.com> wrote:\n"
    assert trim_reply(text) == "Thanks!"


def test_a_sentence_that_starts_like_a_phone_footer_is_kept():
    text = "Sent from my laptop, the upload failed again.\n"
    assert trim_reply(text) == "Sent from my laptop, the upload failed again."


def test_signature_stops_at_a_forwarded_message_which_is_kept():
    text = (
        "FYI\n\n-- \nAlex Morgan\n\n"
        "---------- Forwarded message ---------\n"
        "From: Sam Lee <sam@example.org>\n"
        "Date: Tue, 3 Mar 2026 at 08:12\n"
        "Subject: Export\n"
        "To: Alex Morgan <alex@example.org>\n\n"
        "The export is empty.\n"
    )
    assert trim_reply(text) == (
        "FYI\n\n---------- Forwarded message ---------\n"
        "From: Sam Lee <sam@example.org>\n"
        "Date: Tue, 3 Mar 2026 at 08:12\n"
        "Subject: Export\n"
        "To: Alex Morgan <alex@example.org>\n\n"
        "The export is empty."
    )


def test_html_answer_below_a_thunderbird_quote_is_kept():
    markup = (
        '<div class="moz-cite-prefix">On 03/03/2026 10:00, Support wrote:<br></div>'
        '<blockquote type="cite">Which version do you run?</blockquote>'
        "<p>2.4.1 on Windows 11.</p>"
    )
    assert trim_reply(html_to_text(markup)) == "2.4.1 on Windows 11."


def test_html_inline_answers_between_gmail_quotes_are_kept_in_order():
    markup = (
        '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Tue, 3 Mar 2026 at'
        ' 10:00, Support &lt;<a href="mailto:support@example.com">support@example.com</a>&gt;'
        ' wrote:<br></div><blockquote class="gmail_quote">Which version?</blockquote>'
        "<div>2.4.1</div>"
        '<blockquote class="gmail_quote">Which region?</blockquote>'
        "<div>eu-west-1</div></div>"
    )
    assert trim_reply(html_to_text(markup)) == "2.4.1\neu-west-1"


def test_html_nested_quotes_leave_nothing_of_the_history():
    markup = (
        "<p>Still failing.</p><blockquote>Did it help?"
        "<blockquote>It fails since Monday.</blockquote>Tell us.</blockquote>"
    )
    assert trim_reply(html_to_text(markup)) == "Still failing."


def test_html_gmail_signature_is_dropped_and_list_items_keep_their_bullets():
    markup = (
        "<div>Tried:</div><ul><li>restarting</li><li>clearing the cache</li></ul>"
        '<div class="gmail_signature">Alex Morgan<br>Example Ltd</div>'
    )
    assert trim_reply(html_to_text(markup)) == "Tried:\n- restarting\n- clearing the cache"


@pytest.mark.parametrize(
    "rule", ['<hr style="display:inline-block;width:98%">', '<p class="MsoNormal">&nbsp;</p>']
)
def test_html_outlook_history_after_a_rule_or_empty_paragraph_is_dropped(rule):
    markup = (
        '<p class="MsoNormal">Approved, go ahead.</p>'
        f'{rule}<div id="divRplyFwdMsg"><b>From:</b> Support &lt;support@example.com&gt;<br>'
        "<b>Sent:</b> Tuesday, March 3, 2026 10:00 AM<br><b>To:</b> Alex Morgan<br>"
        "<b>Subject:</b> [CS-1001] We need your input</div><div>May we restart?</div>"
    )
    assert trim_reply(html_to_text(markup)) == "Approved, go ahead."
