"""Confirm it worked: from the case page, from My Cases and from the resolved email's links."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.test import Client

from cases import email_actions, exceptions, services
from cases.models import Case, CaseEvent, NotificationKind, Rating, Status
from tests.factories import CaseFactory, customer

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


def resolved_by_engineer() -> Case:
    case = CaseFactory(in_progress=True)
    services.case_resolve(case=case, engineer=case.assignee, message="Fixed in 2.4.1.")
    case.refresh_from_db()
    return case


def link(case: Case, action: str, *, recipient=None) -> str:
    event = CaseEvent.objects.filter(case=case, transition="resolve").latest("created_at", "id")
    url = email_actions.url_for(
        case=case, recipient=recipient or case.requester, action=action, event_id=event.pk
    )
    return url.removeprefix("http://127.0.0.1:8000")


def status_of(case: Case) -> str:
    return Case.objects.get(pk=case.pk).status


# --- The service ----------------------------------------------------------------------


def test_confirm_closes_at_once_with_history_rating_and_engineer_email(
    frozen, mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(resolved=True, subject="Backups fail")
    with django_capture_on_commit_callbacks(execute=True):
        services.case_confirm_resolution(
            case=case, customer=case.requester, rating=Rating.GOOD, comment="Quick & right."
        )

    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert case.closed_at == NOW
    assert (case.rating, case.rating_comment, case.rated_at) == ("good", "Quick & right.", NOW)
    event = case.events.latest("created_at", "id")
    assert event.transition == "confirm"
    assert event.reason == "The customer confirmed it worked (rated: Yes, it solved my problem)"
    assert event.actor == case.requester
    [email] = mailoutbox
    assert email.to == [case.assignee.email]
    assert email.subject == f"[{case.reference}] Customer confirmed it worked: Backups fail"
    assert "confirmed that the resolution" in email.body
    assert "Did this solve your problem? Yes, it solved my problem" in email.body
    assert "Quick & right." in email.body
    assert "Quick &amp; right." in email.alternatives[0][0]
    assert case.notifications.get().kind == NotificationKind.CUSTOMER_CONFIRMED


def test_confirm_without_rating_stores_no_rating(mailoutbox, django_capture_on_commit_callbacks):
    case = CaseFactory(resolved=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_confirm_resolution(case=case, customer=case.requester)
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert (case.rating, case.rated_at) == ("", None)
    assert "Did this solve your problem?" not in mailoutbox[0].body


def test_confirm_refuses_an_unknown_rating_and_changes_nothing():
    case = CaseFactory(resolved=True)
    with pytest.raises(exceptions.CaseActionError):
        services.case_confirm_resolution(case=case, customer=case.requester, rating="meh")
    assert status_of(case) == Status.RESOLVED


# --- The case page and My Cases -------------------------------------------------------


def test_case_page_offers_confirm_it_worked_only_when_resolved(client):
    resolved, in_progress = CaseFactory(resolved=True), CaseFactory(in_progress=True)
    client.force_login(resolved.requester)
    page = client.get(resolved.get_absolute_url()).content.decode()
    assert "Confirm it worked</button>" in page
    assert "Did this solve your problem?" in page
    assert f'action="/cases/{resolved.reference}/confirm/"' in page

    client.force_login(in_progress.requester)
    assert b"Confirm it worked" not in client.get(in_progress.get_absolute_url()).content


def test_confirm_from_the_case_page_closes_and_keeps_the_rating(client):
    case = CaseFactory(resolved=True)
    client.force_login(case.requester)
    response = client.post(
        f"/cases/{case.reference}/confirm/", {"rating": "bad", "comment": "Slow to get there."}
    )
    assert response.status_code == 302
    assert response["Location"] == case.get_absolute_url()
    case.refresh_from_db()
    assert (case.status, case.rating, case.rating_comment) == (
        "closed",
        "bad",
        "Slow to get there.",
    )
    page = client.get(case.get_absolute_url()).content.decode()
    assert f"Thank you: {case.reference} is closed." in page
    assert "The customer confirmed it worked" in page  # the history


def test_my_cases_row_of_a_resolved_case_confirms_and_comes_back_to_the_list(client):
    user = customer()
    case = CaseFactory(requester=user, resolved=True)
    other = CaseFactory(requester=user, in_progress=True)
    client.force_login(user)
    page = client.get("/cases/").content.decode()
    row = re.search(rf'data-case-reference="{case.reference}".*?</li>', page, re.S)[0]
    assert "Confirm it worked" in row
    other_row = re.search(rf'data-case-reference="{other.reference}".*?</li>', page, re.S)[0]
    assert "Confirm it worked" not in other_row

    response = client.post(f"/cases/{case.reference}/confirm/", {"next": "/cases/?q=x"})
    assert response["Location"] == "/cases/?q=x"
    assert status_of(case) == Status.CLOSED


def test_confirming_a_case_that_is_no_longer_resolved_explains_and_changes_nothing(client):
    case = CaseFactory(in_progress=True)
    client.force_login(case.requester)
    response = client.post(f"/cases/{case.reference}/confirm/", follow=True)
    assert "only a resolved case can be confirmed" in response.content.decode()
    assert status_of(case) == Status.IN_PROGRESS


def test_confirm_needs_csrf_and_a_post(client):
    case = CaseFactory(resolved=True)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(case.requester)
    assert strict.post(f"/cases/{case.reference}/confirm/").status_code == 403
    assert strict.get(f"/cases/{case.reference}/confirm/").status_code == 405
    assert status_of(case) == Status.RESOLVED


def test_someone_else_cannot_confirm_a_case(client):
    case = CaseFactory(resolved=True)
    client.force_login(customer())
    assert client.post(f"/cases/{case.reference}/confirm/").status_code == 404
    assert status_of(case) == Status.RESOLVED


# --- The signed links -----------------------------------------------------------------


def test_resolved_email_links_lead_to_pages_that_confirm_without_signing_in(
    frozen, mailoutbox, django_capture_on_commit_callbacks
):
    case = CaseFactory(in_progress=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_resolve(case=case, engineer=case.assignee)
    [email] = mailoutbox
    url = re.search(r"http://127.0.0.1:8000(/cases/link/confirm/\S+/)", email.body)[1]
    anonymous = Client(enforce_csrf_checks=True)

    page = anonymous.get(url)
    assert page.status_code == 200
    assert b"Confirm it worked</button>" in page.content
    assert status_of(case) == Status.RESOLVED  # a GET changes nothing
    token = anonymous.cookies["csrftoken"].value
    done = anonymous.post(url, {"rating": "good", "csrfmiddlewaretoken": token})

    assert done.status_code == 200
    assert b"Your engineer has been told that it worked" in done.content
    case.refresh_from_db()
    assert (case.status, case.rating) == (Status.CLOSED, "good")
    assert case.events.latest("created_at", "id").actor == case.requester
    assert "_auth_user_id" not in anonymous.session  # not signed in by the link


def test_reopen_link_reopens_with_the_customers_words(client):
    case = resolved_by_engineer()
    url = link(case, "reopen")
    assert b"Reopen Case</button>" in client.get(url).content
    response = client.post(url, {"message": "Still failing after the update."})
    assert b"Case reopened" in response.content
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert case.messages.last().body == "Still failing after the update."


def test_post_without_csrf_token_to_a_link_is_refused(frozen):
    case = resolved_by_engineer()
    response = Client(enforce_csrf_checks=True).post(link(case, "confirm"))
    assert response.status_code == 403
    assert status_of(case) == Status.RESOLVED


def test_used_link_explains_itself_and_offers_sign_in(client):
    case = resolved_by_engineer()
    url = link(case, "confirm")
    client.post(url)
    assert status_of(case) == Status.CLOSED

    again = client.post(url)
    assert again.status_code == 410
    text = again.content.decode()
    assert "This link has already been used" in text
    assert f"Case {case.reference} is Closed now" in text
    assert f'href="/accounts/login/?next=/cases/{case.reference}/"' in text
    assert client.get(link(case, "reopen")).status_code == 410  # the other link too
    assert case.events.filter(transition="confirm").count() == 1


def test_link_from_an_earlier_resolution_no_longer_works(client):
    case = resolved_by_engineer()
    old = link(case, "confirm")
    services.case_reopen(case=case, actor=case.requester)
    services.case_resolve(case=case, engineer=case.assignee)

    assert client.post(old).status_code == 410
    assert status_of(case) == Status.RESOLVED
    assert client.post(link(case, "confirm")).status_code == 200
    assert status_of(case) == Status.CLOSED


def test_link_expires_with_the_automatic_close(frozen, client):
    case = resolved_by_engineer()
    url = link(case, "confirm")
    frozen.move_to(NOW + timedelta(days=7) - timedelta(seconds=1), tick=False)
    assert client.get(url).status_code == 200

    frozen.move_to(NOW + timedelta(days=7), tick=False)
    response = client.post(url)
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert "9 Mar 2026" in response.content.decode()
    assert status_of(case) == Status.RESOLVED  # the sweep closes it, not the link


def test_forged_or_tampered_token_is_refused(client):
    case = resolved_by_engineer()
    url = link(case, "confirm")
    tampered = url[:-3] + ("A" if url[-3] != "A" else "B") + url[-2:]
    forged = signing.dumps({"c": case.pk, "u": case.requester_id, "e": 1}, key="not-our-secret")
    for bad in (tampered, f"/cases/link/confirm/{forged}/", "/cases/link/confirm/x/"):
        response = client.post(bad)
        assert response.status_code == 400, bad
        assert "This link is not valid" in response.content.decode()
    assert status_of(case) == Status.RESOLVED


def test_a_confirm_token_does_not_work_as_a_reopen_link(client):
    case = resolved_by_engineer()
    token = link(case, "confirm").split("/")[-2]
    assert client.post(f"/cases/link/reopen/{token}/").status_code == 400
    assert client.post(f"/cases/link/delete/{token}/").status_code == 400
    assert status_of(case) == Status.RESOLVED


def test_token_for_another_case_acts_only_on_that_case(client):
    mine, theirs = resolved_by_engineer(), resolved_by_engineer()
    token = signing.loads(
        link(theirs, "confirm").split("/")[-2], salt=email_actions.SALTS["confirm"]
    )
    # A genuine token names its own case; editing the case id breaks the signature.
    edited = signing.dumps({**token, "c": mine.pk}, salt="elsewhere")
    assert client.post(f"/cases/link/confirm/{edited}/").status_code == 400
    assert status_of(mine) == Status.RESOLVED


def test_link_for_someone_no_longer_a_customer_of_the_case_is_refused(client):
    case = resolved_by_engineer()
    url = link(case, "confirm")
    case.requester.is_active = False
    case.requester.save()
    assert client.post(url).status_code == 400
    assert status_of(case) == Status.RESOLVED
