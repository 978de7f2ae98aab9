"""Text people type or search: no NUL, no controls, no bidi overrides; one line stays one line."""

from __future__ import annotations

import pytest

from cases.models import Case, Message, Priority
from cases.text import clean_line, clean_text
from tests.factories import CaseFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

HOSTILE_LINE = "  Disk\u202e full\x00\r\nBcc: x@evil.test\t\x07 "


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        (HOSTILE_LINE, "Disk full Bcc: x@evil.test"),
        ("exe.\u2066gpj\u2069\u200f", "exe.gpj"),
        ("Cafe\u0301", "Café"),  # NFC: one code point, as a search for it types
        ("a\u2028b\x85c", "a b c"),
        ("\x00\x1f\x7f\x9b", ""),
        ("Zürich 日本 👩\u200d💻", "Zürich 日本 👩\u200d💻"),  # joiners are not controls
    ],
)
def test_a_single_line_loses_controls_bidi_and_line_breaks(raw, cleaned):
    assert clean_line(raw) == cleaned


def test_multi_line_text_keeps_its_lines_and_indentation():
    raw = 'Traceback:\r\n\tFile \u202e"x.py"\x00\rline 2\n\n    indented\x1b[0m'

    assert clean_text(raw) == 'Traceback:\n\tFile "x.py"\nline 2\n\n    indented[0m'


def test_new_case_subject_and_description_are_normalised(client, customer):
    client.force_login(customer)

    response = client.post(
        "/cases/new/",
        {
            "subject": HOSTILE_LINE,
            "priority": Priority.P3,
            "description": "Line one\x00\r\nLine\u202e two",
        },
    )

    assert response.status_code == 302
    case = Case.objects.get()
    assert case.subject == "Disk full Bcc: x@evil.test"
    assert case.messages.get().body == "Line one\nLine two"


def test_subject_of_controls_alone_is_refused_as_empty(client, customer):
    client.force_login(customer)

    response = client.post(
        "/cases/new/", {"subject": "\x00\u202e\r\n", "priority": Priority.P3, "description": "x"}
    )

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Case.objects.exists()


def test_web_reply_with_nul_is_kept_without_it(client, customer):
    case = CaseFactory(requester=customer, in_progress=True)
    client.force_login(customer)

    response = client.post(f"{case.get_absolute_url()}reply/", {"body": "It\x00 works\u202e now"})

    assert response.status_code == 302
    assert Message.objects.filter(case=case, body="It works now").exists()


def test_my_cases_search_with_nul_finds_the_case(client, customer):
    case = CaseFactory(requester=customer, subject="Disk full on db-1")
    client.force_login(customer)

    response = client.get("/cases/", {"q": "disk\x00 full\u202e"})

    assert response.status_code == 200
    assert f'data-case-reference="{case.reference}"' in response.content.decode()


@pytest.mark.parametrize(
    "changelist",
    [
        "/admin/cases/case/",
        "/admin/cases/notification/",
        "/admin/cases/inboundemail/",
        "/admin/portal/user/",
        "/admin/portal/organisation/",
        "/admin/portal/membership/",
    ],
)
def test_admin_search_with_nul_is_never_an_error(client, changelist):
    """Django's own search form refuses the NUL with a message; nothing reaches a query."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    CaseFactory(subject="Disk full on db-1")

    response = client.get(changelist, {"q": "disk\x00 full"})

    assert response.status_code == 200


@pytest.mark.parametrize("field_name", ["user", "organisation"])
def test_admin_autocomplete_with_nul_finds_what_the_clean_term_names(client, field_name):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    wanted = UserFactory(email="dana.disk@example.com", full_name="Dana Disk")
    OrganisationFactory(name="Disk Works")
    term = {"user": "dana.disk\x00@example", "organisation": "disk\x00 works"}[field_name]

    response = client.get(
        "/admin/autocomplete/",
        {
            "app_label": "portal",
            "model_name": "membership",
            "field_name": field_name,
            "term": term,
        },
    )

    assert response.status_code == 200
    found = [row["text"] for row in response.json()["results"]]
    assert found == ([str(wanted)] if field_name == "user" else ["Disk Works"])
