"""Who is told what: every customer-facing change has an email, and every email says
truthfully what replying to it does."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from cases import outbox, services
from cases.models import InfoRequestKind, Notification, NotificationKind, Priority
from cases.tasks import send_daily_digests_task
from tests.factories import CaseFactory, EngineerFactory, UserFactory, customer

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


def html_of(email) -> str:
    [(html, _)] = email.alternatives
    return html


def emails_to(outbox, address):
    return [email for email in outbox if email.to == [address]]


def open_case(requester, priority=Priority.P3, **kwargs):
    return services.case_open(
        requester=requester,
        subject="Cluster down",
        description="All nodes NotReady since 08:40.",
        priority=priority,
        **kwargs,
    )


# --- Case opened ----------------------------------------------------------------------


def test_opening_a_case_acknowledges_it_with_the_reference_and_what_happens_next(
    frozen, mailoutbox, django_capture_on_commit_callbacks
):
    user = customer()
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case(user)

    [email] = emails_to(mailoutbox, user.email)
    assert email.subject == f"[{case.reference}] Case received: Cluster down"
    for body in (email.body, html_of(email)):
        assert f"We have received your case {case.reference}" in body.replace(
            "<strong>", ""
        ).replace("</strong>", "")
        assert "What happens next" in body
        assert f"/cases/{case.reference}/" in body
        assert "reply to this email or on the case page: your reply is added to the case" in body
    assert email.reply_to == [outbox.reply_address(case, user)]


def test_a_case_opened_by_email_is_acknowledged_too(
    mailoutbox, django_capture_on_commit_callbacks
):
    closed = CaseFactory(closed=True)
    with django_capture_on_commit_callbacks(execute=True):
        follow_up = services.case_follow_up_by_email(
            closed_case=closed, author=closed.requester, body="It is back."
        )
    [email] = emails_to(mailoutbox, closed.requester.email)
    assert email.subject.startswith(f"[{follow_up.reference}] Case received:")


@pytest.mark.parametrize("priority", [Priority.P1, Priority.P2])
def test_urgent_new_case_alerts_every_active_engineer(
    priority, mailoutbox, django_capture_on_commit_callbacks
):
    ana, bo = EngineerFactory(), EngineerFactory()
    gone = EngineerFactory(is_active=False)
    UserFactory(is_staff=True)  # staff, but not in the engineers' group
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case(customer(), priority=priority)

    alerts = [e for e in mailoutbox if "New P" in e.subject]
    assert sorted(e.to[0] for e in alerts) == sorted([ana.email, bo.email])
    assert not emails_to(mailoutbox, gone.email)
    email = emails_to(mailoutbox, ana.email)[0]
    assert email.subject == f"[{case.reference}] New {Priority(priority).label} case: Cluster down"
    for body in (email.body, html_of(email)):
        assert "All nodes NotReady since 08:40." in body
        assert f"/admin/cases/case/{case.pk}/change/" in body
        assert "To take it, open the case in the admin." in body
        assert "public reply" in body and "#note" in body
    assert email.reply_to == [outbox.reply_address(case, ana)]
    assert outbox.parse_reply_address(email.reply_to[0]) == (case.pk, ana.pk)


def test_urgent_case_alerts_the_oncall_address_instead_when_set(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ONCALL_EMAIL = "oncall@example.com"
    EngineerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case(customer(), priority=Priority.P1)

    [alert] = [e for e in mailoutbox if "New P1" in e.subject]
    assert alert.to == ["oncall@example.com"]
    # A shared mailbox is nobody's login: no reply address, and the email says so.
    assert alert.reply_to == []
    assert "A reply to this email is not added to the case." in alert.body
    assert "Hello," in alert.body
    row = Notification.objects.get(kind=NotificationKind.NEW_CASE_ALERT)
    assert (row.recipient, row.case) == (None, case)


def test_oncall_address_of_an_engineer_gets_their_reply_address(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    engineer = EngineerFactory(email="duty@example.com")
    settings.ONCALL_EMAIL = "Duty@example.com"
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case(customer(), priority=Priority.P2)
    [alert] = [e for e in mailoutbox if "New P2" in e.subject]
    assert alert.reply_to == [outbox.reply_address(case, engineer)]


def test_normal_and_low_priority_cases_alert_nobody_at_once(
    mailoutbox, django_capture_on_commit_callbacks
):
    EngineerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        open_case(customer(), priority=Priority.P3)
        open_case(customer(), priority=Priority.P4)
    assert all("Case received" in email.subject for email in mailoutbox)


# --- The daily digest -----------------------------------------------------------------


def test_daily_digest_lists_unassigned_and_own_open_cases_once_a_day(
    frozen, mailoutbox, django_capture_on_commit_callbacks
):
    ana, bo, idle = EngineerFactory(), EngineerFactory(), EngineerFactory()
    waiting = CaseFactory(priority=Priority.P4, subject="Docs typo", engineer=idle)
    mine = CaseFactory(pending_customer=True, engineer=ana, subject="Slow disks")
    CaseFactory(closed=True, engineer=bo)  # closed: not in anyone's digest
    CaseFactory(resolved=True, engineer=bo)  # resolved: waits on the customer

    with django_capture_on_commit_callbacks(execute=True):
        assert send_daily_digests_task() == 3  # every engineer: a case waits unassigned
        assert send_daily_digests_task() == 0  # the same day again: nothing twice

    to_ana = emails_to(mailoutbox, ana.email)[0]
    assert to_ana.subject == "Open cases on 2 March 2026: 1 yours, 1 unassigned"
    for body in (to_ana.body, html_of(to_ana)):
        assert waiting.reference in body and "Docs typo" in body
        assert mine.reference in body and "Slow disks" in body and "Pending Customer" in body
        assert f"/admin/cases/case/{mine.pk}/change/" in body
    assert "0 yours, 1 unassigned" in emails_to(mailoutbox, idle.email)[0].subject
    assert to_ana.reply_to is None or to_ana.reply_to == []
    assert "Work on them in the admin" in to_ana.body

    frozen.move_to(NOW + timedelta(days=1), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_daily_digests_task() == 3  # a new day, a new digest


def test_no_digest_when_nothing_is_open(mailoutbox, django_capture_on_commit_callbacks):
    engineer = EngineerFactory()
    CaseFactory(resolved=True, engineer=engineer)
    CaseFactory(closed=True, engineer=engineer)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_daily_digests_task() == 0
    assert mailoutbox == []


def test_only_engineers_with_cases_get_a_digest_when_nothing_is_unassigned(
    mailoutbox, django_capture_on_commit_callbacks
):
    busy, idle = EngineerFactory(), EngineerFactory()
    CaseFactory(open=True, engineer=busy)
    with django_capture_on_commit_callbacks(execute=True):
        send_daily_digests_task()
    assert [email.to for email in mailoutbox] == [[busy.email]]
    assert not emails_to(mailoutbox, idle.email)


def test_digest_is_on_the_beat_schedule(settings):
    assert settings.CELERY_BEAT_SCHEDULE["send-daily-digests"]["task"] == (
        "cases.tasks.send_daily_digests_task"
    )


# --- Closed ---------------------------------------------------------------------------


def test_engineer_closing_a_case_tells_the_customer_how_to_reopen(
    mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(in_progress=True, subject="Quota")
    with django_capture_on_commit_callbacks(execute=True):
        services.case_close(case=case, actor=case.assignee, reason="Duplicate of CS-1001")

    [email] = mailoutbox
    assert email.to == [case.requester.email]
    assert email.subject == f"[{case.reference}] Closed: Quota"
    for body in (email.body, html_of(email)):
        assert f"has closed case {case.reference}" in body.replace("<strong>", "").replace(
            "</strong>", ""
        )
        assert "Why: Duplicate of CS-1001." in body
        assert "Reopen Case" in body
        assert "A reply to this email is added to the case and reopens it." in body
    assert email.reply_to == [outbox.reply_address(case, case.requester)]


def test_closed_email_says_a_reply_opens_a_new_case_when_so_configured(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.CASE_EMAIL_REPLY_TO_CLOSED = "new_case"
    case = CaseFactory(in_progress=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_close(case=case, actor=case.assignee)
    assert "A reply to this email opens a new case linked to this one." in mailoutbox[0].body


# --- Reminders ------------------------------------------------------------------------


def test_reminder_quotes_the_engineers_question_and_the_exact_date(
    frozen, mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(in_progress=True)
    services.case_request_info(
        case=case,
        engineer=case.assignee,
        message="Which kernel version runs on the nodes?",
        kind=InfoRequestKind.CONFIGURATION,
    )
    frozen.move_to(NOW + timedelta(days=7), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_due_reminders() == 1

    [email] = emails_to([e for e in mailoutbox if "Reminder" in e.subject], case.requester.email)
    for body in (email.body, html_of(email)):
        assert "Which kernel version runs on the nodes?" in body
        assert f"{case.assignee} asked:" in body
        assert "16 March 2026" in body
        assert "A reply to this email is added to the case and sends it back" in body


# --- Nobody else, and no false promises ---------------------------------------------


def test_colleagues_who_follow_the_organisation_get_nothing(
    mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(in_progress=True)
    colleague = customer(case.organisation, sees_organisation=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_request_info(
            case=case, engineer=case.assignee, message="Logs?", kind=InfoRequestKind.LOGS
        )
        services.case_resolve(case=case, engineer=case.assignee)
        services.case_reopen(case=case, actor=case.requester)
        services.case_close(case=case, actor=case.assignee)
    assert mailoutbox
    assert not emails_to(mailoutbox, colleague.email)


def test_no_email_promises_the_reference_in_the_subject(
    frozen, mailoutbox, django_capture_on_commit_callbacks
):
    engineer = EngineerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case(customer(), priority=Priority.P1)
        services.case_assign(case=case, engineer=engineer)
        services.case_request_info(
            case=case, engineer=engineer, message="Logs?", kind=InfoRequestKind.LOGS
        )
        services.case_reply(case=case, author=case.requester, body="Here.")
        services.case_reply(case=case, author=engineer, body="Thanks.")
        services.case_resolve(case=case, engineer=engineer)
        services.case_confirm_resolution(case=case, customer=case.requester, rating="good")
        services.case_reopen(case=case, actor=case.requester)
        services.case_close(case=case, actor=case.requester)
        send_daily_digests_task()
        call_command("close_stale_cases")
    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert len(kinds) >= 10, kinds
    for email in mailoutbox:
        for body in (email.body, html_of(email)):
            assert "reference in the subject" not in body, email.subject
            assert "{{" not in body and "{%" not in body, email.subject
            assert "repl" in body.lower(), email.subject  # each says what replying does
