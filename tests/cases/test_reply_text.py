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
