"""The auto-close sweep writes each batch in bulk, with the same checks as one by one."""

import pytest

from cases import services
from cases.models import Case, CaseEvent, Notification, NotificationKind, NotificationState, Status
from tests.factories import CaseFactory, days

pytestmark = pytest.mark.django_db


def test_sweep_closes_due_cases_with_history_and_one_email_to_each_side(
    time_machine, django_capture_on_commit_callbacks, mailoutbox, settings
):
    settings.CASE_SWEEP_BATCH_SIZE = 2  # several batches
    time_machine.move_to("2026-01-01 09:00Z", tick=False)
    pending = [CaseFactory(pending_customer=True) for _ in range(3)]
    resolved = CaseFactory(resolved=True)
    time_machine.shift(days(13))
    not_yet = CaseFactory(resolved=True)  # 1 day old at the sweep
    held = CaseFactory(pending_customer=True, auto_close_held_reason="Bounced")
    Case.objects.filter(pk=held.pk).update(pending_since=pending[0].pending_since)
    time_machine.shift(days(1))

    with django_capture_on_commit_callbacks(execute=True):
        closed = services.close_stale_cases()

    due = [*pending, resolved]
    assert sorted(case.pk for case in closed) == sorted(case.pk for case in due)
    for case in due:
        case.refresh_from_db()
        assert case.status == Status.CLOSED
        assert case.pending_since is None and case.closed_at is not None
        event = CaseEvent.objects.get(case=case, transition="auto_close")
        assert event.actor is None and event.to_status == Status.CLOSED
        sent = Notification.objects.filter(case=case, event=event)
        assert sorted(sent.values_list("kind", "recipient_id")) == sorted(
            [
                (NotificationKind.AUTO_CLOSED, case.requester_id),
                (NotificationKind.ENGINEER_AUTO_CLOSED, case.assignee_id),
            ]
        )
        assert {n.state for n in sent} == {NotificationState.SENT}
    assert sorted(email.to[0] for email in mailoutbox) == sorted(
        [c.requester.email for c in due] + [c.assignee.email for c in due]
    )
    for case in (not_yet, held):
        case.refresh_from_db()
        assert case.status != Status.CLOSED
    assert CaseEvent.objects.filter(transition="auto_close").count() == 4


def test_rerunning_the_sweep_changes_nothing(time_machine):
    time_machine.move_to("2026-01-01 09:00Z", tick=False)
    case = CaseFactory(pending_customer=True)
    time_machine.shift(days(15))
    assert [c.pk for c in services.close_stale_cases()] == [case.pk]

    assert services.close_stale_cases() == []
    assert CaseEvent.objects.filter(case=case, transition="auto_close").count() == 1
    assert Notification.objects.filter(case=case).count() == 2  # customer and engineer


def test_a_failing_batch_is_retried_case_by_case(time_machine, monkeypatch):
    time_machine.move_to("2026-01-01 09:00Z", tick=False)
    cases = [CaseFactory(resolved=True) for _ in range(2)]
    time_machine.shift(days(8))

    def broken_batch(case_ids):
        from django.db import DatabaseError

        raise DatabaseError("simulated")

    monkeypatch.setattr(services.scheduler, "_auto_close_batch", broken_batch)
    closed = services.close_stale_cases()

    assert sorted(c.pk for c in closed) == sorted(c.pk for c in cases)
    assert Case.objects.filter(status=Status.CLOSED).count() == 2


def _columns(case: Case) -> dict:
    case.refresh_from_db()
    return {
        field.attname: getattr(case, field.attname)
        for field in Case._meta.concrete_fields
        if field.attname != "id"
    }


@pytest.mark.parametrize(
    "start",
    [
        {"pending_customer": True},
        {"resolved": True},
        {"resolved": True, "rating": "good", "rating_comment": "Kept", "priority": 1},
    ],
    ids=["pending-customer", "resolved", "resolved-with-other-columns-set"],
)
def test_the_sweep_writes_every_column_as_closing_one_case_does(time_machine, start):
    """The batch writes what the transition changed, not a list of its own."""
    time_machine.move_to("2026-01-01 09:00Z", tick=False)
    one = CaseFactory(**start)
    batched = CaseFactory(
        **start,
        subject=one.subject,
        requester=one.requester,
        assignee=one.assignee,
        original_engineer=one.original_engineer,
    )
    time_machine.shift(days(15))

    assert services.case_auto_close(case_id=one.pk) is not None
    assert [case.pk for case in services.close_stale_cases()] == [batched.pk]

    closed_one, closed_batched = _columns(one), _columns(batched)
    assert closed_one["status"] == Status.CLOSED
    assert closed_one == closed_batched
