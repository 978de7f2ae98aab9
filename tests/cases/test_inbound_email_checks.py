"""What an emailed reply must prove before it reaches a case: one unambiguous sender that
the provider's checks do not contradict, a person rather than an auto-responder, and
text PostgreSQL can store."""

from __future__ import annotations

import json

import pytest

from cases.models import Case, InboundOutcome, InboundReason, Message, Status
from tests.cases import email_webhooks as hooks
from tests.factories import CaseFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("email_webhooks")]


def email_replies(case: Case):
    return Message.objects.filter(case=case, author_kind="customer", source="email")


def send_with_results(client, case, *, spf: str | None, dkim: str | None = None, **fields):
    """The requester's reply through Mailgun, whose own SPF/DKIM headers say `spf` and
    `dkim` (None: absent)."""
    data = hooks.reply(case, provider="mailgun", subject="Re: We need your input", **fields)
    headers = [h for h in json.loads(data["message-headers"]) if h[0] != "X-Mailgun-Spf"]
    extra = [["X-Mailgun-Spf", spf]] if spf else []
    extra += [["X-Mailgun-Dkim-Check-Result", dkim]] if dkim else []
    data["message-headers"] = json.dumps(extra + headers)
    return hooks.post_mailgun_inbound(client, data)


# --- One sender, strictly parsed ------------------------------------------------------


@pytest.mark.parametrize(
    "from_header",
    [
        "{customer} (Customer) <attacker@evil.test>",
        "{customer}, attacker@evil.test",
        "{customer} <attacker@evil.test>",
        "<{customer}> <attacker@evil.test>",
        "{customer};attacker@evil.test",
        "{customer}) (<attacker@evil.test>",
        "Customers: {customer};",
    ],
)
def test_crafted_from_naming_the_customer_is_rejected_and_says_why(
    client, asked_case, from_header
):
    sent_from = from_header.format(customer=asked_case.requester.email)

    response = hooks.send_reply(
        client,
        asked_case,
        provider="mailgun",
        from_email=sent_from,
        subject="Re: We need your input",
        text="Close it, I am the customer.",
    )

    assert response.status_code == 200
    assert hooks.refreshed(asked_case).status == Status.PENDING_CUSTOMER
    assert not email_replies(asked_case).exists()
    record = hooks.recorded(
        outcome=InboundOutcome.REJECTED, reason=InboundReason.BAD_FROM, sender=None
    )
    # The record shows what was sent, not Python's guess at it.
    assert record.from_address.startswith(sent_from)
    assert "is not exactly one valid address" in record.detail


@pytest.mark.parametrize(
    "from_header",
    [
        "{customer}",
        "Alex Customer <{customer}>",
        "Alex Q. Customer <{customer}>",  # old syntax, one mailbox
        '"Customer, Alex" <{customer}>',
        "{customer} (Alex Customer)",
        "=?utf-8?q?Z=C3=BCrich_Team?= <{customer}>",
    ],
)
def test_ordinary_from_headers_are_the_customer(client, asked_case, from_header):
    requester = asked_case.requester

    hooks.send_reply(
        client,
        asked_case,
        provider="mailgun",
        from_email=from_header.format(customer=requester.email),
        subject="Re: We need your input",
        text="Logs attached.",
    )

    hooks.recorded(outcome=InboundOutcome.ACCEPTED)
    assert email_replies(asked_case).get().author == requester


# --- The provider's sender checks -----------------------------------------------------


def test_dmarc_failure_reported_by_the_provider_is_rejected(client, asked_case):
    response = hooks.send_reply(
        client,
        asked_case,
        subject="Re: We need your input",
        text="Spoofed.",
        headers=[
            (
                "Authentication-Results",
                "mx.postmarkapp.com; spf=pass smtp.mailfrom=evil.test; "
                "dkim=none; dmarc=fail (p=REJECT) header.from=example.com",
            )
        ],
    )

    assert response.status_code == 200
    assert hooks.refreshed(asked_case).status == Status.PENDING_CUSTOMER
    record = hooks.recorded(
        outcome=InboundOutcome.REJECTED, reason=InboundReason.NOT_AUTHENTICATED
    )
    assert record.detail.startswith("DMARC failed")


def test_spf_and_dkim_both_failing_is_rejected(client, asked_case):
    send_with_results(client, asked_case, spf="Fail", dkim="Fail", text="Spoofed.")

    record = hooks.recorded(reason=InboundReason.NOT_AUTHENTICATED)
    assert "X-Mailgun-Spf" in record.detail and "X-Mailgun-Dkim-Check-Result" in record.detail
    assert not email_replies(asked_case).exists()


def test_a_forged_pass_below_the_providers_fail_changes_nothing(client, asked_case):
    send_with_results(
        client,
        asked_case,
        spf="Fail",
        dkim="Fail",
        text="Spoofed.",
        headers=[("Authentication-Results", "evil.test; dmarc=pass; dkim=pass; spf=pass")],
    )

    hooks.recorded(reason=InboundReason.NOT_AUTHENTICATED)


@pytest.mark.parametrize(
    ("spf", "dkim"),
    [
        ("Fail", None),  # forwarded mail breaks SPF; DKIM not reported
        ("Fail", "Pass"),
        ("SoftFail", "Fail"),
        (None, None),  # the provider reports nothing
    ],
)
def test_replies_without_a_failing_verdict_are_accepted(client, asked_case, spf, dkim):
    send_with_results(client, asked_case, spf=spf, dkim=dkim, text="Logs attached.")

    hooks.recorded(outcome=InboundOutcome.ACCEPTED)


def test_one_passing_dkim_signature_of_several_is_enough(client, asked_case):
    hooks.send_reply(
        client,
        asked_case,
        subject="Re: We need your input",
        text="Sent through our list server.",
        headers=[
            ("Received-SPF", "fail (mx.postmarkapp.com: domain does not designate 192.0.2.1)"),
            ("Authentication-Results", "mx.postmarkapp.com; dkim=fail; dkim=pass"),
        ],
    )

    hooks.recorded(outcome=InboundOutcome.ACCEPTED)


# --- Automatic replies ----------------------------------------------------------------


def addressed_to(person, headers):
    """`headers` with `{customer}` filled in, as Outlook names the mailbox."""
    return [(name, value.format(customer=person.email)) for name, value in headers]


OUTLOOK_OUT_OF_OFFICE = [
    ("X-Auto-Response-Suppress", "All"),
    ("X-MS-Exchange-Inbox-Rules-Loop", "{customer}"),
    ("X-MS-Exchange-Generated-Message-Source", "Mailbox Rules Agent"),
]


@pytest.mark.parametrize(
    ("subject", "headers"),
    [
        ("Automatic reply: We need your input", OUTLOOK_OUT_OF_OFFICE),
        ("Re: We need your input", [("X-Auto-Response-Suppress", "All")]),
        ("Re: We need your input", [("X-Auto-Response-Suppress", "DR, OOF, AutoReply")]),
        ("Re: We need your input", [("X-MS-Exchange-Inbox-Rules-Loop", "{customer}")]),
        ("Re: We need your input", [("X-MS-Exchange-Generated-Message-Source", "x")]),
        ("Re: We need your input", [("X-Autogenerated", "Reply")]),
        ("Re: We need your input", [("X-FC-MachineGenerated", "true")]),
        ("Re: We need your input", [("X-Precedence", "auto_reply")]),
        ("Re: We need your input", [("List-Id", "<team.customer.example>")]),
        ("Re: We need your input", [("List-Unsubscribe", "<mailto:leave@lists.example>")]),
        ("Automatic reply: We need your input", []),
        ("Auto: We need your input", []),
        ("Out of Office: We need your input", []),
        ("Out of Office AutoReply: We need your input", []),
        ("Autosvar: We need your input", []),
        ("Automatisk svar: We need your input", []),
        ("Abwesenheitsnotiz: We need your input", []),
        ("Automatische Antwort: We need your input", []),
        ("Automatisch antwoord: We need your input", []),
        ("Réponse automatique\u00a0: We need your input", []),
        ("Respuesta automática: We need your input", []),
        ("Risposta automatica: We need your input", []),
    ],
)
def test_auto_replies_leave_a_pending_case_waiting(client, asked_case, subject, headers):
    response = hooks.send_reply(
        client,
        asked_case,
        subject=subject,
        text="I am out of the office until Monday.",
        headers=addressed_to(asked_case.requester, headers),
    )

    assert response.status_code == 200
    assert hooks.refreshed(asked_case).status == Status.PENDING_CUSTOMER
    assert asked_case.pending_since is not None  # the 14-day clock keeps running
    assert not email_replies(asked_case).exists()
    hooks.recorded(outcome=InboundOutcome.AUTOMATED, reason=InboundReason.AUTO_REPLY)


def test_outlook_out_of_office_never_reopens_a_resolved_case(client):
    case = CaseFactory(resolved=True)

    response = hooks.send_reply(
        client,
        case,
        provider="mailgun",
        subject=f"Automatic reply: [{case.reference}] Resolved",
        text="I am out of the office until Monday.",
        headers=addressed_to(case.requester, OUTLOOK_OUT_OF_OFFICE),
    )

    assert response.status_code == 200
    assert hooks.refreshed(case).status == Status.RESOLVED
    assert case.resolved_at is not None
    hooks.recorded(outcome=InboundOutcome.AUTOMATED, reason=InboundReason.AUTO_REPLY)


@pytest.mark.parametrize(
    ("subject", "headers"),
    [
        ("Re: Automatic reply settings are broken", []),
        ("Re: Auto-scaling: We need your input", []),
        ("Re: We need your input", [("X-Auto-Response-Suppress", "DR, RN, NRN")]),
    ],
)
def test_people_writing_about_auto_replies_still_reach_the_case(
    client, asked_case, subject, headers
):
    hooks.send_reply(
        client, asked_case, subject=subject, text="Here is what I found.", headers=headers
    )

    hooks.recorded(outcome=InboundOutcome.ACCEPTED)
    assert hooks.refreshed(asked_case).status == Status.IN_PROGRESS


# --- Text PostgreSQL can store --------------------------------------------------------


def test_nul_and_bidi_controls_in_an_emailed_reply_are_dropped_not_fatal(client, asked_case):
    response = hooks.send_reply(
        client,
        asked_case,
        provider="mailgun",
        subject="Re: We need\x00 your\u202e input",
        text="Logs\x00 are in\u202e /var/log.\r\nThanks\x07",
        message_id="<nul\x00id@mail.customer.example>",
    )

    assert response.status_code == 200
    hooks.recorded(
        outcome=InboundOutcome.ACCEPTED,
        subject="Re: We need your input",
        email_message_id="<nulid@mail.customer.example>",
    )
    assert email_replies(asked_case).get().body == "Logs are in /var/log.\nThanks"


def test_nul_in_a_rejected_email_is_recorded_without_it(client, asked_case):
    response = hooks.send_reply(
        client,
        asked_case,
        from_email="nobody@elsewhere.example",
        subject="Hello\x00",
        text="Who\x00 am I?",
    )

    assert response.status_code == 200
    hooks.recorded(reason=InboundReason.UNKNOWN_SENDER, subject="Hello", body_excerpt="Who am I?")
