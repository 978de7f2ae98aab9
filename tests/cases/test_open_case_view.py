"""Open a case: subject, description, priority and attachments."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cases.models import Actor, Case, Priority, Status
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FORM = {"subject": "VPN drops every hour", "priority": Priority.P2, "description": "Since Monday."}


def test_form_has_visible_labels_for_every_field(client, customer):
    client.force_login(customer)

    content = client.get("/cases/new/").content.decode()

    for field, label in [
        ("subject", "Subject"),
        ("priority", "Priority"),
        ("description", "Describe the issue"),
        ("attachments", "Attachments"),
    ]:
        assert f'<label for="id_{field}">{label}' in content
    assert 'enctype="multipart/form-data"' in content


def test_opening_a_case_with_an_attachment(client, customer):
    client.force_login(customer)
    log = SimpleUploadedFile("error.log", b"Traceback ...\n", content_type="text/plain")

    response = client.post("/cases/new/", {**FORM, "attachments": [log]}, follow=True)

    case = Case.objects.get()
    assert response.redirect_chain == [(case.get_absolute_url(), 302)]
    assert (case.subject, case.priority, case.status) == (FORM["subject"], Priority.P2, Status.NEW)
    assert case.requester == customer and case.organisation == customer.membership.organisation
    first = case.messages.get()
    assert first.body == "Since Monday." and first.author_kind == Actor.CUSTOMER
    assert first.attachments.get().filename == "error.log"
    content = response.content.decode()
    assert f"Case {case.reference} opened." in content
    assert ">error.log</a>" in content
    assert case.events.get().transition == "open"


@pytest.mark.parametrize("missing", ["subject", "description"])
def test_missing_fields_are_refused_and_what_was_typed_stays(client, customer, missing):
    client.force_login(customer)

    response = client.post("/cases/new/", {**FORM, missing: ""})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    kept = "Since Monday." if missing == "subject" else 'value="VPN drops every hour"'
    assert kept in response.content.decode()
    assert not Case.objects.exists()


def test_unknown_priority_is_refused(client, customer):
    client.force_login(customer)

    client.post("/cases/new/", {**FORM, "priority": 9})

    assert not Case.objects.exists()


def test_account_without_an_organisation_gets_a_clear_message(client):
    client.force_login(UserFactory())

    response = client.post("/cases/new/", FORM)

    assert "Your account is not part of an organisation yet." in response.content.decode()
    assert not Case.objects.exists()


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.post("/cases/new/", FORM)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/cases/new/"
    assert not Case.objects.exists()


def test_opening_a_case_enforces_csrf(customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)

    response = client.post("/cases/new/", FORM)

    assert response.status_code == 403
    assert not Case.objects.exists()


def test_subject_and_description_with_markup_render_inert(client, customer):
    client.force_login(customer)

    response = client.post(
        "/cases/new/",
        {
            **FORM,
            "subject": "<script>alert(1)</script>",
            "description": "<img src=x onerror=alert(2)>",
        },
        follow=True,
    )

    content = response.content.decode()
    assert "<script>alert(1)" not in content and "<img src=x" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "&lt;img src=x onerror=alert(2)&gt;" in content


def test_description_has_the_same_limit_as_a_reply_and_longer_is_refused_keeping_the_text(
    client, customer
):
    from cases.forms import MESSAGE_MAX_CHARS, CaseOpenForm, ReplyForm
    from cases.inbound.receive import REPLY_MAX_CHARS

    assert CaseOpenForm().fields["description"].max_length == MESSAGE_MAX_CHARS
    assert ReplyForm().fields["body"].max_length == MESSAGE_MAX_CHARS == REPLY_MAX_CHARS
    client.force_login(customer)

    too_long = client.post("/cases/new/", {**FORM, "description": "x" * (MESSAGE_MAX_CHARS + 1)})
    at_limit = client.post("/cases/new/", {**FORM, "description": "y" * MESSAGE_MAX_CHARS})

    assert too_long.status_code == 400
    assert f"at most {MESSAGE_MAX_CHARS} characters" in too_long.content.decode()
    assert 'value="VPN drops every hour"' in too_long.content.decode()
    assert at_limit.status_code == 302
    assert Case.objects.get().description == "y" * MESSAGE_MAX_CHARS
