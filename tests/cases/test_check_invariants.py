"""`manage.py check_invariants`: a clean history passes; each kind of damage is reported."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from cases import invariants, services
from cases.models import Actor, Attachment, Case, CaseEvent, CaseParticipant, Message, Status
from portal.models import Membership, User
from tests import journeys
from tests.factories import CaseFactory, OrganisationFactory, UserFactory, days

pytestmark = pytest.mark.django_db


def rules() -> list[str]:
    return [violation.rule for violation in invariants.find_violations()]


def test_every_journey_through_the_services_passes(customer, engineer, time_machine):
    time_machine.move_to("2026-03-02 09:00Z", tick=False)
    journeys.opened(customer)
    answered = journeys.pending_customer(customer, engineer)
    time_machine.shift(days(1))
    services.case_reply(case=answered, author=customer, body="Log attached.")
    reopened = journeys.resolved(customer, engineer)
    services.case_reply(case=reopened, author=customer, body="It broke again.")
    services.case_close(case=journeys.in_progress(customer, engineer), actor=customer)
    services.case_close(case=journeys.in_progress(customer, engineer), actor=engineer)
    services.case_confirm_resolution(
        case=journeys.resolved(customer, engineer), customer=customer, rating="good"
    )
    forgotten = journeys.pending_customer(customer, engineer)
    accepted = journeys.resolved(customer, engineer)
    time_machine.shift(days(15))
    assert {c.pk for c in services.close_stale_cases()} == {forgotten.pk, accepted.pk}
    time_machine.shift(days(1))
    services.case_reopen(case=forgotten, actor=customer, message="Still broken.")

    assert invariants.find_violations() == []
    call_command("check_invariants")
    call_command("check_invariants")  # against its own watermarks


def test_case_without_history_is_reported(customer):
    CaseFactory(requester=customer)
    assert rules() == ["history"]


def test_status_changed_behind_the_history_is_reported(customer, engineer):
    case = journeys.in_progress(customer, engineer)
    Case.objects.filter(pk=case.pk).update(status=Status.RESOLVED)
    assert "history" in rules()


def test_pending_customer_without_a_request_is_reported(customer, engineer):
    case = journeys.in_progress(customer, engineer)
    Case.objects.filter(pk=case.pk).update(status=Status.PENDING_CUSTOMER)
    CaseEvent.objects.create(
        case=case,
        transition="start_work",
        from_status=Status.IN_PROGRESS,
        to_status=Status.PENDING_CUSTOMER,
        actor=engineer,
        actor_kind=Actor.ENGINEER,
    )
    violations = invariants.find_violations()
    # Behind the services' back, the clock kept running too.
    assert [str(v) for v in violations] == [
        f"[history] case {case.pk}: is Pending Customer without a request_info entry",
        f"[service level] case {case.pk}: is pending_customer with its target running",
    ]


def test_notifying_transition_without_its_email_is_reported(customer, engineer):
    case = journeys.in_progress(customer, engineer)
    Case.objects.filter(pk=case.pk).update(status=Status.RESOLVED)
    event = CaseEvent.objects.create(
        case=case,
        transition="resolve",
        from_status=Status.IN_PROGRESS,
        to_status=Status.RESOLVED,
        actor=engineer,
        actor_kind=Actor.ENGINEER,
    )
    violations = invariants.find_violations()
    assert [v.rule for v in violations] == ["notification", "service level"]
    assert f"resolve entry {event.pk} has no resolved email" in violations[0].detail


@pytest.mark.parametrize("transition", ["confirm", "close"])
def test_customer_closing_without_the_engineers_email_is_reported(transition, customer, engineer):
    case = journeys.resolved(customer, engineer)
    Case.objects.filter(pk=case.pk).update(status=Status.CLOSED, closed_at=case.resolved_at)
    event = CaseEvent.objects.create(
        case=case,
        transition=transition,
        from_status=Status.RESOLVED,
        to_status=Status.CLOSED,
        actor=customer,
        actor_kind=Actor.CUSTOMER,
    )
    violations = invariants.find_violations()
    assert [v.rule for v in violations] == ["notification"]
    assert f"{transition} entry {event.pk} has no" in violations[0].detail
    assert violations[0].detail.endswith("email to the engineer")


def test_customer_message_on_a_closed_case_without_reopen_is_reported(customer, engineer):
    case = journeys.in_progress(customer, engineer)
    services.case_close(case=case, actor=engineer)
    Message.objects.create(case=case, author=customer, author_kind=Actor.CUSTOMER, body="Hello?")
    assert rules() == ["closed-with-reply"]


def test_auto_close_after_a_customer_reply_is_reported(customer, engineer, time_machine):
    time_machine.move_to("2026-03-02 09:00Z", tick=False)
    case = journeys.pending_customer(customer, engineer)
    time_machine.shift(days(2))
    # A reply that reached the thread but not the state machine: the sweep must not win.
    Message.objects.create(case=case, author=customer, author_kind=Actor.CUSTOMER, body="Log.")
    time_machine.shift(days(13))
    services.close_stale_cases()
    assert rules() == ["closed-after-reply"]


def test_deleted_rows_are_reported_against_the_last_clean_check(customer, engineer):
    journeys.pending_customer(customer, engineer)
    call_command("check_invariants")
    with connection.cursor() as cursor:
        # Notifications have no database guard; history tables refuse this outright.
        cursor.execute("DELETE FROM cases_notification")
    violations = invariants.find_violations()
    assert ("deleted", "cases_notification") in [(v.rule, v.subject) for v in violations]
    assert "notification" in [v.rule for v in violations]  # request_info lost its email
    with pytest.raises(CommandError, match="2 invariant violation"):
        call_command("check_invariants")


def test_rows_added_after_a_check_are_not_deletions(customer, engineer):
    journeys.opened(customer)
    call_command("check_invariants")
    journeys.pending_customer(customer, engineer)
    assert invariants.find_violations() == []


@pytest.mark.usefixtures("file_storage")
def test_an_attachment_whose_file_is_gone_from_the_storage_is_reported(customer, engineer):
    case = journeys.in_progress(customer, engineer)
    for name in ("job.log", "values.yaml"):
        upload = SimpleUploadedFile(name, b"replicas: 3\n")
        services.case_reply(case=case, author=customer, body="Attached.", attachments=[upload])
    call_command("check_invariants")  # every file is there, on disk or in the bucket
    lost, kept = Attachment.objects.order_by("pk")
    lost.file.storage.delete(lost.file.name)

    assert [str(v) for v in invariants.find_violations()] == [
        f"[attachment file] case {case.pk}: attachment {lost.pk}'s file {lost.file.name} "
        "is not in the storage"
    ]
    assert kept.file.storage.exists(kept.file.name)
    with pytest.raises(CommandError, match="1 invariant violation"):
        call_command("check_invariants")


def test_a_target_running_while_the_case_waits_on_the_customer_is_reported(
    customer, engineer, time_machine
):
    time_machine.move_to("2026-03-02 09:00Z", tick=False)
    case = journeys.opened(customer)
    Case.objects.filter(pk=case.pk).update(status=Status.RESOLVED)
    CaseEvent.objects.create(
        case=case,
        transition="resolve",
        from_status=Status.NEW,
        to_status=Status.RESOLVED,
        actor=engineer,
        actor_kind=Actor.ENGINEER,
    )
    violations = [str(v) for v in invariants.find_violations() if v.rule == "service level"]
    assert violations == [f"[service level] case {case.pk}: is resolved with its target running"]


# --- Participants -----------------------------------------------------------------------


def shared_with_a_colleague(requester, engineer):
    """A case shared through the service with a member of the requester's organisation."""
    from tests.factories import customer as make_customer

    colleague = make_customer(requester.membership.organisation)
    case = journeys.in_progress(requester, engineer)
    services.case_add_participants(case=case, actor=requester, addresses=[colleague.email])
    return case, colleague


def test_sharing_removing_and_leaving_through_the_services_pass(customer, engineer):
    case, colleague = shared_with_a_colleague(customer, engineer)
    other, _ = shared_with_a_colleague(customer, engineer)
    services.case_resolve(case=case, engineer=engineer)
    services.case_confirm_resolution(case=case, customer=colleague)
    services.case_remove_participant(
        case=other, actor=customer, participant_id=other.participants.get().pk
    )
    colleague.is_active = False
    colleague.save()

    assert invariants.find_violations() == []


def test_a_participant_outside_the_cases_organisation_is_reported(customer, engineer):
    case, colleague = shared_with_a_colleague(customer, engineer)
    # Moved behind the services' back: no signal, so nobody dropped them from the case.
    Membership.objects.filter(user=colleague).update(organisation=OrganisationFactory())

    violations = [str(v) for v in invariants.find_violations() if v.rule == "participant"]

    participant = case.participants.get()
    assert violations == [
        f"[participant] case {case.pk}: participant {participant.pk} (user {colleague.pk}) "
        "is not a member of its organisation"
    ]


def test_an_inactive_participant_is_reported(customer, engineer):
    case, colleague = shared_with_a_colleague(customer, engineer)
    User.objects.filter(pk=colleague.pk).update(is_active=False)  # no signal either

    assert [str(v) for v in invariants.find_violations()] == [
        f"[participant] case {case.pk}: participant {case.participants.get().pk} "
        f"(user {colleague.pk}) is inactive"
    ]


def test_a_participant_of_no_organisation_is_reported(customer, engineer):
    case = journeys.in_progress(customer, engineer)
    CaseParticipant.objects.create(case=case, user=UserFactory())

    assert rules() == ["participant"]


def test_the_requester_as_a_participant_is_reported(customer, engineer):
    case = journeys.in_progress(customer, engineer)
    CaseParticipant.objects.create(case=case, user=customer)

    assert [str(v) for v in invariants.find_violations()] == [
        f"[participant] case {case.pk}: participant {case.participants.get().pk} is the requester"
    ]
