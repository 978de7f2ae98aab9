"""Each of our templates is read by the engine that renders it.

The portal's pages and emails (templates/) are Jinja2; the admin's overrides
(cases/templates/admin/) are Django's, and Jinja2, which looks first, must not take
them. Parsing them all here reports a syntax error without a page to walk to.
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines
from django.template.loader import get_template

PORTAL = Path(settings.BASE_DIR) / "templates"
ADMIN = Path(settings.BASE_DIR) / "cases" / "templates"


def names(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", names(PORTAL))
def test_portal_templates_are_jinja2(name):
    assert not name.startswith("admin/"), "the admin's templates go in cases/templates/"
    assert get_template(name).backend is engines["jinja2"]


@pytest.mark.parametrize("name", names(ADMIN))
def test_admin_templates_are_djangos(name):
    assert name.startswith("admin/")
    assert get_template(name).backend is engines["django"]
