"""Every customer page, admin case page and HTML email is valid HTML (W3C Nu HTML Checker).

The checker is `vnu.jar` from the npm package `vnu-jar` (`make vnu`, run by `make test`),
on Java 17. It runs once over all documents: starting the JVM is the slow part.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.rendered import render_everything

pytestmark = pytest.mark.django_db

VNU_JAR = Path(settings.BASE_DIR) / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def vnu_errors(paths: list[Path]) -> list[dict]:
    if not VNU_JAR.exists():
        pytest.fail(f"{VNU_JAR} is missing: run `make vnu` (npm ci) first.")
    java = shutil.which("java")
    if java is None:
        pytest.fail("java is missing: run `make vnu` (installs default-jre-headless).")
    result = subprocess.run(  # noqa: S603 - our own files, a fixed command
        [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return json.loads(result.stderr or result.stdout)["messages"]


def _document(documents: dict, error: dict) -> str:
    name = error.get("url", "").rpartition("/")[2]
    return documents[name].name if name in documents else error.get("url", "?")


def test_pages_and_html_emails_have_no_html_errors(tmp_path):
    catalogue = render_everything()
    documents = {}
    for number, item in enumerate(catalogue.items):
        if item.is_html_document:
            slug = re.sub(r"[^a-z0-9]+", "-", item.name.lower()).strip("-")
            path = tmp_path / f"{number:03d}-{item.kind}-{slug}.html"
            path.write_text(item.content, encoding="utf-8")
            documents[path.name] = item
    assert len(documents) > 50

    errors = vnu_errors([tmp_path / name for name in documents])

    found = [
        f"{_document(documents, error)}: line {error.get('lastLine')}: "
        f"{error['message']} …{error.get('extract', '')}…"
        for error in errors
    ]
    assert found == []
