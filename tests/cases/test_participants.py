"""Sharing a case with colleagues: who may, what they then see, do and are emailed, what
is refused, and what happens when someone leaves the organisation."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from markupsafe import escape

from cases import email_actions, outbox, services
from cases.exceptions import ActionNotPermitted, NotAParticipant, ParticipantsRefused
from cases.models import (
    Case,
    CaseEvent,
    CaseParticipant,
    InboundReason,
    Notification,
    NotificationKind,
    NotificationState,
    Status,
)
from cases.services.participants import MAX_COLLEAGUES_AT_ONCE, colleague_addresses
from portal.models import Membership, Role
from tests.cases import email_webhooks as hooks
from tests.factories import CaseFactory, EngineerFactory, OrganisationFactory, customer, days

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return OrganisationFactory(name="Acme")


@pytest.fixture
def alex(acme):
    """The requester."""
    return customer(acme, full_name="Alex Requester", email="alex@acme.example")


@pytest.fixture
def carol(acme):
    """A colleague, a member: sees only her own cases and those shared with her."""
    return customer(acme, full_name="Carol Colleague", email="carol@acme.example")


@pytest.fixture
def dan(acme):
    """Another member of Acme, on no case."""
    return customer(acme, full_name="Dan Member", email="dan@acme.example")


@pytest.fixture
def boss(acme):
    return customer(
        acme, sees_organisation=True, full_name="Olga Admin", email="olga@acme.example"
    )


@pytest.fixture
def case(alex):
    return CaseFactory(requester=alex, in_progress=True, subject="Backups fail")


def share(case, actor, *addresses, message=""):
    return services.case_add_participants(
        case=case, actor=actor, addresses=list(addresses), message=message
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(case, name, *args) -> str:
    return reverse(f"cases:{name}", args=[case.reference, *args])


def participants(case) -> list[str]:
    return list(
        CaseParticipant.objects.filter(case=case)
        .order_by("pk")
        .values_list("user__email", flat=True)
    )


def queued(kind, *, case=None, since: int = 0) -> list[str]:
    """Who emails of `kind` were queued for (after notification `since`)."""
    rows = Notification.objects.filter(kind=kind, pk__gt=since)
    if case is not None:
        rows = rows.filter(case=case)
    return sorted(rows.values_list("to_email", flat=True))


def listed_references(response) -> list[str]:
    return re.findall(r'data-case-reference="([^"]+)"', response.content.decode())


# --- Sharing on the case page ---------------------------------------------------------


def test_requester_adds_a_colleague_with_a_message(case, alex, carol):
    client = signed_in(alex)

    response = client.post(
        url(case, "add_participant"),
        {"email": "Carol@Acme.example", "message": "Carol runs the backup server."},
        follow=True,
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert f"Carol Colleague can now follow {case.reference}." in content
    assert 'data-case-participant="carol@acme.example"' in content
    assert participants(case) == ["carol@acme.example"]
    participant = CaseParticipant.objects.get(case=case)
    assert participant.added_by == alex
    event = CaseEvent.objects.get(case=case, transition="share")
    assert (event.actor, event.summary, event.note) == (
        alex,
        "Shared with Carol Colleague",
        "Carol runs the backup server.",
    )
    # The customer's history shows it, with the message.
    assert "Shared with Carol Colleague" in content
    assert "<q>Carol runs the backup server.</q>" in content
    assert (event.from_status, event.to_status) == (Status.IN_PROGRESS, Status.IN_PROGRESS)


def test_the_added_colleague_is_emailed_who_shared_which_case_and_why(
    case, alex, carol, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        share(case, alex, carol.email, message="Could you look at the nightly logs?")

    [email] = mailoutbox
    assert email.to == [carol.email]
    assert email.subject == f"[{case.reference}] Shared with you: Backups fail"
    html = email.alternatives[0][0]
    assert f"Alex Requester shared case {case.reference} with you." in email.body
    assert f"Alex Requester shared case <strong>{case.reference}</strong> with you." in html
    for body in (email.body, html):
        assert "Could you look at the nightly logs?" in body
        assert case.get_absolute_url() in body
    # Her own reply address: a reply from her reaches the case as hers.
    assert email.reply_to == [outbox.reply_address(case, carol)]


def test_several_colleagues_at_once_each_get_an_entry_and_an_email(
    case, alex, carol, dan, mailoutbox, django_capture_on_commit_callbacks
):
    client = signed_in(alex)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(case, "add_participant"), {"email": f"{carol.email}, {dan.email}"}, follow=True
        )

    assert "Carol Colleague and Dan Member can now follow" in response.content.decode()
    assert participants(case) == [carol.email, dan.email]
    assert CaseEvent.objects.filter(case=case, transition="share").count() == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted([carol.email, dan.email])


def test_the_page_lists_the_requester_and_each_participant_with_remove_buttons(
    case, alex, carol, dan, boss
):
    share(case, alex, carol.email)
    participant = CaseParticipant.objects.get(case=case)

    content = signed_in(alex).get(case.get_absolute_url()).content.decode()

    assert "People on this case" in content
    assert 'data-case-requester="alex@acme.example"' in content
    assert content.count("data-case-participant=") == 1
    assert url(case, "remove_participant", participant.pk) in content
    # Suggestions: active colleagues not on the case yet; nobody of another organisation.
    suggestions = re.search(r'<datalist id="colleague-emails">(.*?)</datalist>', content)[1]
    assert dan.email in suggestions and boss.email in suggestions
    assert carol.email not in suggestions and alex.email not in suggestions
    CaseFactory()  # someone of another organisation
    assert "@example.com" not in suggestions


def test_inactive_colleagues_are_not_suggested(case, alex, dan):
    dan.is_active = False
    dan.save()

    content = signed_in(alex).get(case.get_absolute_url()).content.decode()

    assert dan.email not in content


def test_a_participant_may_share_further_and_remove_colleagues(case, alex, carol, dan):
    share(case, alex, carol.email)
    client = signed_in(carol)

    client.post(url(case, "add_participant"), {"email": dan.email})
    dan_on_case = CaseParticipant.objects.get(case=case, user=dan)
    response = client.post(url(case, "remove_participant", dan_on_case.pk), follow=True)

    assert f"Dan Member no longer follows {case.reference}." in response.content.decode()
    assert participants(case) == [carol.email]
    event = CaseEvent.objects.filter(case=case).latest("id")
    assert (event.transition, event.actor, event.reason) == (
        "unshare",
        carol,
        "Dan Member removed",
    )
    assert "Dan Member removed" in response.content.decode()  # in the history


def test_a_participant_who_stops_following_is_taken_back_to_my_cases(case, alex, carol):
    share(case, alex, carol.email)
    participant = CaseParticipant.objects.get(case=case)
    client = signed_in(carol)

    response = client.post(url(case, "remove_participant", participant.pk))

    assert response.status_code == 302
    assert response["Location"] == reverse("cases:list")
    assert client.get(case.get_absolute_url()).status_code == 404
    assert CaseEvent.objects.filter(case=case).latest("id").reason == (
        "Carol Colleague left the case"
    )


def test_organisation_admin_shares_and_unshares_any_case_of_the_organisation(case, boss, carol):
    client = signed_in(boss)

    client.post(url(case, "add_participant"), {"email": carol.email})
    assert participants(case) == [carol.email]
    participant = CaseParticipant.objects.get(case=case)
    client.post(url(case, "remove_participant", participant.pk))

    assert participants(case) == []
    assert list(
        CaseEvent.objects.filter(case=case, transition__in=["share", "unshare"])
        .order_by("id")
        .values_list("actor", flat=True)
    ) == [boss.pk, boss.pk]


def test_sharing_on_the_open_form_adds_the_colleagues_to_the_new_case(
    alex, carol, dan, mailoutbox, django_capture_on_commit_callbacks
):
    client = signed_in(alex)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/cases/new/",
            {
                "subject": "VPN drops",
                "priority": "3",
                "description": "Every hour.",
                "colleagues": f"{carol.email}\n{dan.email}",
            },
        )

    case = Case.objects.get()
    assert response.status_code == 302
    assert participants(case) == [carol.email, dan.email]
    assert list(case.events.order_by("id").values_list("transition", flat=True)) == [
        "open",
        "share",
        "share",
    ]
    # The acknowledgement is the requester's alone; the colleagues get "shared with you".
    assert queued(NotificationKind.CASE_OPENED) == [alex.email]
    assert queued(NotificationKind.CASE_SHARED) == sorted([carol.email, dan.email])
    assert {tuple(m.to) for m in mailoutbox} == {(alex.email,), (carol.email,), (dan.email,)}


def test_the_open_form_takes_a_list_separated_by_commas_or_lines(alex, carol, dan):
    content = signed_in(alex).get("/cases/new/").content.decode()
    assert "Share with colleagues (optional)" in content
    assert '<textarea name="colleagues"' in content

    case = services.case_open(
        requester=alex,
        subject="x",
        description="y",
        priority=3,
        colleagues=colleague_addresses(f" {carol.email};\r\n{dan.email.upper()}\n{carol.email}, "),
    )

    assert participants(case) == [carol.email, dan.email]


# --- Bad input: a clear message, what was typed kept, nothing changed -----------------


def refused_share(client, case, typed: str) -> str:
    before = (
        participants(case),
        CaseEvent.objects.count(),
        Notification.objects.count(),
    )
    response = client.post(url(case, "add_participant"), {"email": typed, "message": "Hi"})
    assert response.status_code == 400
    content = response.content.decode()
    assert "There is a problem" in content
    assert "Colleague&#39;s email address" in content or "Colleague's email address" in content
    assert (participants(case), CaseEvent.objects.count(), Notification.objects.count()) == before
    # What was typed is still in the field.
    assert f'value="{typed}"' in content
    return content


@pytest.mark.parametrize("address", ["someone@elsewhere.example", "nobody@acme.example"])
def test_an_address_outside_the_organisation_or_of_nobody_is_refused_alike(case, alex, address):
    """The same answer for both: which addresses have an account is not for a customer
    to find out."""
    if address.startswith("someone"):
        customer(email=address)  # a customer of another organisation
    content = refused_share(signed_in(alex), case, address)

    assert f"{address} is not a colleague in your organisation with an account here." in content


def test_a_colleague_already_on_the_case_is_refused(case, alex, carol):
    share(case, alex, carol.email)

    content = refused_share(signed_in(alex), case, carol.email)

    assert f"{carol.email} is on this case already." in content


def test_the_requester_is_refused(case, alex, carol):
    share(case, alex, carol.email)

    content = refused_share(signed_in(carol), case, alex.email)

    assert f"{alex.email} opened this case and follows it already." in content


def test_an_inactive_colleague_is_refused(case, alex, dan):
    dan.is_active = False
    dan.save()

    content = refused_share(signed_in(alex), case, dan.email)

    assert f"{dan.email}: this colleague&#39;s account is not active." in content


def test_something_that_is_no_address_is_refused(case, alex):
    content = refused_share(signed_in(alex), case, "carol-at-acme")

    assert "“carol-at-acme” is not an email address." in content


def test_one_bad_address_among_good_ones_adds_nobody(case, alex, carol, dan):
    content = refused_share(signed_in(alex), case, f"{carol.email}, stranger@elsewhere.example")

    assert "stranger@elsewhere.example is not a colleague" in content
    assert carol.email not in participants(case)


def test_an_empty_address_is_refused(case, alex):
    response = signed_in(alex).post(url(case, "add_participant"), {"email": "  "})

    assert response.status_code == 400
    assert "Enter the email address of a colleague." in response.content.decode()
    assert participants(case) == []


def test_more_than_the_limit_at_once_is_refused_whole(case, alex, acme):
    colleagues = [customer(acme, email=f"member{n}@acme.example").email for n in range(50)]

    content = refused_share(signed_in(alex), case, ", ".join(colleagues))

    assert (
        f"You entered 50 addresses: up to {MAX_COLLEAGUES_AT_ONCE} colleagues can be added "
        "at once. Nobody was added."
    ) in content


def test_the_limit_itself_is_accepted(case, alex, acme):
    colleagues = [
        customer(acme, email=f"member{n}@acme.example").email
        for n in range(MAX_COLLEAGUES_AT_ONCE)
    ]

    share(case, alex, *colleagues)

    assert len(participants(case)) == MAX_COLLEAGUES_AT_ONCE


def test_a_bad_colleague_on_the_open_form_opens_no_case_and_keeps_what_was_typed(alex, acme):
    colleagues = ", ".join(f"m{n}@acme.example" for n in range(11))
    for n in range(11):
        customer(acme, email=f"m{n}@acme.example")
    client = signed_in(alex)

    response = client.post(
        "/cases/new/",
        {
            "subject": "VPN drops",
            "priority": "3",
            "description": "Every hour.",
            "colleagues": colleagues,
        },
    )

    assert response.status_code == 400
    content = response.content.decode()
    assert "You entered 11 addresses" in content
    assert 'value="VPN drops"' in content and f">\n{colleagues}</textarea>" in content
    assert not Case.objects.exists()
    assert not Notification.objects.exists()

    response = client.post(
        "/cases/new/",
        {"subject": "VPN drops", "priority": "3", "description": "x", "colleagues": "x@y.example"},
    )
    assert response.status_code == 400
    assert "x@y.example is not a colleague in your organisation" in response.content.decode()
    assert not Case.objects.exists()


def test_removing_someone_not_on_the_case_answers_404(case, alex, carol):
    other = CaseFactory(requester=alex)
    share(other, alex, carol.email)
    on_other_case = CaseParticipant.objects.get(case=other)
    client = signed_in(alex)

    assert client.post(url(case, "remove_participant", on_other_case.pk)).status_code == 404
    assert client.post(url(case, "remove_participant", 999999)).status_code == 404
    assert participants(other) == [carol.email]
    with pytest.raises(NotAParticipant):
        services.case_remove_participant(case=case, actor=alex, participant_id=on_other_case.pk)


def test_removing_twice_answers_404_the_second_time(case, alex, carol):
    share(case, alex, carol.email)
    participant = CaseParticipant.objects.get(case=case)
    client = signed_in(alex)

    assert client.post(url(case, "remove_participant", participant.pk)).status_code == 302
    assert client.post(url(case, "remove_participant", participant.pk)).status_code == 404
    assert CaseEvent.objects.filter(case=case, transition="unshare").count() == 1


@pytest.mark.parametrize("who", ["member not on the case", "other organisation"])
def test_people_who_are_not_customers_of_the_case_get_404_and_change_nothing(
    case, alex, carol, dan, who
):
    share(case, alex, carol.email)
    participant = CaseParticipant.objects.get(case=case)
    intruder = dan if who == "member not on the case" else customer()
    client = signed_in(intruder)

    assert client.post(url(case, "add_participant"), {"email": dan.email}).status_code == 404
    assert client.post(url(case, "remove_participant", participant.pk)).status_code == 404
    assert participants(case) == [carol.email]
    with pytest.raises(ActionNotPermitted):
        share(case, intruder, dan.email)


def test_sharing_and_removing_need_a_post_with_csrf(case, alex, carol):
    share(case, alex, carol.email)
    participant = CaseParticipant.objects.get(case=case)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alex)

    assert client.get(url(case, "add_participant")).status_code == 405
    assert client.get(url(case, "remove_participant", participant.pk)).status_code == 405
    assert (
        client.post(url(case, "add_participant"), {"email": "dan@acme.example"}).status_code == 403
    )
    assert client.post(url(case, "remove_participant", participant.pk)).status_code == 403
    assert participants(case) == [carol.email]


def test_the_service_refuses_the_same_as_the_page(case, alex, carol):
    with pytest.raises(ParticipantsRefused) as refused:
        share(case, alex, carol.email, "x@elsewhere.example", alex.email)

    assert refused.value.problems == [
        "x@elsewhere.example is not a colleague in your organisation with an account here.",
        f"{alex.email} opened this case and follows it already.",
    ]
    assert participants(case) == []


# --- What a participant sees and may do -----------------------------------------------


def test_a_participant_sees_the_case_and_acts_on_it_as_the_requester(case, alex, carol):
    share(case, alex, carol.email)
    client = signed_in(carol)

    page = client.get(case.get_absolute_url())
    assert page.status_code == 200
    assert "</time> by Alex Requester</dd>" in page.content.decode()

    client.post(url(case, "reply"), {"body": "Logs are attached now."})
    client.post(url(case, "mark_resolved"))
    assert Case.objects.get(pk=case.pk).status == Status.RESOLVED
    client.post(url(case, "reopen"), {"message": "Broke again."})
    assert Case.objects.get(pk=case.pk).status == Status.OPEN
    client.post(url(case, "close"), {"confirm": "on"})
    closed = Case.objects.get(pk=case.pk)
    assert closed.status == Status.CLOSED
    actors = set(
        CaseEvent.objects.filter(
            case=case, transition__in=["mark_resolved", "reopen", "close"]
        ).values_list("actor", flat=True)
    )
    assert actors == {carol.pk}
    assert case.messages.filter(author=carol, body="Logs are attached now.").exists()


def test_a_participant_answers_an_approval_and_confirms_it_worked(alex, carol):
    case = CaseFactory(requester=alex, pending_customer=True, info_request_kind="approval")
    share(case, alex, carol.email)
    client = signed_in(carol)

    client.post(url(case, "approval"), {"decision": "approve", "comment": "Go ahead."})
    assert Case.objects.get(pk=case.pk).status == Status.IN_PROGRESS
    services.case_resolve(case=case, engineer=case.assignee)
    client.post(url(case, "confirm"), {"rating": "good"})

    confirmed = Case.objects.get(pk=case.pk)
    assert (confirmed.status, confirmed.rating) == (Status.CLOSED, "good")
    assert CaseEvent.objects.filter(case=case, transition="confirm").get().actor == carol


def test_a_participant_confirms_with_the_link_in_their_own_resolved_email(
    case, alex, carol, mailoutbox, django_capture_on_commit_callbacks, settings
):
    share(case, alex, carol.email)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_resolve(case=case, engineer=case.assignee)

    [to_carol] = [m for m in mailoutbox if m.to == [carol.email] and "Resolved" in m.subject]
    link = re.search(r"/cases/link/confirm/\S+/", to_carol.body)[0]
    [to_alex] = [m for m in mailoutbox if m.to == [alex.email]]
    assert link not in to_alex.body  # each recipient their own link

    response = Client().post(link, {"rating": "", "comment": ""})

    assert response.status_code == 200
    assert Case.objects.get(pk=case.pk).status == Status.CLOSED
    assert CaseEvent.objects.get(case=case, transition="confirm").actor == carol


def test_the_email_link_of_a_participant_who_was_removed_no_longer_works(
    case, alex, carol, settings
):
    share(case, alex, carol.email)
    services.case_resolve(case=case, engineer=case.assignee)
    event_id = email_actions._latest_status_change_id(case)
    token = email_actions.token_for(
        case=case, recipient=carol, action="confirm", event_id=event_id
    )
    link = email_actions.url_for(
        case=case, recipient=carol, action="confirm", event_id=event_id
    ).removeprefix(settings.SITE_URL)
    assert email_actions.check("confirm", token).state is email_actions.LinkState.VALID

    services.case_remove_participant(
        case=case, actor=alex, participant_id=CaseParticipant.objects.get(case=case).pk
    )

    assert Client().post(link, {"rating": ""}).status_code == 400
    assert Case.objects.get(pk=case.pk).status == Status.RESOLVED


@pytest.mark.usefixtures("email_webhooks")
def test_a_participant_replies_by_email_from_their_own_reply_address(client, alex, carol):
    engineer = EngineerFactory()
    case = CaseFactory(requester=alex, in_progress=True, engineer=engineer)
    share(case, alex, carol.email)
    services.case_request_info(case=case, engineer=engineer, message="Logs?", kind="logs")

    response = hooks.send_reply(client, case, carol, subject="Re: input", text="Here you are.")

    assert response.status_code == 200
    hooks.recorded(reason=InboundReason.REPLY)
    assert Case.objects.get(pk=case.pk).status == Status.IN_PROGRESS
    assert case.messages.filter(author=carol, source="email").exists()


@pytest.mark.usefixtures("email_webhooks")
def test_a_participant_cannot_answer_from_the_requesters_reply_address(client, alex, carol):
    case = CaseFactory(requester=alex, pending_customer=True)
    share(case, alex, carol.email)

    hooks.send_reply(client, case, carol, to=alex, text="Answering for Alex.")

    hooks.assert_still_waiting(case, InboundReason.SENDER_MISMATCH)


@pytest.mark.usefixtures("email_webhooks")
def test_a_member_not_on_the_case_replying_by_email_is_refused(client, alex, dan):
    case = CaseFactory(requester=alex, pending_customer=True)

    hooks.send_reply(client, case, dan, text="Let me in.")

    hooks.assert_still_waiting(case, InboundReason.NOT_CUSTOMER)


@pytest.mark.usefixtures("email_webhooks")
def test_a_former_participant_replying_by_email_is_refused_as_no_customer(
    client, alex, carol, django_capture_on_commit_callbacks
):
    case = CaseFactory(requester=alex, pending_customer=True)
    share(case, alex, carol.email)
    carol.membership.organisation = OrganisationFactory()
    carol.membership.save()

    hooks.send_reply(client, case, carol, text="Still here?")

    hooks.assert_still_waiting(case, InboundReason.NOT_CUSTOMER)
    assert not case.messages.filter(author=carol).exists()


# --- The emails each customer gets ----------------------------------------------------


def last_notification() -> int:
    return Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.fixture
def shared(case, alex, carol):
    """The case shared with Carol; `since`: the emails queued so far, not counted below."""
    share(case, alex, carol.email)
    shared = Case.objects.get(pk=case.pk)
    shared.since = last_notification()
    return shared


def test_the_engineers_question_reply_and_resolution_go_to_both(shared, alex, carol):
    engineer = shared.assignee
    services.case_request_info(case=shared, engineer=engineer, message="Logs?", kind="logs")
    services.case_reply(case=shared, author=carol, body="Attached.")
    services.case_reply(case=shared, author=engineer, body="Thanks, looking.")
    services.case_resolve(case=shared, engineer=engineer)

    for kind in (
        NotificationKind.PENDING_CUSTOMER,
        NotificationKind.ENGINEER_REPLY,
        NotificationKind.RESOLVED,
    ):
        assert queued(kind) == sorted([alex.email, carol.email]), kind


def test_a_participant_marking_resolved_tells_the_requester_not_themselves(shared, alex, carol):
    services.case_mark_resolved(case=shared, customer=carol)

    assert queued(NotificationKind.RESOLVED, since=shared.since) == [alex.email]
    assert queued(NotificationKind.CUSTOMER_RESOLVED, since=shared.since) == [
        shared.assignee.email
    ]


def test_the_requester_closing_tells_the_participant_not_themselves(shared, alex, carol):
    services.case_close(case=shared, actor=alex)

    assert queued(NotificationKind.CLOSED, since=shared.since) == [carol.email]
    assert queued(NotificationKind.CUSTOMER_CLOSED, since=shared.since) == [shared.assignee.email]


def test_a_participant_confirming_tells_the_requester(shared, alex, carol, mailoutbox):
    services.case_resolve(case=shared, engineer=shared.assignee)
    shared.since = last_notification()

    services.case_confirm_resolution(case=shared, customer=carol, rating="good")

    assert queued(NotificationKind.CLOSED, since=shared.since) == [alex.email]
    notification = Notification.objects.get(kind=NotificationKind.CLOSED, pk__gt=shared.since)
    email = outbox.build_email(notification)
    assert "Carol Colleague confirmed that the fix worked, which closed case" in email.body


def test_the_engineer_closing_and_reopening_tells_both(shared, alex, carol):
    services.case_close(case=shared, actor=shared.assignee)
    services.case_reopen(case=shared, actor=shared.assignee)

    assert queued(NotificationKind.CLOSED, since=shared.since) == sorted([alex.email, carol.email])
    assert queued(NotificationKind.REOPENED, since=shared.since) == sorted(
        [alex.email, carol.email]
    )


def test_the_resolved_email_of_a_participant_says_who_marked_it(shared, alex, carol):
    services.case_mark_resolved(case=shared, customer=carol)

    email = outbox.build_email(
        Notification.objects.get(kind=NotificationKind.RESOLVED, pk__gt=shared.since)
    )

    assert f"Carol Colleague has marked case {shared.reference} as resolved." in email.body
    assert "/cases/link/confirm/" in email.body


def test_automatic_close_tells_both_by_the_sweep_and_one_by_one(shared, alex, carol, time_machine):
    other = CaseFactory(requester=alex, pending_customer=True)
    share(other, alex, carol.email)
    services.case_request_info(case=shared, engineer=shared.assignee, message="?", kind="logs")
    shared.since = last_notification()
    time_machine.move_to(timezone.now() + days(pending_days() + 1), tick=False)

    closed = services.close_stale_cases()

    assert {c.pk for c in closed} == {shared.pk, other.pk}
    assert queued(NotificationKind.AUTO_CLOSED, case=shared, since=shared.since) == sorted(
        [alex.email, carol.email]
    )
    assert queued(NotificationKind.AUTO_CLOSED, case=other, since=shared.since) == sorted(
        [alex.email, carol.email]
    )

    third = CaseFactory(requester=alex, resolved=True)
    share(third, alex, carol.email)
    time_machine.move_to(timezone.now() + days(8), tick=False)
    services.case_auto_close(case_id=third.pk)
    assert queued(NotificationKind.AUTO_CLOSED, case=third, since=shared.since) == sorted(
        [alex.email, carol.email]
    )


def pending_days() -> int:
    from django.conf import settings

    return settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS


def test_reminders_go_to_each_customer_once(shared, alex, carol, time_machine):
    services.case_request_info(case=shared, engineer=shared.assignee, message="?", kind="logs")
    time_machine.move_to(timezone.now() + days(8), tick=False)

    assert services.send_due_reminders() == 2
    assert services.send_due_reminders() == 0

    assert queued(NotificationKind.REMINDER, since=shared.since) == sorted(
        [alex.email, carol.email]
    )
    keys = sorted(
        Notification.objects.filter(kind=NotificationKind.REMINDER).values_list(
            "dedupe_key", flat=True
        )
    )
    assert [key.rsplit(":", 1)[1] for key in keys] == sorted([str(alex.pk), str(carol.pk)])


def test_the_acknowledgement_of_a_new_case_is_the_requesters_alone(alex, carol):
    services.case_open(
        requester=alex, subject="x", description="y", priority=3, colleagues=[carol.email]
    )

    assert queued(NotificationKind.CASE_OPENED) == [alex.email]


def test_organisation_admins_get_no_email_for_cases_they_only_see(shared, alex, carol, boss):
    services.case_resolve(case=shared, engineer=shared.assignee)

    assert boss.email not in queued(NotificationKind.RESOLVED, since=shared.since)


# --- Roles and My Cases ---------------------------------------------------------------


def test_my_cases_scopes_list_opened_shared_and_organisation_cases_with_their_counts(
    alex, carol, boss, acme
):
    carols = CaseFactory(requester=carol, open=True)
    shared_open = CaseFactory(requester=alex, open=True)
    shared_closed = CaseFactory(requester=alex, closed=True)
    not_shared = CaseFactory(requester=alex)
    share(shared_open, alex, carol.email)
    share(shared_closed, alex, carol.email)
    CaseFactory()  # another organisation
    client = signed_in(carol)

    mine = client.get("/cases/")
    assert listed_references(mine) == [carols.reference]
    content = mine.content.decode()
    assert "Cases I opened" in content and "Shared with me" in content
    assert (
        "My organisation&#39;s cases" not in content and "My organisation's cases" not in content
    )

    shared = client.get("/cases/", {"scope": "shared"})
    assert listed_references(shared) == [shared_open.reference]
    content = shared.content.decode()
    assert "<title>Active cases · Shared with me" in content
    assert 'data-status-tab="closed">Closed <span class="count">1</span>' in content
    assert 'data-status-tab="open">Open <span class="count">1</span>' in content
    assert "Opened by Alex Requester" in content
    everything = client.get("/cases/", {"scope": "shared", "status": "all"})
    assert listed_references(everything) == [shared_open.reference, shared_closed.reference]
    # A member asking for the organisation's cases gets their own.
    assert listed_references(client.get("/cases/", {"scope": "organisation"})) == [
        carols.reference
    ]

    organisation = signed_in(boss).get("/cases/", {"scope": "organisation", "status": "all"})
    assert set(listed_references(organisation)) == {
        carols.reference,
        shared_open.reference,
        shared_closed.reference,
        not_shared.reference,
    }


def test_the_shared_list_says_so_when_nothing_is_shared(carol):
    content = signed_in(carol).get("/cases/", {"scope": "shared"}).content.decode()

    assert "No case is shared with you" in content


def test_shared_scope_filters_keep_the_scope(alex, carol, settings):
    settings.CASES_PER_PAGE = 1
    for _ in range(2):
        share(CaseFactory(requester=alex, open=True), alex, carol.email)

    content = signed_in(carol).get("/cases/", {"scope": "shared"}).content.decode()

    assert 'href="?scope=shared&amp;page=2"' in content
    assert 'href="?status=open&amp;scope=shared"' in content
    assert '<input type="hidden" name="scope" value="shared">' in content


def test_shared_list_query_count_does_not_grow_with_rows(
    alex, carol, settings, django_assert_max_num_queries
):
    settings.CASES_PER_PAGE = 50
    for trait in ("open", "in_progress", "pending_customer", "resolved", "closed"):
        for case in CaseFactory.create_batch(4, requester=alex, **{trait: True}):
            share(case, alex, carol.email)
    client = signed_in(carol)

    with django_assert_max_num_queries(10):
        response = client.get("/cases/", {"scope": "shared", "status": "all"})
    assert len(listed_references(response)) == 20


def test_shared_rows_offer_the_requesters_buttons(alex, carol):
    case = CaseFactory(requester=alex, resolved=True)
    share(case, alex, carol.email)

    content = signed_in(carol).get("/cases/", {"scope": "shared"}).content.decode()

    assert url(case, "confirm") in content


def test_a_member_sees_own_and_shared_cases_an_admin_every_case(alex, carol, boss, case):
    assert not case.is_customer(carol)
    assert not Case.objects.visible_to_customer(carol).filter(pk=case.pk).exists()
    assert case.is_customer(boss)
    assert Case.objects.visible_to_customer(boss).filter(pk=case.pk).exists()

    share(case, alex, carol.email)

    assert Case.objects.get(pk=case.pk).is_customer(carol)
    assert Case.objects.visible_to_customer(carol).filter(pk=case.pk).count() == 1


def test_a_case_shared_with_many_is_listed_once(alex, carol, dan, case):
    share(case, alex, carol.email, dan.email)

    assert Case.objects.visible_to_customer(alex).filter(pk=case.pk).count() == 1
    assert Case.objects.visible_to_customer(carol).filter(pk=case.pk).count() == 1


def test_demoting_an_admin_takes_away_the_organisations_cases(boss, case):
    membership = Membership.objects.get(user=boss)
    membership.role = Role.MEMBER
    membership.save()

    boss.refresh_from_db()
    assert not Case.objects.get(pk=case.pk).is_customer(boss)
    assert signed_in(boss).get(case.get_absolute_url()).status_code == 404


# --- Leaving the organisation ---------------------------------------------------------


def leave_by_deleting_the_membership(user):
    Membership.objects.get(user=user).delete()


def leave_by_moving_to_another_organisation(user):
    membership = Membership.objects.get(user=user)
    membership.organisation = OrganisationFactory()
    membership.save()


def leave_by_deactivation(user):
    user.is_active = False
    user.save()


LEAVING = [
    leave_by_deleting_the_membership,
    leave_by_moving_to_another_organisation,
    leave_by_deactivation,
]


def why(leave) -> str:
    """What the history and the outbox say after `leave`."""
    return (
        "'s account was deactivated"
        if leave is leave_by_deactivation
        else " left the organisation"
    )


@pytest.mark.parametrize("leave", LEAVING)
def test_a_participant_who_leaves_is_dropped_loses_access_and_is_sent_nothing_more(
    leave, alex, carol, case
):
    other_case = CaseFactory(requester=alex, open=True)
    share(case, alex, carol.email)
    share(other_case, alex, carol.email)
    services.case_request_info(case=case, engineer=case.assignee, message="Logs?", kind="logs")
    sent = Notification.objects.get(kind=NotificationKind.CASE_SHARED, case=other_case)
    Notification.objects.filter(pk=sent.pk).update(state=NotificationState.SENT)
    client = signed_in(carol)
    assert client.get(case.get_absolute_url()).status_code == 200

    leave(carol)

    assert participants(case) == [] and participants(other_case) == []
    for left in (case, other_case):
        event = CaseEvent.objects.filter(case=left).latest("id")
        assert event.transition == "participant_left"
        assert event.reason == f"Carol Colleague{why(leave)}"
        assert event.actor is None
        assert event.actor_label == "Automatically (membership ended)"
    waiting = Notification.objects.filter(recipient=carol).exclude(pk=sent.pk)
    assert waiting.count() == 2  # shared with you, and the engineer's question
    for notification in waiting:
        assert notification.state == NotificationState.CANCELLED
        assert notification.last_error == f"Not sent: carol@acme.example{why(leave)}."
    assert Notification.objects.get(pk=sent.pk).state == NotificationState.SENT
    # The requester's emails are untouched.
    assert Notification.objects.filter(recipient=alex, state=NotificationState.QUEUED).exists()
    # Access ends at once, for the page and for every action.
    assert client.get(case.get_absolute_url()).status_code in (302, 404)
    refreshed = Case.objects.get(pk=case.pk)
    carol = type(carol).objects.get(pk=carol.pk)
    assert not refreshed.is_customer(carol)
    # Nothing more is queued for her.
    services.case_reply(case=refreshed, author=refreshed.assignee, body="Still there?")
    assert not Notification.objects.filter(
        recipient=carol, kind=NotificationKind.ENGINEER_REPLY
    ).exists()
    # Her leaving shows in the customer's history.
    content = signed_in(alex).get(case.get_absolute_url()).content.decode()
    assert escape(f"Carol Colleague{why(leave)}") in content


@pytest.mark.parametrize("leave", LEAVING)
def test_a_requester_who_leaves_loses_access_and_their_queued_emails(leave, alex, case, carol):
    share(case, alex, carol.email)
    services.case_reply(case=case, author=case.assignee, body="Working on it.")
    client = signed_in(alex)

    leave(alex)

    assert client.get(case.get_absolute_url()).status_code in (302, 404)
    to_alex = Notification.objects.get(recipient=alex, kind=NotificationKind.ENGINEER_REPLY)
    assert to_alex.state == NotificationState.CANCELLED
    assert to_alex.last_error == f"Not sent: alex@acme.example{why(leave)}."
    # The colleague still follows the case and is still emailed.
    assert participants(case) == [carol.email]
    assert (
        Notification.objects.get(recipient=carol, kind=NotificationKind.ENGINEER_REPLY).state
        == NotificationState.QUEUED
    )
    services.case_resolve(case=case, engineer=case.assignee)
    assert queued(NotificationKind.RESOLVED) == [carol.email]


def test_engineers_emails_about_the_organisations_cases_are_not_cancelled(alex, case, carol):
    share(case, alex, carol.email)
    services.case_reply(case=case, author=carol, body="Hello")

    leave_by_deactivation(carol)

    to_engineer = Notification.objects.get(kind=NotificationKind.CUSTOMER_REPLIED)
    assert to_engineer.state == NotificationState.QUEUED


def test_leaving_twice_or_saving_an_unchanged_membership_changes_nothing(alex, carol, case):
    share(case, alex, carol.email)
    membership = Membership.objects.get(user=carol)
    membership.role = Role.ADMIN
    membership.save()  # same organisation: still on the case
    assert participants(case) == [carol.email]

    services.person_left(user=carol, organisation_id=membership.organisation_id)
    services.person_left(user=carol, organisation_id=membership.organisation_id)

    assert CaseEvent.objects.filter(case=case, transition="participant_left").count() == 1


def test_leaving_another_organisation_keeps_the_cases_of_this_one(alex, carol, case):
    share(case, alex, carol.email)

    services.person_left(user=carol, organisation_id=OrganisationFactory().pk)

    assert participants(case) == [carol.email]


def test_ending_a_membership_in_the_admin_drops_the_person_from_the_cases(alex, carol, case):
    share(case, alex, carol.email)
    superuser = EngineerFactory(is_superuser=True)
    client = signed_in(superuser)
    membership = Membership.objects.get(user=carol)

    response = client.post(
        f"/admin/portal/user/{carol.pk}/change/",
        {
            "email": carol.email,
            "full_name": carol.full_name,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
            "membership-TOTAL_FORMS": "1",
            "membership-INITIAL_FORMS": "1",
            "membership-0-id": str(membership.pk),
            "membership-0-user": str(carol.pk),
            "membership-0-organisation": str(membership.organisation_id),
            "membership-0-role": "member",
            "email_opt_outs-TOTAL_FORMS": "0",
            "email_opt_outs-INITIAL_FORMS": "0",
            "membership-0-DELETE": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert not Membership.objects.filter(user=carol).exists()
    assert participants(case) == []
    assert CaseEvent.objects.filter(case=case, transition="participant_left").exists()


# --- The admin ------------------------------------------------------------------------


def test_the_case_admin_names_who_follows_the_case(alex, carol, case):
    share(case, alex, carol.email)

    content = signed_in(EngineerFactory()).get(f"/admin/cases/case/{case.pk}/change/")

    assert 'data-case-participant="carol@acme.example"' in content.content.decode()
    assert "shared with" in content.content.decode()


def test_staff_see_and_change_roles_and_may_end_memberships(acme, carol):
    client = signed_in(EngineerFactory(is_superuser=True))

    organisation_page = client.get(f"/admin/portal/organisation/{acme.pk}/change/").content
    user_page = client.get(f"/admin/portal/user/{carol.pk}/change/").content

    for page, prefix in ((organisation_page, "memberships-0"), (user_page, "membership-0")):
        content = page.decode()
        assert f'name="{prefix}-role"' in content
        assert f'name="{prefix}-DELETE"' in content
        assert "Organisation admin" in content
