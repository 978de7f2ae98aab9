"""The engineers' workbench in the admin: list, buttons, refusals, never delete, access."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from cases import selectors, services
from cases.admin import LargeTablePaginator
from cases.admin.case import CaseAdmin
from cases.models import (
    Attachment,
    Case,
    CaseEvent,
    InfoRequestKind,
    Message,
    Notification,
    NotificationKind,
    Priority,
    Status,
)
from portal.models import SUPPORT_ENGINEERS_GROUP, Organisation, User
from tests.factories import (
    CaseFactory,
    EngineerFactory,
    MessageFactory,
    OrganisationFactory,
    UserFactory,
    customer,
    running_target,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/cases/case/"


def change_url(case: Case) -> str:
    return reverse("admin:cases_case_change", args=[case.pk])


def action_url(case: Case, action: str) -> str:
    return reverse("admin:cases_case_workbench", args=[case.pk, action])


def press(client, case: Case, action: str, seen_status: str | None = None, **fields):
    """POST one workbench button the way the case page's form does."""
    prefix = "reply" if action == "note" else action
    data = {f"{prefix}-{name}": value for name, value in fields.items()}
    data[f"{prefix}-seen_status"] = seen_status or case.status
    response = client.post(action_url(case, action), data)
    if response.status_code == 303:  # refused: the case page says why, with what was typed
        assert response["Location"] == reverse("admin:cases_case_change", args=[case.pk])
        response = client.get(response["Location"])
    return response


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def engineer_client(client, engineer):
    client.force_login(engineer)
    return client


# --- Access ---------------------------------------------------------------------------


def test_customers_are_sent_to_the_admin_login_never_an_error(client, customer):
    case = CaseFactory(requester=customer, open=True)
    client.force_login(customer)
    for url in ["/admin/", CHANGELIST, change_url(case)]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    response = client.post(action_url(case, "close"), {"close-seen_status": "open"})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    case.refresh_from_db()
    assert case.status == Status.OPEN


def test_anonymous_visitors_are_sent_to_the_admin_login(client, db):
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_support_engineers_group_has_exactly_the_workbench_permissions(db):
    group = Group.objects.get(name=SUPPORT_ENGINEERS_GROUP)
    granted = {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }
    assert granted == {
        "cases.view_case",
        "cases.change_case",
        "cases.work_case",
        "cases.view_message",
        "cases.view_attachment",
        "cases.view_caseevent",
        "cases.view_notification",
        "cases.view_inboundemail",
        "cases.view_macro",
        "cases.add_macro",
        "cases.change_macro",
        "portal.view_user",
        "portal.view_organisation",
        "portal.view_membership",
    }
    assert not any(codename.startswith("delete_") for codename in granted)


def test_staff_outside_the_engineers_group_cannot_work_cases(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_case"))
    case = CaseFactory()
    client.force_login(staff)
    response = client.get(change_url(case))
    assert response.status_code == 200
    assert response.context["can_work"] is False
    assert b"Take (assign to me)" not in response.content
    response = press(client, case, "take")
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == Status.NEW


def test_engineer_reaches_the_users_and_organisations_read_only(engineer_client):
    assert engineer_client.get("/admin/portal/user/").status_code == 200
    assert engineer_client.get("/admin/portal/organisation/").status_code == 200
    assert engineer_client.get("/admin/portal/user/add/").status_code == 403


def test_superuser_manages_organisations_users_and_memberships(client):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    response = client.post("/admin/portal/organisation/add/", {
        "name": "Initech",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    })  # fmt: skip
    assert response.status_code == 302
    initech = Organisation.objects.get(name="Initech")
    response = client.post("/admin/portal/user/add/", {
        "email": "Peter@Initech.example",
        "full_name": "Peter Gibbons",
        "usable_password": "true",
        "password1": "tps-reports-2026!",
        "password2": "tps-reports-2026!",
        "membership-TOTAL_FORMS": "1",
        "membership-INITIAL_FORMS": "0",
        "membership-0-organisation": str(initech.pk),
        "membership-0-role": "admin",
    })  # fmt: skip
    assert response.status_code == 302
    peter = User.objects.get(email="peter@initech.example")
    assert peter.membership.organisation == initech
    assert peter.membership.is_organisation_admin
    for url in ["/admin/portal/user/", "/admin/portal/membership/", "/admin/portal/organisation/"]:
        assert client.get(url).status_code == 200


# --- Never delete ---------------------------------------------------------------------


def test_nothing_can_be_deleted_not_even_by_a_superuser(client):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    case = CaseFactory(closed=True)
    MessageFactory(case=case)
    notification = Notification.objects.create(
        case=case,
        kind=NotificationKind.RESOLVED,
        recipient=case.requester,
        to_email=case.requester.email,
        subject="Resolved",
        dedupe_key="test-never-delete",
    )
    client.force_login(superuser)

    response = client.get(CHANGELIST)
    assert "delete_selected" not in dict(response.context["action_form"].fields["action"].choices)
    assert client.get(f"{CHANGELIST}{case.pk}/delete/").status_code == 403
    response = client.get(change_url(case))
    assert b"deletelink" not in response.content
    response = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [case.pk]}
    )
    assert Case.objects.filter(pk=case.pk).exists()
    assert client.get(f"/admin/cases/notification/{notification.pk}/delete/").status_code == 403
    # Messages, attachments and history have no admin of their own to delete through.
    from django.contrib import admin

    for model in (Message, Attachment, CaseEvent):
        model_admin = admin.site._registry.get(model)
        assert model_admin is None or not model_admin.has_delete_permission(response.wsgi_request)
    assert Message.objects.filter(case=case).count() == 1


# --- Case list ------------------------------------------------------------------------


def test_case_list_shows_the_workbench_columns(engineer_client, time_machine):
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    pending = CaseFactory(pending_customer=True, subject="Cluster upgrade stuck")
    held = CaseFactory(pending_customer=True, auto_close_held_reason="question bounced")
    response = engineer_client.get(CHANGELIST)
    assert response.status_code == 200
    content = response.content.decode()
    assert pending.reference in content
    assert "Cluster upgrade stuck" in content
    # The address may break before its domain in the narrow column.
    assert pending.requester.email in content.replace("<wbr>", "")
    assert pending.organisation.name in content
    assert '<td class="field-status">Pending Customer</td>' in content
    deadline = date_format(timezone.localtime(pending.auto_close_at), "DATETIME_FORMAT")
    assert pending.auto_close_at == pending.pending_since + timedelta(days=14)
    assert deadline in content
    assert "held: question bounced" in content
    assert held.reference in content
    # Next target: the running target's time left, or overdue.
    running_target(pending, timezone.now() + timedelta(hours=3))
    running_target(held, timezone.now() - timedelta(minutes=5))
    content = engineer_client.get(CHANGELIST).content.decode()
    assert ">Next target</a>" in content
    assert ">in 3 h</span>" in content
    assert ">⚠ overdue by 5 min</strong>" in content


def search(client, term: str) -> set[Case]:
    return set(client.get(CHANGELIST, {"q": term}).context["cl"].result_list)


def test_search_finds_a_case_by_reference_subject_customer_email_or_organisation(
    engineer_client,
):
    wanted = CaseFactory(
        subject="VPN drops every hour",
        requester=customer(OrganisationFactory(name="Acme Cloud"), email="ops@acme.example"),
    )
    other = CaseFactory(subject="Billing question")
    for term in [
        wanted.reference,
        wanted.reference.lower(),
        "VPN drops",
        "vpn DROPS",
        wanted.requester.email,
        "ops@acme",
        "Acme Cloud",
        "acme cloud",
    ]:
        assert search(engineer_client, term) == {wanted}, term
    assert search(engineer_client, "Billing") == {other}
    assert search(engineer_client, "") == {wanted, other}
    assert search(engineer_client, "nothing like this") == set()


def test_search_matches_the_text_as_typed_not_word_by_word(engineer_client):
    # "every hour" is in the subject; "hour every" is not.
    wanted = CaseFactory(subject="VPN drops every hour")
    assert search(engineer_client, "every hour") == {wanted}
    assert search(engineer_client, "hour every") == set()


def test_search_with_more_matching_customers_than_it_lists_still_finds_them_all(
    engineer_client, monkeypatch
):
    monkeypatch.setattr(selectors, "SEARCH_MAX_LISTED_IDS", 2)
    organisation = OrganisationFactory(name="Initech")
    cases = {
        CaseFactory(requester=customer(organisation, email=f"user{n}@initech.example"))
        for n in range(4)
    }
    CaseFactory()
    assert search(engineer_client, "@initech.example") == cases
    assert search(engineer_client, "initech") == cases


def test_search_cleans_the_term_like_any_line(engineer_client):
    wanted = CaseFactory(subject="VPN drops every hour")
    assert search(engineer_client, " VPN\x00 drops ") == {wanted}


def test_search_stays_within_eleven_queries(engineer_client, django_assert_max_num_queries):
    for _ in range(30):
        CaseFactory(requester=customer(OrganisationFactory(name="Acme Cloud")))
    # The queues' counts are one of them.
    with django_assert_max_num_queries(11):
        response = engineer_client.get(CHANGELIST, {"q": "acme"})
    assert len(response.context["cl"].result_list) == 30


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes are PostgreSQL's")
def test_every_part_of_the_search_is_answered_by_an_index(db):
    for _ in range(3):
        CaseFactory()
    term = "acme"
    plans = {
        "subject": Case.objects.filter(subject__icontains=term),
        "email": User.objects.filter(email__icontains=term),
        "organisation": Organisation.objects.filter(name__icontains=term),
        "combined": selectors.case_search_for_staff(Case.objects.all(), term),
    }
    with connection.cursor() as cursor:
        # A tiny table is read whole whatever its indexes: ask for the plan with index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        for name, queryset in plans.items():
            plan = queryset.order_by().explain()
            assert "_trgm" in plan, (name, plan)


def test_assignee_filter_mine_unassigned_and_each_engineer(engineer_client, engineer):
    mine = CaseFactory(open=True, engineer=engineer)
    unassigned = CaseFactory()
    colleague = EngineerFactory()
    theirs = CaseFactory(open=True, engineer=colleague)

    def listed(**params):
        return set(engineer_client.get(CHANGELIST, params).context["cl"].result_list)

    assert listed(assignee="mine") == {mine}
    assert listed(assignee="unassigned") == {unassigned}
    assert listed(assignee=str(colleague.pk)) == {theirs}


def test_waiting_on_customer_filter_counts_days_since_the_question(engineer_client, time_machine):
    time_machine.move_to("2026-03-10 12:00:00+00:00", tick=False)
    long_wait = CaseFactory(pending_customer=True)
    Case.objects.filter(pk=long_wait.pk).update(pending_since="2026-03-02 12:00:00+00:00")
    short_wait = CaseFactory(pending_customer=True)
    Case.objects.filter(pk=short_wait.pk).update(pending_since="2026-03-08 12:00:00+00:00")
    CaseFactory(open=True)
    listed = set(engineer_client.get(CHANGELIST, {"waiting_days": "7"}).context["cl"].result_list)
    assert listed == {long_wait}
    listed = set(engineer_client.get(CHANGELIST, {"waiting_days": "1"}).context["cl"].result_list)
    assert listed == {long_wait, short_wait}


def test_status_priority_and_organisation_filters(engineer_client):
    urgent = CaseFactory(open=True, priority=Priority.P1)
    CaseFactory(priority=Priority.P1)
    CaseFactory(open=True, priority=Priority.P4)
    listed = set(
        engineer_client.get(CHANGELIST, {"status__exact": "open", "priority__exact": "1"})
        .context["cl"]
        .result_list
    )
    assert listed == {urgent}
    listed = set(
        engineer_client.get(CHANGELIST, {"organisation": urgent.organisation_id})
        .context["cl"]
        .result_list
    )
    assert listed == {urgent}


def test_organisation_filter_finds_cases_by_organisation_name(engineer_client):
    acme = CaseFactory(requester=customer(OrganisationFactory(name="Acme Cloud")))
    other = CaseFactory(requester=customer(OrganisationFactory(name="Globex Systems")))

    response = engineer_client.get(CHANGELIST, {"organisation": "acme", "status__exact": "new"})

    assert set(response.context["cl"].result_list) == {acme}
    assert other not in response.context["cl"].result_list
    # The other filters survive a new organisation search.
    assert b'<input type="hidden" name="status__exact" value="new">' in response.content


def test_case_list_query_count_does_not_grow_with_rows(
    engineer_client, django_assert_max_num_queries
):
    organisation_customers = [customer() for _ in range(5)]
    engineers = [EngineerFactory() for _ in range(3)]
    for number in range(200):
        CaseFactory(
            requester=organisation_customers[number % 5],
            open=bool(number % 2),
            engineer=engineers[number % 3],
        )
    # Half have a running target, some overdue: the Next target column reads the row.
    now = timezone.now()
    for number, case in enumerate(Case.objects.filter(status=Status.OPEN)):
        running_target(case, now + timedelta(minutes=10 * (number - 20)))
    # Session, user, groups, the page of cases, a bounded count, the filter choices, the
    # queues' counts.
    with django_assert_max_num_queries(13):
        response = engineer_client.get(CHANGELIST)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == CaseAdmin.list_per_page
    content = response.content.decode()
    assert content.count('<td class="field-next_target">') == CaseAdmin.list_per_page
    assert "overdue by" in content
    # Sorted by next due, the same.
    next_due = response.context["cl"].list_display.index("next_target")
    with django_assert_max_num_queries(13):
        response = engineer_client.get(CHANGELIST, {"o": str(next_due)})
    assert len(response.context["cl"].result_list) == CaseAdmin.list_per_page
    assert "⚠ overdue by 3 h 20 min" in response.content.decode()


def test_paginator_bounds_the_count_of_a_filtered_list(db):
    for _ in range(8):
        CaseFactory()
    paginator = LargeTablePaginator(Case.objects.filter(status=Status.NEW).order_by("pk"), 2)
    paginator.exact_count_limit = 5
    assert paginator.count == 5
    assert paginator.count_qualifier == "more than"
    exact = LargeTablePaginator(Case.objects.filter(status=Status.CLOSED).order_by("pk"), 2)
    assert exact.count == 0
    assert exact.count_qualifier == ""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_class estimate is PostgreSQL's")
def test_paginator_estimates_an_unfiltered_big_table_from_the_planner(db):
    for _ in range(8):
        CaseFactory()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
    paginator = LargeTablePaginator(Case.objects.order_by("pk"), 2)
    paginator.exact_count_limit = 5
    with CaptureCount() as queries:
        assert paginator.count == 8
    assert paginator.count_qualifier == "about"
    assert not any("COUNT(" in sql.upper() for sql in queries.statements)


class CaptureCount:
    def __enter__(self):
        from django.test.utils import CaptureQueriesContext

        self._context = CaptureQueriesContext(connection)
        self._context.__enter__()
        return self

    def __exit__(self, *exc):
        self._context.__exit__(*exc)

    @property
    def statements(self) -> list[str]:
        return [query["sql"] for query in self._context.captured_queries]


# --- Bulk actions ---------------------------------------------------------------------


def test_bulk_assign_to_me_reports_each_case(engineer_client, engineer):
    new = CaseFactory()
    someone_elses = CaseFactory(in_progress=True)
    closed = CaseFactory(closed=True)
    response = engineer_client.post(
        CHANGELIST,
        {"action": "take_cases", "_selected_action": [new.pk, someone_elses.pk, closed.pk]},
        follow=True,
    )
    texts = messages_of(response)
    assert f"Assigned to you: {new.reference}, {someone_elses.reference}." in texts
    assert any(text.startswith(f"Not assigned to you: {closed.reference}:") for text in texts)
    new.refresh_from_db()
    someone_elses.refresh_from_db()
    assert (new.status, new.assignee) == (Status.OPEN, engineer)
    assert (someone_elses.status, someone_elses.assignee) == (Status.IN_PROGRESS, engineer)


def test_bulk_transitions_go_through_the_services_and_refuse_per_case(engineer_client):
    open_case = CaseFactory(open=True)
    new_case = CaseFactory()
    response = engineer_client.post(
        CHANGELIST,
        {"action": "start_work_on_cases", "_selected_action": [open_case.pk, new_case.pk]},
        follow=True,
    )
    texts = messages_of(response)
    assert f"Started: {open_case.reference}." in texts
    assert (
        f"Not started: {new_case.reference}: "
        "This case is New now, so this action is not available." in texts
    )
    response = engineer_client.post(
        CHANGELIST,
        {"action": "resolve_cases", "_selected_action": [open_case.pk, new_case.pk]},
        follow=True,
    )
    assert f"Resolved: {open_case.reference}." in messages_of(response)
    response = engineer_client.post(
        CHANGELIST,
        {"action": "close_cases", "_selected_action": [open_case.pk, new_case.pk]},
        follow=True,
    )
    assert f"Closed: {open_case.reference}, {new_case.reference}." in messages_of(response)
    assert CaseEvent.objects.filter(case=open_case, transition="close").exists()


# --- The case page --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trait", "buttons"),
    [
        ({}, ["take", "assign", "close", "reply", "note"]),
        (
            {"open": True},
            ["take", "assign", "start_work", "request_info", "resolve", "close", "reply", "note"],
        ),
        (
            {"in_progress": True},
            ["take", "assign", "request_info", "resolve", "close", "reply", "note"],
        ),
        ({"pending_customer": True}, ["take", "assign", "resolve", "close", "reply", "note"]),
        ({"resolved": True}, ["take", "assign", "close", "reopen", "reply", "note"]),
        ({"closed": True}, ["reopen"]),
    ],
)
def test_case_page_offers_exactly_the_actions_available_now(engineer_client, trait, buttons):
    case = CaseFactory(**trait)
    response = engineer_client.get(change_url(case))
    assert response.status_code == 200
    assert response.context["actions"] == buttons


def test_own_case_offers_no_take(engineer_client, engineer):
    case = CaseFactory(open=True, engineer=engineer)
    assert "take" not in engineer_client.get(change_url(case)).context["actions"]


def test_case_page_shows_thread_notes_attachments_history_and_notifications(
    engineer_client, engineer
):
    case = CaseFactory(in_progress=True, engineer=engineer)
    services.case_reply(
        case=case,
        author=case.requester,
        body="Here are the logs.",
        attachments=[SimpleUploadedFile("pod.log", b"error: boom\n")],
    )
    services.case_add_internal_note(case=case, engineer=engineer, body="Looks like the DNS bug.")
    services.case_request_info(
        case=case, engineer=engineer, message="Which version?", kind=InfoRequestKind.CONFIGURATION
    )
    response = engineer_client.get(change_url(case))
    content = response.content.decode()
    assert "Here are the logs." in content
    assert 'class="wb-message wb-message-internal"' in content
    assert "Internal note" in content and "Looks like the DNS bug." in content
    attachment = Attachment.objects.get(message__case=case)
    assert reverse("admin:cases_case_attachment", args=[case.pk, attachment.pk]) in content
    assert "Requested: Confirmation of your current configuration" in content
    assert "Engineer needs information" in content  # the notification log
    assert case.requester.email in content
    assert 'data-case-status="pending_customer"' in content


@pytest.mark.usefixtures("file_storage")
def test_engineer_downloads_an_attachment_customers_do_not(client, engineer, customer):
    case = CaseFactory(requester=customer, open=True)
    services.case_reply(
        case=case,
        author=customer,
        body="Logs",
        attachments=[SimpleUploadedFile("a.log", b"line\n")],
    )
    attachment = Attachment.objects.get(message__case=case)
    url = reverse("admin:cases_case_attachment", args=[case.pk, attachment.pk])
    client.force_login(engineer)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"line\n"
    assert response["Content-Disposition"] == 'attachment; filename="a.log"'
    assert response["X-Content-Type-Options"] == "nosniff"
    other_case = CaseFactory()
    assert (
        client.get(
            reverse("admin:cases_case_attachment", args=[other_case.pk, attachment.pk])
        ).status_code
        == 404
    )
    client.force_login(customer)
    assert client.get(url).status_code == 302


def test_case_page_query_count_does_not_grow_with_the_thread(
    engineer_client, engineer, django_assert_max_num_queries
):
    case = CaseFactory(in_progress=True, engineer=engineer)

    def add_messages(count: int) -> None:
        for number in range(count):
            message = MessageFactory(case=case, is_internal=bool(number % 3 == 0))
            Attachment.objects.create(
                message=message,
                file=SimpleUploadedFile("x.log", b"x"),
                filename="x.log",
                content_type="text/plain",
                size=1,
            )
            CaseEvent.objects.create(
                case=case,
                transition="update",
                from_status="in_progress",
                to_status="in_progress",
                actor=engineer,
                actor_kind="engineer",
            )

    add_messages(3)
    with django_assert_max_num_queries(20) as few:
        engineer_client.get(change_url(case))
    add_messages(60)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = engineer_client.get(change_url(case))
    assert len(response.context["thread"]) == 63


def test_status_cannot_be_edited_by_hand_and_details_changes_are_recorded(engineer_client):
    case = CaseFactory(open=True, priority=Priority.P3)
    response = engineer_client.get(change_url(case))
    assert "status" not in response.context["adminform"].form.fields
    response = engineer_client.post(
        change_url(case), {"subject": case.subject, "priority": "1", "status": "closed"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.priority) == (Status.OPEN, Priority.P1)
    event = CaseEvent.objects.get(case=case, transition="update")
    assert event.reason == "Priority P3 Normal → P1 Critical"


# --- Every button, allowed and refused -------------------------------------------------


def test_take_a_new_case(engineer_client, engineer):
    case = CaseFactory()
    response = press(engineer_client, case, "take")
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.assignee, case.original_engineer) == (
        Status.OPEN,
        engineer,
        engineer,
    )
    assert CaseEvent.objects.get(case=case, transition="assign").actor == engineer


def test_take_refused_when_a_colleague_took_the_case_first(engineer_client):
    case = CaseFactory()
    colleague = EngineerFactory()
    services.case_assign(case=case, engineer=colleague)
    response = press(engineer_client, case, "take", seen_status="new")
    assert response.status_code == 409
    assert "it was New, it is Open now" in " ".join(messages_of(response))
    case.refresh_from_db()
    assert case.assignee == colleague


def test_assign_to_another_engineer_and_reassign(engineer_client):
    case = CaseFactory()
    colleague = EngineerFactory()
    press(engineer_client, case, "assign", assignee=colleague.pk)
    case.refresh_from_db()
    assert (case.status, case.assignee) == (Status.OPEN, colleague)
    third = EngineerFactory()
    press(engineer_client, case, "assign", assignee=third.pk)
    case.refresh_from_db()
    assert (case.status, case.assignee, case.original_engineer) == (Status.OPEN, third, colleague)


def test_assign_refuses_a_customer_as_assignee(engineer_client, customer):
    case = CaseFactory()
    response = press(engineer_client, case, "assign", assignee=customer.pk)
    assert response.status_code == 400
    assert any("Assign" in text for text in messages_of(response))
    case.refresh_from_db()
    assert case.status == Status.NEW


def test_start_work_allowed_and_refused(engineer_client):
    case = CaseFactory(open=True)
    assert press(engineer_client, case, "start_work").status_code == 302
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS
    new_case = CaseFactory()
    response = press(engineer_client, new_case, "start_work")
    assert response.status_code == 409
    assert (
        "Start work was not done: This case is New now, so this action is not available."
        in messages_of(response)
    )


def test_request_info_moves_to_pending_customer_and_emails_the_question(
    engineer_client, django_capture_on_commit_callbacks, mailoutbox
):
    case = CaseFactory(in_progress=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = press(
            engineer_client, case, "request_info", kind="logs", message="Please send the pod logs."
        )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.return_status, case.info_request_kind) == (
        Status.PENDING_CUSTOMER,
        "in_progress",
        "logs",
    )
    question = Message.objects.filter(case=case).latest("id")
    assert (question.body, question.is_internal) == ("Please send the pod logs.", False)
    assert [mail.to for mail in mailoutbox] == [[case.requester.email]]
    assert "Please send the pod logs." in mailoutbox[0].body


def test_request_info_without_a_message_is_refused_with_a_clear_error(engineer_client):
    case = CaseFactory(open=True)
    response = press(engineer_client, case, "request_info", kind="approval", message="   ")
    assert response.status_code == 400
    assert (
        "Request information: Write the message to the customer saying what you need."
        in messages_of(response)
    )
    form = response.context["action_forms"]["request_info"]
    assert form["kind"].value() == "approval"  # what the engineer chose is kept
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert not Message.objects.filter(case=case).exists()


def test_request_info_refused_when_the_customer_closed_the_case_first(engineer_client):
    case = CaseFactory(open=True)
    services.case_close(case=case, actor=case.requester)
    response = press(
        engineer_client, case, "request_info", seen_status="open", kind="logs", message="Send logs"
    )
    assert response.status_code == 409
    text = " ".join(messages_of(response))
    assert "it was Open, it is Closed now; the customer may have acted first" in text
    assert response.context["action_forms"]["request_info"]["message"].value() == "Send logs"
    assert b"Send logs" in response.content
    case.refresh_from_db()
    assert case.status == Status.CLOSED


def test_resolve_after_the_customer_resolved_it_first_is_refused(engineer_client):
    case = CaseFactory(in_progress=True)
    services.case_mark_resolved(case=case, customer=case.requester)
    response = press(
        engineer_client, case, "resolve", seen_status="in_progress", message="Fixed it."
    )
    assert response.status_code == 409
    assert "the customer may have acted first" in " ".join(messages_of(response))
    assert not Message.objects.filter(case=case, body="Fixed it.").exists()


def test_service_refusal_is_shown_even_if_the_status_was_current(engineer_client):
    case = CaseFactory(closed=True)
    response = press(engineer_client, case, "request_info", kind="logs", message="Send logs")
    assert response.status_code == 409
    assert (
        "Request information was not done: "
        "This case is Closed now, so this action is not available." in messages_of(response)
    )


def test_resolve_with_a_message(engineer_client, django_capture_on_commit_callbacks, mailoutbox):
    case = CaseFactory(pending_customer=True)
    with django_capture_on_commit_callbacks(execute=True):
        press(engineer_client, case, "resolve", message="Restarted the ingress.")
    case.refresh_from_db()
    assert case.status == Status.RESOLVED
    assert case.pending_since is None and case.resolved_at is not None
    assert Message.objects.filter(case=case, body="Restarted the ingress.").exists()
    assert len(mailoutbox) == 1


def test_resolve_refused_on_a_new_case(engineer_client):
    case = CaseFactory()
    response = press(engineer_client, case, "resolve")
    assert response.status_code == 409
    case.refresh_from_db()
    assert case.status == Status.NEW


def test_close_allowed_and_refused(engineer_client):
    case = CaseFactory(resolved=True)
    press(engineer_client, case, "close", reason="Customer confirmed by phone")
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert (
        CaseEvent.objects.get(case=case, transition="close").reason
        == "Customer confirmed by phone"
    )
    response = press(engineer_client, case, "close")
    assert response.status_code == 409
    assert (
        "Close case was not done: This case is Closed now, so this action is not available."
        in messages_of(response)
    )


def test_reopen_allowed_and_refused(engineer_client, engineer):
    case = CaseFactory(closed=True, engineer=engineer)
    press(engineer_client, case, "reopen", message="Reopening: the fix did not hold.")
    case.refresh_from_db()
    assert (case.status, case.assignee) == (Status.OPEN, engineer)
    response = press(engineer_client, case, "reopen")
    assert response.status_code == 409
    assert (
        "Reopen Case was not done: Only resolved or closed cases can be reopened."
        in messages_of(response)
    )


def test_public_reply_and_internal_note(
    engineer_client, django_capture_on_commit_callbacks, mailoutbox
):
    case = CaseFactory(in_progress=True)
    with django_capture_on_commit_callbacks(execute=True):
        press(engineer_client, case, "reply", body="We are on it.")
        press(engineer_client, case, "note", body="Customer is on the old chart.")
    reply, note = Message.objects.filter(case=case).order_by("id")
    assert (reply.body, reply.is_internal, reply.source) == ("We are on it.", False, "admin")
    assert (note.body, note.is_internal) == ("Customer is on the old chart.", True)
    assert len(mailoutbox) == 1
    assert "Customer is on the old chart." not in mailoutbox[0].body


@pytest.mark.usefixtures("file_storage")
def test_public_reply_with_an_attachment(engineer_client):
    case = CaseFactory(open=True)
    engineer_client.post(
        action_url(case, "reply"),
        {
            "reply-body": "The patched config",
            "reply-attachments": SimpleUploadedFile("values.yaml", b"replicas: 3\n"),
        },
    )
    attachment = Attachment.objects.get(message__case=case)
    assert (attachment.filename, attachment.content_type) == ("values.yaml", "text/plain")
    with attachment.file.open("rb") as stored:
        assert stored.read() == b"replicas: 3\n"


def test_internal_note_with_an_attachment_is_refused(engineer_client):
    case = CaseFactory(open=True)
    response = engineer_client.post(
        action_url(case, "note"),
        {"reply-body": "Secret", "reply-attachments": SimpleUploadedFile("a.log", b"x\n")},
    )
    # The refusal sends the browser to the case page (no second run of the admin's
    # view inside this request), which says why and keeps the typed text, once.
    assert response.status_code == 303
    page = engineer_client.get(response["Location"])
    assert page.status_code == 409
    assert "Secret</textarea>" in page.content.decode()
    assert not Message.objects.filter(case=case).exists()
    assert engineer_client.get(response["Location"]).status_code == 200


def test_empty_reply_and_reply_on_a_closed_case_are_refused(engineer_client):
    case = CaseFactory(closed=True)
    response = press(engineer_client, case, "reply", body=" ")
    assert response.status_code == 400
    assert "Reply: Write a message." in messages_of(response)
    response = press(engineer_client, case, "reply", body="Hello")
    assert response.status_code == 409
    assert "Reply was not done: This case is closed: reopen it before replying." in messages_of(
        response
    )


def test_buttons_only_accept_post(engineer_client):
    case = CaseFactory()
    assert engineer_client.get(action_url(case, "take")).status_code == 405
    assert engineer_client.post(action_url(case, "delete"), {}).status_code == 404


def test_buttons_need_the_csrf_token(engineer):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(engineer)
    case = CaseFactory()
    response = client.post(action_url(case, "take"), {"take-seen_status": "new"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == Status.NEW


def test_a_case_worked_through_its_whole_life(engineer_client, engineer):
    case = CaseFactory()
    press(engineer_client, case, "take")
    press(engineer_client, case, "start_work", seen_status="open")
    press(
        engineer_client,
        case,
        "request_info",
        seen_status="in_progress",
        kind="steps",
        message="How do I reproduce?",
    )
    services.case_reply(case=case, author=case.requester, body="Run make deploy.")
    press(engineer_client, case, "resolve", seen_status="in_progress", message="Fixed in 2.3.1")
    press(engineer_client, case, "close", seen_status="resolved")
    press(engineer_client, case, "reopen", seen_status="closed")
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert list(CaseEvent.objects.filter(case=case).values_list("transition", flat=True)) == [
        "assign", "start_work", "request_info", "receive_customer_reply",
        "resolve", "close", "reopen",
    ]  # fmt: skip
