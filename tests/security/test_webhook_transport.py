"""Every provider webhook the site serves (read from the URL resolver) goes through the
same order: credentials, then the declared size, then the body. A stranger's post is
refused before its body is read, whatever its size; an oversize one is refused by its
Content-Length. Inbound email of an enabled provider may be as large as an email with
attachments; everything else keeps Django's page limit; Mailgun signatures are one-use.
"""

import pytest
from anymail.webhooks.base import AnymailBasicAuthMixin
from anymail.webhooks.mailgun import MailgunBaseWebhookView
from django.conf import settings
from django.urls import resolve

from cases.inbound.webhooks import FreshMailgunSignatureMixin
from portal.middleware import body_limit, webhook_view_class
from tests.cases import email_webhooks as hooks
from tests.security.routes import webhook_paths

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("email_webhooks")]

LARGE = 95 * 1024 * 1024


def served_views() -> list[tuple[str, type]]:
    return [(path, resolve(path).func.view_class) for path in webhook_paths()]


def test_sweep_covers_every_provider_webhook():
    views = served_views()
    assert len(views) >= 25
    for path, view_class in views:
        assert issubclass(view_class, AnymailBasicAuthMixin), path


def test_the_guard_recognises_every_webhook_and_no_page(rf):
    for path, view_class in served_views():
        assert webhook_view_class(rf.post(path)) is view_class, path
    for page in ["/accounts/login/", "/cases/", "/admin/login/", "/anymail/nowhere/"]:
        assert webhook_view_class(rf.post(page)) is None, page


@pytest.mark.parametrize(
    "auth",
    [{}, hooks.basic_auth("anymail:guess"), {"HTTP_AUTHORIZATION": "Bearer x"}],
    ids=["none", "wrong", "not-basic"],
)
def test_without_credentials_every_webhook_refuses_a_large_post_unread(client, auth):
    for path, _ in served_views():
        response = hooks.post_unread(client, path, LARGE, **auth)
        assert response.status_code == 400, f"{path} -> {response.status_code}"


def test_with_credentials_every_webhook_refuses_an_oversize_post_by_its_length_unread(client):
    for path, view_class in served_views():
        response = hooks.post_unread(
            client, path, body_limit(view_class) + 1, **hooks.basic_auth()
        )
        assert response.status_code == 413, f"{path} -> {response.status_code}"


def test_only_inbound_email_of_enabled_providers_reads_beyond_the_page_limit():
    enabled = {f"/anymail/{esp}/inbound/" for esp in settings.INBOUND_EMAIL_ESPS}
    for path, view_class in served_views():
        expected = (
            settings.INBOUND_EMAIL_MAX_BYTES
            if path.replace("inbound_mime", "inbound") in enabled
            else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        )
        assert body_limit(view_class) == expected, path


def test_every_mailgun_signed_webhook_refuses_replayed_signatures():
    mailgun = [(p, v) for p, v in served_views() if issubclass(v, MailgunBaseWebhookView)]
    assert len(mailgun) == 3
    for path, view_class in mailgun:
        assert issubclass(view_class, FreshMailgunSignatureMixin), path
