"""`manage.py seed_demo`: the demo logins, one case in every status and response targets
in each state, idempotently."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.utils import timezone

from cases.admin.macros import MacroForm
from cases.invariants import find_violations
from cases.models import (
    Case,
    CaseEvent,
    CaseParticipant,
    Macro,
    Message,
    Notification,
    NotificationKind,
    Plan,
    ResponseTarget,
    Status,
    TargetOutcome,
)
from cases.service_levels import WAITING_ON_US
from portal.models import Membership, Organisation

pytestmark = pytest.mark.django_db

DEMO_LOGINS = {
    "customer@example.com": "customer",
    "colleague@example.com": "customer",
    "other@example.com": "customer",
    "engineer@example.com": "engineer",
    "alex@example.com": "engineer",
}
PASSWORD = "portal-demo"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def table_sizes() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            get_user_model(),
            Organisation,
            Membership,
            Case,
            Message,
            CaseEvent,
            Notification,
            ResponseTarget,
        )
    }


def test_seeding_twice_creates_nothing_twice():
    seed()
    first = table_sizes()
    second_output = seed()

    assert table_sizes() == first
    assert "already exist" in second_output
    assert first["Case"] >= len(Status.values)


def test_the_two_colleagues_read_times_in_their_own_zones():
    output = seed()

    users = get_user_model().objects
    assert users.get(email="customer@example.com").shown_zone.key == "Europe/Paris"
    assert users.get(email="colleague@example.com").shown_zone.key == "America/New_York"
    assert "organisation admin: sees all its cases; times in Europe/Paris" in output
    assert "member: own and shared cases; times in America/New_York" in output


def test_prints_the_demo_logins():
    output = seed()
    for email in DEMO_LOGINS:
        assert email in output
    assert PASSWORD in output


def test_every_status_has_a_demo_case():
    seed()
    assert set(Case.objects.values_list("status", flat=True)) == set(Status.values)


def test_pending_customer_case_shows_the_engineers_question_in_its_thread():
    seed()
    engineer = get_user_model().objects.get(email="engineer@example.com")
    for case in Case.objects.filter(status=Status.PENDING_CUSTOMER):
        question = case.messages.filter(is_internal=False).last()
        assert question.author == engineer
        assert question.info_request_kind == case.info_request_kind != ""
        assert len(question.body) > 20
        assert case.pending_since is not None
        assert case.auto_close_at is not None


def test_demo_organisations_and_roles_are_as_designed():
    seed()
    User = get_user_model()
    customer = User.objects.get(email="customer@example.com")
    colleague = User.objects.get(email="colleague@example.com")
    other = User.objects.get(email="other@example.com")
    engineer = User.objects.get(email="engineer@example.com")

    assert customer.membership.organisation == colleague.membership.organisation
    assert other.membership.organisation != customer.membership.organisation
    assert engineer.is_support_engineer
    assert not any(u.is_staff for u in (customer, colleague, other))
    # One of each role: the customer administers Acme Cloud and sees all its cases; the
    # colleague is a member who sees their own and the case shared with them; the other
    # customer sees none of them.
    assert customer.membership.is_organisation_admin
    assert not colleague.membership.is_organisation_admin
    assert set(Case.objects.visible_to_customer(customer)) == set(
        Case.objects.filter(organisation=customer.membership.organisation)
    )
    shared = Case.objects.visible_to_customer(colleague).filter(requester=customer)
    assert [case.status for case in shared] == [Status.PENDING_CUSTOMER]
    assert not Case.objects.visible_to_customer(other).filter(requester=customer).exists()


def test_a_demo_case_is_shared_through_the_service_with_its_entry_and_email():
    output = seed()
    colleague = get_user_model().objects.get(email="colleague@example.com")
    [participant] = CaseParticipant.objects.filter(user=colleague)
    case = participant.case

    assert case.requester.email == "customer@example.com"
    event = CaseEvent.objects.get(case=case, transition="share")
    assert event.summary == "Shared with Cole Colleague"
    assert Notification.objects.filter(
        case=case, recipient=colleague, kind=NotificationKind.CASE_SHARED, event=event
    ).exists()
    assert "customer@example.com" in output and "organisation admin" in output
    assert "member: own and shared cases" in output


@pytest.mark.parametrize(("email", "role"), DEMO_LOGINS.items())
def test_demo_logins_work_with_the_demo_password(client, email, role):
    seed()
    response = client.post("/accounts/login/", {"username": email, "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(get_user_model().objects.get(email=email).pk)
    if role == "engineer":
        assert client.get("/admin/cases/case/").status_code == 200
    else:
        assert client.get("/cases/").status_code == 200
        assert client.get("/admin/").status_code == 302


def test_demo_password_is_the_only_one_that_works(client):
    seed()
    response = client.post(
        "/accounts/login/", {"username": "customer@example.com", "password": "wrong-password"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_three_plans_and_the_demo_organisations_on_different_ones():
    seed()
    assert list(Plan.objects.values_list("name", flat=True)) == [
        "Standard",
        "Business",
        "Enterprise",
    ]
    acme = Organisation.objects.get(name="Acme Cloud")
    globex = Organisation.objects.get(name="Globex Systems")
    assert acme.service_plan.name == "Business"
    assert acme.time_zone == "Europe/Paris"
    # Globex has no plan of its own: it is on the default one.
    assert globex.plan is None
    assert globex.service_plan.name == "Standard"


PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 3, 15, 55, tzinfo=PARIS),  # a Thursday afternoon
        datetime(2026, 12, 5, 23, 30, tzinfo=PARIS),  # Saturday night
        datetime(2026, 12, 25, 10, 0, tzinfo=PARIS),  # Christmas Day
        datetime(2027, 1, 4, 8, 0, tzinfo=PARIS),  # Monday before opening, after New Year
        datetime(2027, 3, 30, 8, 0, tzinfo=PARIS),  # Tuesday before opening, after Easter
    ],
    ids=["weekday", "weekend-night", "christmas", "after-new-year", "after-easter"],
)
def test_demo_cases_have_targets_due_soon_breached_met_and_paused(moment, time_machine):
    time_machine.move_to(moment, tick=False)
    seed()
    now = timezone.now()
    targets = list(ResponseTarget.objects.select_related("case"))
    running = [t for t in targets if t.outcome == TargetOutcome.RUNNING]

    assert any(now < t.due_at <= now + timedelta(hours=1) for t in running), "due soon"
    assert any(t.due_at < now for t in running), "breached"
    assert any(t.outcome == TargetOutcome.MET for t in targets)
    assert any(t.outcome == TargetOutcome.PAUSED for t in targets)
    # Some run on each of the demo organisations' plans.
    assert {t.plan.name for t in running} == {"Business", "Standard"}


def test_demo_targets_agree_with_their_cases_and_the_invariants_hold(time_machine):
    time_machine.move_to(datetime(2026, 12, 7, 11, 0, tzinfo=PARIS), tick=False)
    seed()

    for case in Case.objects.prefetch_related("response_targets"):
        running = [t for t in case.response_targets.all() if t.outcome == "running"]
        assert len(running) <= 1
        assert case.response_due_at == (running[0].due_at if running else None), case
        if running:
            assert case.status in WAITING_ON_US
            assert running[0].started_at >= case.created_at
    assert find_violations() == []


def test_the_fourth_demo_case_is_still_the_pending_customer_one_the_readme_names():
    """CS-1004 on a fresh database: the README walks through it."""
    seed()
    fourth = Case.objects.order_by("pk")[3]
    assert fourth.status == Status.PENDING_CUSTOMER
    assert fourth.subject == "Kubernetes nodes NotReady after upgrade"


def test_demo_macros_are_valid_and_one_asks_for_kubelet_logs():
    seed()
    seed()

    macros = {macro.name: macro for macro in Macro.objects.all()}
    assert len(macros) == 3
    for macro in macros.values():
        assert MacroForm(model_to_dict(macro), instance=macro).is_valid(), macro.name
    kubelet = macros["Ask for kubelet logs"]
    assert (kubelet.action, kubelet.info_request_kind) == ("request_info", "logs")
