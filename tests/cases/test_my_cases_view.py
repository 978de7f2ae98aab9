"""My Cases: the customer's cases, newest activity first, with tabs, search and paging."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Status
from tests.factories import CaseFactory, EngineerFactory, OrganisationFactory, customer

pytestmark = pytest.mark.django_db


def listed_references(response) -> list[str]:
    return re.findall(r'data-case-reference="([^"]+)"', response.content.decode())


@pytest.fixture
def me(customer, client):
    client.force_login(customer)
    return customer


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/cases/"


def test_lists_only_my_cases_newest_activity_first(client, me):
    now = timezone.now()
    older = CaseFactory(requester=me, last_activity_at=now - timedelta(days=2))
    newer = CaseFactory(requester=me, last_activity_at=now - timedelta(hours=1))
    colleague_case = CaseFactory(requester=customer(me.membership.organisation))
    stranger_case = CaseFactory()

    response = client.get("/cases/")

    assert listed_references(response) == [newer.reference, older.reference]
    content = response.content.decode()
    assert colleague_case.subject not in content
    assert stranger_case.subject not in content


def test_rows_carry_reference_and_status_hooks(client, me):
    case = CaseFactory(requester=me, in_progress=True)

    content = client.get("/cases/").content.decode()

    assert f'data-case-reference="{case.reference}" data-case-status="in_progress"' in content


def test_tabs_show_counts_per_status_with_the_spec_names(client, me):
    CaseFactory.create_batch(2, requester=me, pending_customer=True)
    CaseFactory(requester=me, resolved=True)
    CaseFactory(pending_customer=True)  # someone else's: not counted

    content = client.get("/cases/").content.decode()

    assert re.search(
        r'data-status-tab="pending_customer"[^>]*>Pending Customer <span class="count">2</span>',
        content,
    )
    assert re.search(
        r'data-status-tab="resolved"[^>]*>Resolved <span class="count">1</span>', content
    )
    assert re.search(r'data-status-tab="new"[^>]*>New <span class="count">0</span>', content)
    assert re.search(r'data-status-tab="active"[^>]*>Active <span class="count">3</span>', content)
    assert re.search(r'data-status-tab="all"[^>]*>All <span class="count">3</span>', content)
    assert "2 cases need your reply." in content


def test_status_filter_shows_only_that_status(client, me):
    pending = CaseFactory(requester=me, pending_customer=True)
    CaseFactory(requester=me, open=True)

    response = client.get("/cases/", {"status": "pending_customer"})

    assert listed_references(response) == [pending.reference]


def test_unknown_status_filter_shows_the_active_cases(client, me):
    CaseFactory.create_batch(2, requester=me)

    response = client.get("/cases/", {"status": "'; drop table"})

    assert response.status_code == 200
    assert len(listed_references(response)) == 2


@pytest.mark.parametrize("query", ["{reference}", "{reference_lower}", "{number}", "printer"])
def test_search_by_reference_or_subject(client, me, query):
    wanted = CaseFactory(requester=me, subject="The printer is on fire")
    CaseFactory(requester=me, subject="Login fails")
    text = query.format(
        reference=wanted.reference,
        reference_lower=wanted.reference.lower(),
        number=wanted.reference.removeprefix("CS-"),
    )

    response = client.get("/cases/", {"q": text})

    assert listed_references(response) == [wanted.reference]


def test_search_never_finds_other_customers_cases(client, me):
    other = CaseFactory(subject="printer")

    response = client.get("/cases/", {"q": other.reference})

    assert listed_references(response) == []
    assert "No cases here match" in response.content.decode()


def test_action_required_marker_shows_the_automatic_close_date(client, me, settings):
    settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS = 14
    settings.CASE_RESOLVED_AUTO_CLOSE_DAYS = 7
    asked = timezone.datetime(2026, 3, 1, 9, 0, tzinfo=timezone.UTC)
    CaseFactory(requester=me, pending_customer=True, pending_since=asked)
    CaseFactory(requester=me, resolved=True, resolved_at=asked)
    CaseFactory(requester=me, in_progress=True)

    content = client.get("/cases/").content.decode()

    assert content.count("Action required:") == 2
    assert "reply to unblock." in content
    assert "needs additional logs or error output." in content
    assert ">15 Mar 2026, 09:00 UTC</time> without your reply." in content
    assert "Confirm if it worked, or reopen. Closes automatically on" in content
    assert ">8 Mar 2026, 09:00 UTC</time>" in content


def test_mark_as_resolved_is_offered_only_on_cases_that_can_be_resolved(client, me):
    resolvable = CaseFactory(requester=me, open=True)
    CaseFactory(requester=me, resolved=True)
    CaseFactory(requester=me, closed=True)

    content = client.get("/cases/").content.decode()

    assert content.count(">Mark as resolved <span") == 1
    assert f'action="/cases/{resolvable.reference}/resolve/"' in content


def test_mark_as_resolved_from_the_list_comes_back_to_the_list(client, me):
    case = CaseFactory(requester=me, open=True)
    page = client.get("/cases/", {"status": "open"}).content.decode()
    next_url = re.search(r'name="next" value="([^"]+)"', page).group(1)

    response = client.post(
        f"/cases/{case.reference}/resolve/", {"next": next_url.replace("&amp;", "&")}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/cases/?status=open"
    case.refresh_from_db()
    assert case.status == Status.RESOLVED


def test_pagination_keeps_filters(client, me, settings):
    settings.CASES_PER_PAGE = 2
    CaseFactory.create_batch(5, requester=me, open=True, subject="Disk full")

    page_one = client.get("/cases/", {"status": "open", "q": "disk"})
    content = page_one.content.decode()

    assert len(listed_references(page_one)) == 2
    assert 'href="?status=open&amp;q=disk&amp;page=2"' in content
    page_three = client.get("/cases/", {"status": "open", "q": "disk", "page": 3})
    assert len(listed_references(page_three)) == 1
    assert 'href="?status=open&amp;q=disk&amp;page=2" rel="prev"' in page_three.content.decode()


def test_out_of_range_page_shows_the_last_page(client, me, settings):
    settings.CASES_PER_PAGE = 2
    CaseFactory.create_batch(3, requester=me)

    response = client.get("/cases/", {"page": "999"})

    assert response.status_code == 200
    assert len(listed_references(response)) == 1


def test_organisation_view_for_members_allowed_to_see_it(client):
    me = customer(sees_organisation=True)
    client.force_login(me)
    mine = CaseFactory(requester=me)
    colleagues = CaseFactory(requester=customer(me.membership.organisation))
    CaseFactory()  # another organisation

    assert listed_references(client.get("/cases/")) == [mine.reference]
    response = client.get("/cases/", {"scope": "organisation"})
    assert set(listed_references(response)) == {mine.reference, colleagues.reference}
    assert f"Opened by {colleagues.requester}" in response.content.decode()


def test_a_member_who_moved_organisation_sees_only_the_new_organisations_cases(client):
    """A member who moved organisation left the old one: the organisation view is the new
    organisation's cases, and the cases they opened in the old one are no longer theirs
    to see (Cases I opened lists none of them, their pages answer 404)."""
    me = customer(sees_organisation=True)
    earlier = CaseFactory(requester=me)
    new_organisation = OrganisationFactory()
    me.membership.organisation = new_organisation
    me.membership.save()
    colleagues = CaseFactory(requester=customer(new_organisation))
    client.force_login(me)

    response = client.get("/cases/", {"scope": "organisation"})
    assert listed_references(response) == [colleagues.reference]
    assert listed_references(client.get("/cases/")) == []
    assert client.get(earlier.get_absolute_url()).status_code == 404


def test_organisation_view_is_ignored_for_members_without_the_permission(client, me):
    CaseFactory(requester=customer(me.membership.organisation))

    response = client.get("/cases/", {"scope": "organisation"})

    assert listed_references(response) == []
    assert "My organisation's cases" not in response.content.decode()


def test_subject_with_markup_is_shown_as_text(client, me):
    CaseFactory(requester=me, subject='<script>alert("x")</script>')

    content = client.get("/cases/").content.decode()

    assert "<script>alert" not in content
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in content


def test_query_count_does_not_grow_with_rows(client, me, settings, django_assert_max_num_queries):
    settings.CASES_PER_PAGE = 50
    engineer = EngineerFactory()
    for trait in ("open", "in_progress", "pending_customer", "resolved", "closed"):
        CaseFactory.create_batch(8, requester=me, engineer=engineer, **{trait: True})
    CaseFactory.create_batch(8, requester=me)

    # Session, user, membership, savepoints, count, page, status counts: never per row.
    with django_assert_max_num_queries(10):
        response = client.get("/cases/", {"status": "all"})
    assert len(listed_references(response)) == 48
    with django_assert_max_num_queries(10):
        client.get("/cases/", {"status": "pending_customer", "q": "subject"})


def test_approval_request_asks_to_approve_or_decline_and_links_to_the_answer(client, me):
    case = CaseFactory(
        requester=me,
        pending_customer=True,
        info_request_kind="approval",
        engineer=EngineerFactory(full_name="Erin Engineer"),
    )

    content = client.get("/cases/").content.decode()

    assert "approve or decline." in content
    assert "Erin Engineer asks for approval to make a change on your behalf." in content
    assert f'href="{case.get_absolute_url()}#approval-heading">Answer' in content


def test_cached_rows_never_carry_one_members_csrf_token_to_a_colleague(db):
    """Colleagues who see the same organisation rows each get forms that work for them."""
    from django.test import Client

    first = customer(sees_organisation=True)
    colleague = customer(first.membership.organisation, sees_organisation=True)
    # Opened by a third member, so that both see exactly the same row.
    opener = customer(first.membership.organisation)
    case = CaseFactory(requester=opener, open=True)
    browsers = []
    for user in (first, colleague):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(user)
        page = browser.get("/cases/?scope=organisation").content.decode()
        row_form = page[page.index('class="row-action"') :]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', row_form)[1]
        browsers.append((browser, token))

    colleague_browser, colleague_token = browsers[1]
    response = colleague_browser.post(
        f"/cases/{case.reference}/resolve/",
        {"csrfmiddlewaretoken": colleague_token, "next": "/cases/"},
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.RESOLVED


def test_default_view_shows_active_cases_and_keeps_closed_ones_behind_their_tab(client, me):
    now = timezone.now()
    closed = CaseFactory(requester=me, closed=True, last_activity_at=now)
    resolved = CaseFactory(requester=me, resolved=True, last_activity_at=now - timedelta(days=1))
    new = CaseFactory(requester=me, last_activity_at=now - timedelta(days=2))

    assert listed_references(client.get("/cases/")) == [resolved.reference, new.reference]
    assert listed_references(client.get("/cases/", {"status": "closed"})) == [closed.reference]
    # All of them: the active ones first, however recent the closed one is.
    everything = listed_references(client.get("/cases/", {"status": "all"}))
    assert everything == [resolved.reference, new.reference, closed.reference]


def test_tab_counts_follow_the_search(client, me):
    CaseFactory(requester=me, pending_customer=True, subject="Printer jammed")
    CaseFactory(requester=me, closed=True, subject="Printer on fire")
    CaseFactory(requester=me, pending_customer=True, subject="Login fails")

    content = client.get("/cases/", {"q": "printer"}).content.decode()

    assert re.search(
        r'data-status-tab="pending_customer"[^>]*>Pending Customer <span class="count">1<', content
    )
    assert re.search(r'data-status-tab="closed"[^>]*>Closed <span class="count">1<', content)
    assert re.search(r'data-status-tab="active"[^>]*>Active <span class="count">1<', content)
    assert re.search(r'data-status-tab="all"[^>]*>All <span class="count">2<', content)


@pytest.mark.parametrize(
    ("params", "title"),
    [
        ({}, "Active cases · My Cases"),
        ({"status": "pending_customer"}, "Pending Customer · My Cases"),
        ({"status": "closed"}, "Closed · My Cases"),
        ({"status": "all"}, "All cases · My Cases"),
        ({"q": "printer"}, "Search “printer” · Active cases · My Cases"),
    ],
)
def test_page_title_names_the_filter(client, me, params, title):
    content = client.get("/cases/", params).content.decode()

    assert f"<title>{title} · Support Portal</title>" in content


def test_a_case_closed_for_no_reply_says_so_in_its_row(client, me, settings):
    settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS = 14
    case = CaseFactory(requester=me, pending_customer=True)
    case.pending_since = timezone.now() - timedelta(days=15)
    case.save()
    from cases import services

    services.close_stale_cases()

    content = client.get("/cases/", {"status": "closed"}).content.decode()
    assert "Closed: no reply within 14 days." in content
    assert "archived after resolution" not in content
