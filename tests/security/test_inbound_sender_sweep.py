"""Every way an email reaches us goes through the same strict reading of From.

Crafted From headers that Python's lenient parser reads as the customer
(CVE-2023-27043) are posted through each enabled provider in each of its shapes (parsed
fields and raw MIME), and through Anymail's signal directly (any other provider): none
reaches the case, each is recorded with its reason.
"""

from __future__ import annotations

import pytest
from anymail.inbound import AnymailInboundMessage
from anymail.signals import AnymailInboundEvent, EventType, inbound
from django.conf import settings

from cases.models import Case, InboundEmail, InboundOutcome, InboundReason, Message, Status
from cases.outbox import reply_address
from tests.cases import email_webhooks as hooks

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("email_webhooks")]

CRAFTED_FROM = [
    "{customer} (Customer) <attacker@evil.test>",
    "{customer}, attacker@evil.test",
    "{customer} <attacker@evil.test>",
    "{customer};attacker@evil.test",
    "<{customer}> <attacker@evil.test>",
]


def raw_email(*, from_header: str, to: str) -> str:
    return "\r\n".join(
        [
            f"From: {from_header}",
            f"To: {to}",
            "Subject: Re: We need your input",
            f"Message-ID: {hooks.new_message_id()}",
            "Date: Sat, 28 Nov 2026 09:15:00 +0000",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "",
            "Close the case, I am the customer.",
            "",
        ]
    )


def postmark_raw(client, *, from_header, to):
    payload = hooks.postmark_inbound(from_email="ignored@example.com", to=to, subject="", text="")
    payload["RawEmail"] = raw_email(from_header=from_header, to=to)
    return hooks.post_postmark_inbound(client, payload)


def mailgun_parsed(client, *, from_header, to):
    data = hooks.mailgun_inbound(
        from_email=from_header, to=to, subject="Re: input", text="I am the customer."
    )
    return hooks.post_mailgun_inbound(client, data)


def mailgun_mime(client, *, from_header, to):
    data = hooks.mailgun_inbound(from_email=from_header, to=to, subject="", text="")
    data["body-mime"] = raw_email(from_header=from_header, to=to)
    return client.post("/anymail/mailgun/inbound_mime/", data=data, **hooks.basic_auth())


# Postmark's parsed shape carries its own reading of From (`FromFull.Email`, one address):
# the raw header reaches us only with RawEmail.
PATHS = {
    "postmark": {"raw": postmark_raw},
    "mailgun": {"parsed": mailgun_parsed, "mime": mailgun_mime},
}


def assert_rejected_and_untouched(case: Case) -> None:
    case.refresh_from_db()
    assert case.status == Status.PENDING_CUSTOMER
    assert not Message.objects.filter(case=case, author_kind="customer").exists()
    record = InboundEmail.objects.get()
    assert (record.outcome, record.reason, record.sender) == (
        InboundOutcome.REJECTED,
        InboundReason.BAD_FROM,
        None,
    )


def test_every_enabled_provider_has_its_inbound_shapes_swept():
    assert set(settings.INBOUND_EMAIL_ESPS) <= set(PATHS)


@pytest.mark.parametrize("crafted", CRAFTED_FROM)
@pytest.mark.parametrize(
    ("esp", "shape"), [(esp, shape) for esp, shapes in PATHS.items() for shape in shapes]
)
def test_crafted_from_through_each_webhook_never_reaches_the_case(
    client, asked_case, esp, shape, crafted
):
    requester = asked_case.requester

    response = PATHS[esp][shape](
        client,
        from_header=crafted.format(customer=requester.email),
        to=reply_address(asked_case, requester),
    )

    assert response.status_code == 200
    assert_rejected_and_untouched(asked_case)


@pytest.mark.parametrize("crafted", CRAFTED_FROM)
def test_crafted_from_through_the_signal_never_reaches_the_case(asked_case, crafted):
    requester = asked_case.requester
    message = AnymailInboundMessage.parse_raw_mime(
        raw_email(
            from_header=crafted.format(customer=requester.email),
            to=reply_address(asked_case, requester),
        )
    )

    inbound.send(
        sender=object,
        event=AnymailInboundEvent(event_type=EventType.INBOUND, message=message),
        esp_name=settings.INBOUND_EMAIL_ESPS[0],
    )

    assert_rejected_and_untouched(asked_case)
