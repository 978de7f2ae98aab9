"""One place decides who may do what: the state machine.

For every status and every kind of person, the buttons the pages show, the actions the
state machine allows and the actions the services accept are the same set.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.urls import reverse

from cases import services
from cases.admin.case import available_actions
from cases.exceptions import CaseActionError
from cases.models import CUSTOMER_TRANSITIONS, Case, InfoRequestKind, Status
from tests.factories import CaseFactory, EngineerFactory, customer

pytestmark = pytest.mark.django_db

# colleague: an organisation admin; participant: a member the case is shared with;
# teammate: a member it is not shared with.
ACTORS = [
    "requester",
    "colleague",
    "participant",
    "teammate",
    "stranger",
    "engineer",
    "anonymous",
]
# The customer's actions: the transitions with a button, the reply and the approval.
CUSTOMER_ACTIONS = ("reply", *CUSTOMER_TRANSITIONS, "answer_approval")
URL_NAMES = {"answer_approval": "approval"}

RUN = {
    "reply": lambda case, user: services.case_reply(case=case, author=user, body="Any news?"),
    "mark_resolved": lambda case, user: services.case_mark_resolved(case=case, customer=user),
    "close": lambda case, user: services.case_close(case=case, actor=user),
    "reopen": lambda case, user: services.case_reopen(case=case, actor=user),
    "confirm": lambda case, user: services.case_confirm_resolution(case=case, customer=user),
    "answer_approval": lambda case, user: services.case_answer_approval(
        case=case, customer=user, approved=True
    ),
}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_case(status: str) -> Case:
    traits = {} if status == Status.NEW else {status: True}
    if status == Status.PENDING_CUSTOMER:
        # An approval question: the approval buttons are in play too.
        traits["info_request_kind"] = InfoRequestKind.APPROVAL
    return CaseFactory(**traits)


def make_actor(kind: str, case: Case):
    return {
        "requester": lambda: case.requester,
        "colleague": lambda: customer(case.organisation, sees_organisation=True),
        "participant": lambda: _participant(case),
        "teammate": lambda: customer(case.organisation),
        "stranger": lambda: customer(),
        "engineer": lambda: EngineerFactory(),
        "anonymous": AnonymousUser,
    }[kind]()


def _participant(case: Case):
    member = customer(case.organisation)
    services.case_add_participants(case=case, actor=case.requester, addresses=[member.email])
    return member


class _Undo(Exception):
    pass


def service_accepts(name: str, case: Case, user) -> bool:
    """Whether the service does `name` for `user`; whatever it did is rolled back."""
    try:
        with transaction.atomic():
            RUN[name](case, user)
            raise _Undo
    except _Undo:
        return True
    except CaseActionError:
        return False


def buttons_on_case_page(client, case: Case, user) -> set[str]:
    if user.is_authenticated:
        client.force_login(user)
    response = client.get(case.get_absolute_url())
    if response.status_code != 200:
        return set()
    actions = set(re.findall(r'<form[^>]*\saction="([^"]+)"', response.content.decode()))
    return {
        name
        for name in CUSTOMER_ACTIONS
        if reverse(f"cases:{URL_NAMES.get(name, name)}", args=[case.reference]) in actions
    }


def buttons_on_my_cases(client, case: Case, user) -> set[str]:
    """The row's own buttons in My Cases (the view that lists the case for this user)."""
    if not user.is_authenticated:
        return set()
    if case.requester_id == user.pk:
        scope = ""
    elif case.participants.filter(user=user).exists():
        scope = "&scope=shared"
    else:
        scope = "&scope=organisation"
    page = client.get(f"{reverse('cases:list')}?status=all{scope}").content.decode()
    if case.get_absolute_url() not in page:
        return set()
    actions = set(re.findall(r'<form[^>]*\saction="([^"]+)"', page))
    return {
        name
        for name in ("mark_resolved", "confirm")
        if reverse(f"cases:{name}", args=[case.reference]) in actions
    }


def model_allows(case: Case, user) -> set[str]:
    actions = case.customer_actions(user)
    return {name for name in CUSTOMER_ACTIONS if actions[f"can_{name}"]}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("status", Status.values)
def test_the_customer_buttons_are_what_the_state_machine_allows_and_the_services_accept(
    client, status, actor
):
    case = make_case(status)
    user = make_actor(actor, case)

    shown = buttons_on_case_page(client, case, user)
    allowed = model_allows(case, user) if actor != "engineer" else set()
    accepted = {name for name in CUSTOMER_ACTIONS if service_accepts(name, case, user)}

    assert shown == allowed
    if actor == "engineer":
        # Engineers act from the admin; there, the shared transitions are theirs too.
        shown = set(available_actions(case, user)) & set(CUSTOMER_ACTIONS)
        allowed = {name for name in CUSTOMER_TRANSITIONS if case.may_fire(name, user)}
        allowed |= {"reply"} & shown  # an engineer's reply is no transition
    assert shown == allowed == accepted
    row = buttons_on_my_cases(client, case, user)
    assert row == allowed & {"mark_resolved", "confirm"} if actor != "engineer" else not row
    if actor in ("requester", "colleague", "participant"):
        assert shown, "a customer of the case always has something to do"


def test_a_reply_to_a_closed_case_is_refused_on_the_web_and_reopens_it_by_email():
    """The same rule for both channels: on the web Reopen Case says why; by email the
    reply itself reopens the case."""
    case = make_case(Status.CLOSED)
    assert not case.customer_may_reply(case.requester)
    assert case.customer_may_reply(case.requester, by_email=True)
    assert not service_accepts("reply", case, case.requester)

    from cases.models import MessageSource

    services.case_reply(
        case=case, author=case.requester, body="Broken again.", source=MessageSource.EMAIL
    )
    case.refresh_from_db()
    assert case.status == Status.OPEN
