"""Pages cost a fixed number of queries, however many rows or messages they show."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CaseFactory, MessageFactory, customer

pytestmark = pytest.mark.django_db


def queries_for(client, path: str) -> int:
    """Queries for the page rendered afresh (nothing from the cache)."""
    client.get(path)  # warm per-process caches (content types, templates)
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("path", ["/cases/", "/cases/?status=pending_customer"])
def test_my_cases_queries_do_not_grow_with_rows(client, path):
    few, many = customer(), customer()
    for user, n in ((few, 2), (many, 40)):
        for _ in range(n):
            CaseFactory(requester=user, pending_customer=True)

    client.force_login(few)
    small = queries_for(client, path)
    client.force_login(many)
    large = queries_for(client, path)

    assert small == large <= 6


def test_my_cases_pages_by_the_status_counts(client):
    user = customer()
    for _ in range(30):
        CaseFactory(requester=user, pending_customer=True)
    CaseFactory(requester=user, closed=True)
    client.force_login(user)

    assert b"Page 1 of 2" in client.get("/cases/").content
    response = client.get("/cases/?status=pending_customer&page=2")
    assert b"Page 2 of 2" in response.content
    assert response.content.count(b'class="case-row"') == 5
    assert b"Page" not in client.get("/cases/?status=closed").content


def test_one_case_queries_do_not_grow_with_messages(client):
    short, long = CaseFactory(open=True), CaseFactory(open=True)
    for case, n in ((short, 2), (long, 30)):
        for _ in range(n):
            MessageFactory(case=case, author=case.requester)

    client.force_login(short.requester)
    small = queries_for(client, short.get_absolute_url())
    client.force_login(long.requester)
    large = queries_for(client, long.get_absolute_url())

    assert small == large <= 10


def test_attachments_cost_one_query_only_when_the_thread_has_some(client, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cases.models import Attachment

    settings.MEDIA_ROOT = tmp_path
    bare, with_files = CaseFactory(open=True), CaseFactory(open=True)
    for case in (bare, with_files):
        for _ in range(4):
            MessageFactory(case=case, author=case.requester)
    for number, message in enumerate(with_files.messages.order_by("pk")[:3]):
        for copy in range(number + 1):
            name = f"log-{number}-{copy}.txt"
            Attachment.objects.create(
                message=message,
                file=SimpleUploadedFile(name, b"line\n"),
                filename=name,
                content_type="text/plain",
                size=5,
            )

    client.force_login(bare.requester)
    without = queries_for(client, bare.get_absolute_url())
    client.force_login(with_files.requester)
    with_attachments = queries_for(client, with_files.get_absolute_url())
    page = client.get(with_files.get_absolute_url()).content.decode()

    assert with_attachments == without + 1
    assert page.count('aria-label="Attachments"') == 3
    assert all(f"log-{n}-{c}.txt" in page for n in range(3) for c in range(n + 1))
