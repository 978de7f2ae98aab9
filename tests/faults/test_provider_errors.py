"""The provider answering 503s, timeouts and 422s to a real worker: temporary errors are
retried with growing waits until sent; a refusal is marked failed at once, with the
provider's answer shown to engineers on the case page."""

import json

import pytest
from django.test import Client

from cases.models import Notification, NotificationKind, NotificationState
from tests import journeys
from tests.factories import EngineerFactory, customer
from tests.faults.conftest import wait_for

# Kept together on one xdist worker where xdist can; each worker has its own Redis port.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.xdist_group("faults"),
]

SCRIPT = {
    "busy@example.com": ["503", "503"],
    "slow@example.com": ["timeout", "timeout"],
    "refused@example.com": ["422"],
}


def test_provider_errors_are_retried_with_backoff_or_marked_failed(cluster, invariants_hold):
    script = cluster.folder / "provider.json"
    script.write_text(json.dumps(SCRIPT))
    engineer = EngineerFactory()
    cases = {email: journeys.pending_customer(customer(email=email), engineer) for email in SCRIPT}
    # The acknowledgements of the new cases went out before the provider misbehaved: this
    # is about the engineer's question to each customer.
    Notification.objects.filter(kind=NotificationKind.CASE_OPENED).update(
        state=NotificationState.SENT
    )

    cluster.worker(FAULTS_PROVIDER_SCRIPT=str(script), NOTIFICATION_RETRY_BACKOFF_SECONDS="1")
    wait_for(
        lambda: not Notification.objects.filter(state__in=["queued", "sending"]).exists(),
        timeout=120,
        what="every notification to be sent or failed",
    )

    rows = {n.to_email: n for n in Notification.objects.exclude(kind=NotificationKind.CASE_OPENED)}
    attempts = cluster.mail("start")
    for email in ("busy@example.com", "slow@example.com"):
        row = rows[email]
        assert (row.state, row.attempts, row.last_error) == (NotificationState.SENT, 3, "")
        assert [e["to"] for e in cluster.mail()].count(email) == 1
        times = [e["at"] for e in attempts if e["to"] == email]
        first_wait, second_wait = times[1] - times[0], times[2] - times[1]
        # Jitter between half and all of 1 s, then of 2 s.
        assert first_wait >= 0.5, times
        assert second_wait >= 1.0, times

    refused = rows["refused@example.com"]
    assert (refused.state, refused.attempts) == (NotificationState.FAILED, 1)
    assert "422" in refused.last_error
    assert "refused@example.com" not in [e["to"] for e in cluster.mail()]

    admin = Client()
    admin.force_login(engineer)
    page = admin.get(f"/admin/cases/case/{cases['refused@example.com'].pk}/change/")
    assert page.status_code == 200
    assert "Provider answered 422" in page.content.decode()
    assert "Failed" in page.content.decode()
    cluster.stop_all()
    invariants_hold()
