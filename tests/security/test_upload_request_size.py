"""An upload larger than any form accepts is refused from its Content-Length, unread.

Django spools uploaded files to disk whatever their size; the attachment limits are
checked only after. A body that fails when read proves the refusal comes first.
"""

import io

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory

from portal.request_guards import UploadSizeLimitMiddleware, upload_request_max_bytes

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


class UnreadableBody(io.RawIOBase):
    """A request body nobody may read."""

    def readable(self) -> bool:
        return True

    def read(self, *args):
        raise AssertionError("the request body was read")

    readline = readinto = read


def post_declaring(client, path: str, length: int, **headers):
    return client.generic(
        "POST",
        path,
        CONTENT_TYPE="multipart/form-data; boundary=limit-test",
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": UnreadableBody()},
        **headers,
    )


@pytest.fixture
def limits(settings):
    settings.ATTACHMENT_MAX_FILES = 5
    settings.ATTACHMENT_MAX_BYTES = 10 * MB


@pytest.mark.parametrize("where", ["reply", "new case", "workbench"])
def test_huge_upload_is_refused_with_413_before_its_body_is_read(
    client, limits, customer, engineer, victim_case, where
):
    client.force_login(engineer if where == "workbench" else customer)
    path = {
        "reply": f"{victim_case.get_absolute_url()}reply/",
        "new case": "/cases/new/",
        "workbench": f"/admin/cases/case/{victim_case.pk}/workbench/reply/",
    }[where]

    response = post_declaring(client, path, 300 * MB)

    assert response.status_code == 413
    assert [t.name for t in response.templates][0] == "413.html"
    text = response.content.decode()
    assert "up to <strong>5 files of 10 MB each</strong> (50 MB in all)" in text
    assert "What you sent was about 300 MB, so nothing was saved." in text
    assert "still in the form" in text
    assert "no-store" in response["Cache-Control"]


def test_413_page_offers_the_form_again_only_from_this_site(client, limits, customer):
    client.force_login(customer)

    ours = post_declaring(
        client, "/cases/new/", 300 * MB, HTTP_REFERER="http://testserver/cases/new/"
    )
    theirs = post_declaring(client, "/cases/new/", 300 * MB, HTTP_REFERER="https://evil.test/")

    assert 'href="http://testserver/cases/new/">Start the form again' in ours.content.decode()
    assert "evil.test" not in theirs.content.decode()
    assert "data-history-back" in theirs.content.decode()


def test_bound_is_every_attachment_at_its_largest_plus_room_for_the_text(limits, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * MB

    assert upload_request_max_bytes() == 5 * 10 * MB + 2 * MB + MB


@pytest.mark.parametrize(
    ("path", "length", "passes"),
    [
        ("/cases/new/", "bound", True),
        ("/cases/new/", "bound+1", False),
        ("/cases/new/", "", True),
        ("/cases/new/", "not-a-number", True),
        # The inbound webhooks have their own, larger bound (InboundEmailSizeMiddleware).
        ("/anymail/postmark/inbound/", "bound+1", True),
    ],
)
def test_only_declared_bodies_past_the_bound_are_refused(limits, path, length, passes):
    bound = upload_request_max_bytes()
    declared = {"bound": str(bound), "bound+1": str(bound + 1)}.get(length, length)
    request = RequestFactory().post(path, data=b"", content_type="text/plain")
    request.META["CONTENT_LENGTH"] = declared
    request.META["wsgi.input"] = UnreadableBody()
    request.user = AnonymousUser()

    response = UploadSizeLimitMiddleware(lambda request: HttpResponse("view"))(request)

    assert (response.status_code == 200) is passes


def test_attachment_fields_tell_the_browser_the_limits(client, limits, customer, victim_case):
    client.force_login(customer)

    for path in ("/cases/new/", victim_case.get_absolute_url()):
        content = client.get(path).content.decode()
        assert 'data-max-files="5"' in content, path
        assert f'data-max-bytes="{10 * MB}"' in content, path
