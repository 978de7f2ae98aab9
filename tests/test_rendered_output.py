"""No page or email ever shows template syntax (a public contract, DESIGN.md).

In Django's templates (the admin's) a `{# #}` comment ends at the end of its line: a
multi-line one is printed as text. This renders every customer page, admin case page
and email (tests/rendered.py) and looks for template syntax in what a person would see.
"""

import re

import pytest

from cases.models import NotificationKind
from tests.rendered import render_everything

pytestmark = pytest.mark.django_db

TEMPLATE_SYNTAX = re.compile(r"\{#|#\}|\{%|%\}|\{\{")


def test_no_page_or_email_shows_template_syntax():
    catalogue = render_everything()

    leaks = [
        f"{item.kind} {item.name}: …{item.content[max(m.start() - 60, 0) : m.end() + 60]}…"
        for item in catalogue.items
        for m in TEMPLATE_SYNTAX.finditer(item.content)
    ]
    assert leaks == []


def test_the_walk_renders_every_template_and_every_kind_of_email():
    catalogue = render_everything()

    assert catalogue.unrendered_templates() == set()
    emailed = {item.name.split()[1] for item in catalogue.items if item.kind == "email-html"}
    assert emailed == set(NotificationKind.values)


def test_every_page_has_one_main_element():
    catalogue = render_everything()

    pages = [item for item in catalogue.items if item.kind == "page"]
    assert [item.name for item in pages if item.content.count("<main") != 1] == []
