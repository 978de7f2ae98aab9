"""Redis down while customers reply and engineers act: pages answer at once, nothing is
half-done, and every email recorded meanwhile goes out once Redis is back."""

import time
from collections import Counter

import pytest
from django.test import Client

from cases import services
from cases.models import Case, CaseEvent, Message, Notification, NotificationKind, Status
from tests import journeys
from tests.factories import EngineerFactory, customer
from tests.faults.conftest import REDIS_PORT, wait_for

# Kept together on one xdist worker where xdist can; each worker has its own Redis port.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.xdist_group("faults"),
]

# A page that publishes while the broker is down gives up within the publish retry policy.
PROMPT = 3.0


def timed(action):
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started


def test_requests_succeed_during_outage_and_relay_sends_everything_after(
    cluster, private_redis, invariants_hold, settings
):
    # The one Redis is the broker and the cache here: both go down together.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{REDIS_PORT}/1",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
    engineer = EngineerFactory()
    alice, bob = customer(), customer()
    waiting_on_alice = journeys.pending_customer(alice, engineer)
    bobs_case = journeys.in_progress(bob, engineer)
    to_resolve = journeys.in_progress(alice, engineer)
    before = set(Notification.objects.values_list("pk", flat=True))

    browser = Client()
    browser.force_login(alice)
    assert browser.get("/cases/").status_code == 200
    private_redis.stop()
    try:
        for page in ("/cases/", waiting_on_alice.get_absolute_url()):
            response, took = timed(lambda page=page: browser.get(page))
            assert response.status_code == 200 and took < PROMPT, (page, took)
        response, took = timed(
            lambda: browser.post(
                f"{waiting_on_alice.get_absolute_url()}reply/", {"body": "Here is the log."}
            )
        )
        assert response.status_code == 302 and took < PROMPT, took
        response, took = timed(
            lambda: browser.post(
                "/cases/new/",
                {"subject": "Broker down?", "description": "Asking anyway.", "priority": 3},
            )
        )
        assert response.status_code == 302 and took < PROMPT, took
        _, took = timed(
            lambda: services.case_request_info(
                case=bobs_case, engineer=engineer, message="Which version?", kind="configuration"
            )
        )
        assert took < PROMPT, took
        _, took = timed(lambda: services.case_resolve(case=to_resolve, engineer=engineer))
        assert took < PROMPT, took
        my_cases = browser.get("/cases/").content.decode()
        assert "Broker down?" in my_cases
    finally:
        private_redis.start()

    # Every action is whole: status, thread, history and outbox row.
    waiting_on_alice.refresh_from_db()
    assert waiting_on_alice.status == Status.IN_PROGRESS
    assert Message.objects.filter(case=waiting_on_alice, body="Here is the log.").exists()
    assert Case.objects.filter(subject="Broker down?", requester=alice).exists()
    assert CaseEvent.objects.filter(case=bobs_case, transition="request_info").exists()
    assert Case.objects.get(pk=to_resolve.pk).status == Status.RESOLVED
    during = Notification.objects.exclude(pk__in=before)
    assert sorted(during.values_list("kind", flat=True)) == sorted(
        [
            NotificationKind.CUSTOMER_REPLIED,
            NotificationKind.CASE_OPENED,  # the acknowledgement of "Broker down?"
            NotificationKind.PENDING_CUSTOMER,
            NotificationKind.RESOLVED,
        ]
    )

    # Tasks published before the outage died with Redis; the relay finds every row.
    relay = {"NOTIFICATION_RELAY_GRACE_SECONDS": "1", "NOTIFICATION_RELAY_INTERVAL_SECONDS": "1"}
    cluster.worker(**relay)
    cluster.beat(**relay)
    total = Notification.objects.count()
    # The worker records a send just after the provider took it: wait for both.
    wait_for(
        lambda: (
            len({e["notification_id"] for e in cluster.mail()}) == total
            and not Notification.objects.exclude(state="sent").exists()
        ),
        timeout=120,
        what=f"all {total} emails sent and recorded",
    )
    sends = Counter(entry["notification_id"] for entry in cluster.mail())
    assert set(sends.values()) == {1}
    assert set(Notification.objects.values_list("state", flat=True)) == {"sent"}
    cluster.stop_all()
    invariants_hold()
