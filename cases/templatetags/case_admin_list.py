"""The admin case list's rows: Django's markup, worked out once per column.

Django's `result_list` decides again for each of the 500 cells of a page which field or
method it shows, how that is displayed and where the row links to (a URL reversed and
its filters re-parsed per row). On the case list that was most of the page's time. Here
each column is planned once per page and each cell only reads its value; the markup is
the same as Django's (tests/cases/test_case_admin_list_rows.py compares the two).

Lists this plan does not cover (editable lists, popups, related-field lookups in
`list_display`) are left to Django's own `result_list`. It leans on two private helpers
of django.contrib.admin; the comparison tests are what tells on a Django upgrade.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django import template
from django.contrib.admin.templatetags.admin_list import (
    ResultList,
    _coerce_field_name,
    result_headers,
    result_list,
)
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.contrib.admin.utils import (
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    display_for_field,
    display_for_value,
    quote,
)
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

register = template.Library()

# Stands for a row's primary key in the change URL reversed once per page.
_PK_PLACEHOLDER = "rowpk7c1e"


@dataclass(frozen=True)
class _Column:
    css_classes: str  # e.g. "field-organisation nowrap"
    link: bool
    # (row) -> what the cell shows, before escaping.
    display: Callable[[models.Model], object]
    # A method column whose value is a date or time also gets "nowrap" (as in Django).
    nowrap_dates: bool = False


class _Unplanned(Exception):
    """A column this plan does not cover: Django renders the list."""


def _plan_column(cl, field_name, index: int, is_first: bool) -> _Column:
    model_admin = cl.model_admin
    empty = model_admin.get_empty_value_display()
    if cl.list_display_links is None:
        link = False
    elif is_first and not cl.list_display_links:
        link = True
    else:
        link = field_name in cl.list_display_links
    css = f"field-{_coerce_field_name(field_name, index)}"
    try:
        field = _get_non_gfk_field(cl.lookup_opts, field_name)
    except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
        field = None
    if field is not None and not field.auto_created:
        if isinstance(field, models.ForeignKey):
            name = field.name

            def display(row, name=name):
                value = getattr(row, name)
                return empty if value is None else value

            return _Column(f"{css} nowrap", link, display)
        if getattr(field, "flatchoices", None):
            labels = dict(field.flatchoices)
            attname = field.attname
            return _Column(css, link, lambda row: labels.get(getattr(row, attname), empty))
        if field.remote_field is not None:
            raise _Unplanned(field_name)
        nowrap = isinstance(field, (models.DateField, models.TimeField))
        attname = field.attname
        return _Column(
            f"{css} nowrap" if nowrap else css,
            link,
            lambda row: display_for_field(getattr(row, attname), field, empty, avoid_link=link),
        )
    if callable(field_name):
        method = field_name
    elif isinstance(field_name, str) and hasattr(model_admin, field_name):
        method = getattr(model_admin, field_name)
    else:
        raise _Unplanned(field_name)  # a model attribute or a lookup across relations
    if field_name == "action_checkbox":
        css = "action-checkbox"
    method_empty = getattr(method, "empty_value_display", empty)
    boolean = getattr(method, "boolean", False)
    return _Column(
        css,
        link,
        lambda row: display_for_value(method(row), method_empty, boolean),
        nowrap_dates=True,
    )


def _row_url_template(cl) -> str | None:
    """The change URL of a row with its filters kept, with a placeholder for the pk."""
    try:
        url = reverse(
            f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change",
            args=(_PK_PLACEHOLDER,),
            current_app=cl.model_admin.admin_site.name,
        )
    except NoReverseMatch:
        return None
    return add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url)


def fast_results(cl) -> list[ResultList]:
    """What Django's `results(cl)` gives, built column by column."""
    columns, first_link = [], True
    for index, field_name in enumerate(cl.list_display):
        column = _plan_column(cl, field_name, index, first_link)
        first_link = first_link and not column.link
        columns.append(column)
    url_template = _row_url_template(cl)
    pk_attname = cl.pk_attname
    rows = []
    for row in cl.result_list:
        url = (
            url_template.replace(_PK_PLACEHOLDER, str(quote(getattr(row, pk_attname))))
            if url_template
            else None
        )
        cells, first = [], True
        for column in columns:
            value = column.display(row)
            classes = column.css_classes
            if column.nowrap_dates and isinstance(value, (datetime.date, datetime.time)):
                classes += " nowrap"
            text = conditional_escape(value)
            if column.link:
                tag = "th" if first else "td"
                first = False
                if url is not None:
                    text = f'<a href="{conditional_escape(url)}">{text}</a>'
                cells.append(SafeString(f'<{tag} class="{classes}">{text}</{tag}>'))
            else:
                cells.append(SafeString(f'<td class="{classes}">{text}</td>'))
        # One item per row, the cells already joined: the template concatenates a row's
        # items anyway, and 500 variable renders a page were a good part of its time.
        rows.append(ResultList(None, [SafeString("".join(cells))]))
    return rows


def _fast_result_list(cl) -> dict:
    """Django's `result_list` context, with the rows from `fast_results` where it can."""
    if cl.formset or cl.is_popup or cl.to_field:
        return result_list(cl)
    try:
        rows = fast_results(cl)
    except _Unplanned:
        return result_list(cl)
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": [],  # only editable lists have them
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": rows,
    }


@register.tag(name="fast_result_list")
def fast_result_list_tag(parser, token):
    return InclusionAdminNode(
        "result_list",
        parser,
        token,
        func=_fast_result_list,
        template_name="change_list_results.html",
        takes_context=False,
    )
