"""Every text field of the portal's forms cleans what is typed the same way.

The fields are read from the form classes in `cases.forms` and `cases.admin.forms`, so a
field added later is swept without anyone remembering to list it: a plain CharField
fails here until it says whether it holds one line or several.
"""

from __future__ import annotations

import inspect

import pytest
from django import forms

from cases import forms as customer_forms
from cases.admin import forms as admin_forms
from cases.text import LineField, TextField

HOSTILE = "  Disk\x00 \u202efull\u2066\r\nBcc: x@evil.test\t\x07 "
EXPECTED = {
    LineField: "Disk full Bcc: x@evil.test",
    TextField: "Disk full\nBcc: x@evil.test",
}


def text_fields() -> list[tuple[str, str, forms.Field]]:
    found = []
    for module in (customer_forms, admin_forms):
        for name, form in inspect.getmembers(module, inspect.isclass):
            if not issubclass(form, forms.BaseForm) or form.__module__ != module.__name__:
                continue
            for field_name, field in form.base_fields.items():
                if isinstance(field, forms.CharField):
                    found.append((f"{module.__name__}.{name}", field_name, field))
    return found


def test_the_sweep_finds_the_customer_text_fields():
    names = {(form, field) for form, field, _ in text_fields()}
    assert {
        ("cases.forms.CaseOpenForm", "subject"),
        ("cases.forms.CaseOpenForm", "description"),
        ("cases.forms.ReplyForm", "body"),
        ("cases.forms.ReopenForm", "message"),
        ("cases.forms.ApprovalForm", "comment"),
    } <= names


@pytest.mark.parametrize(
    ("form", "field_name", "field"),
    text_fields(),
    ids=[f"{form}.{field}" for form, field, _ in text_fields()],
)
def test_every_text_field_drops_nul_controls_and_bidi_overrides(form, field_name, field):
    kind = next((kind for kind in EXPECTED if isinstance(field, kind)), None)
    assert kind is not None, f"{form}.{field_name} is a plain {type(field).__name__}"

    assert field.clean(HOSTILE) == EXPECTED[kind]
