"""A Mailgun signature covers only its timestamp and token: it is accepted once, fresh.

Mailgun's own advice: refuse a timestamp far from now and a token seen before. Without
that, a captured signature could carry any body, for ever.
"""

from __future__ import annotations

import pytest

from cases.models import InboundEmail
from cases.outbox import reply_address
from tests.cases import email_webhooks as hooks
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

WINDOW = 300


@pytest.fixture(autouse=True)
def _webhooks(settings):
    hooks.configure(settings)
    settings.MAILGUN_WEBHOOK_MAX_AGE_SECONDS = WINDOW


@pytest.fixture
def now(time_machine):
    moment = 1_795_000_000
    time_machine.move_to(moment, tick=False)
    return moment


def reply(**signature) -> dict:
    case = CaseFactory(pending_customer=True)
    return hooks.mailgun_inbound(
        from_email=case.requester.email,
        to=reply_address(case, case.requester),
        subject="Re: input",
        text="Here you are.",
        **signature,
    )


def tracking(**signature) -> dict:
    return hooks.mailgun_event(
        event="delivered", message_id="<x@mg.example.com>", recipient="a@b.test", **signature
    )


def test_fresh_signature_is_accepted(client, now):
    assert (
        hooks.post_mailgun_inbound(client, reply(timestamp=str(now - WINDOW))).status_code == 200
    )
    assert hooks.post_mailgun_tracking(client, tracking(timestamp=str(now))).status_code == 200


@pytest.mark.parametrize(
    "stamp",
    [lambda now: now - WINDOW - 1, lambda now: now + WINDOW + 1, lambda now: 978_307_200],
    ids=["stale", "future", "2001"],
)
def test_stale_or_future_timestamp_is_refused(client, now, stamp):
    stamp = str(stamp(now))

    assert hooks.post_mailgun_inbound(client, reply(timestamp=stamp)).status_code == 400
    assert hooks.post_mailgun_tracking(client, tracking(timestamp=stamp)).status_code == 400
    assert not InboundEmail.objects.exists()


def test_a_token_is_accepted_once_even_with_a_new_body(client, now):
    first = reply(token="a" * 50)
    replayed = reply(token="a" * 50, timestamp=first["timestamp"])
    replayed["body-plain"] = "Close my case and give access to attacker@evil.test"

    assert hooks.post_mailgun_inbound(client, first).status_code == 200
    assert hooks.post_mailgun_inbound(client, replayed).status_code == 400
    assert InboundEmail.objects.count() == 1


def test_a_tracking_token_is_accepted_once(client, now):
    event = tracking(token="b" * 50)

    assert hooks.post_mailgun_tracking(client, event).status_code == 200
    assert hooks.post_mailgun_tracking(client, event).status_code == 400


def test_a_badly_signed_post_does_not_use_up_its_token(client, now):
    forged = reply(token="c" * 50, signing_key="not-the-key")
    genuine = reply(token="c" * 50)

    assert hooks.post_mailgun_inbound(client, forged).status_code == 400
    assert hooks.post_mailgun_inbound(client, genuine).status_code == 200


def test_raw_mime_route_checks_the_token_too(client, now):
    case = CaseFactory(pending_customer=True)
    data = hooks.mailgun_inbound_mime(
        from_email=case.requester.email,
        to=reply_address(case, case.requester),
        subject="Re: input",
        text="Hello",
    )

    assert hooks.post_mailgun_inbound_mime(client, data).status_code == 200
    assert hooks.post_mailgun_inbound_mime(client, data).status_code == 400


def test_with_the_cache_unavailable_a_post_is_refused_for_mailgun_to_retry(
    client, now, monkeypatch
):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from cases.inbound import webhooks

    def unavailable(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(webhooks.cache, "add", unavailable)
    assert hooks.post_mailgun_inbound(client, reply(token="d" * 50)).status_code == 400
    assert not InboundEmail.objects.exists()
    monkeypatch.undo()
    # Back, the same post (Mailgun's retry) is accepted: nothing was used up.
    assert hooks.post_mailgun_inbound(client, reply(token="d" * 50)).status_code == 200
