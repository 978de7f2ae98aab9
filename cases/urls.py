import re

from django.urls import path, register_converter

from . import views
from .models import Case


class ReferenceConverter:
    """`CS-1042` (any case) or `1042`: ASCII digits only, as `Case.pk_from_reference` reads."""

    regex = f"(?i:{re.escape(Case.REFERENCE_PREFIX)})?[0-9]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferenceConverter, "reference")

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_open, name="new"),
    # Signed links from the resolved email: usable without signing in (cases.email_actions).
    path("link/<slug:action>/<str:token>/", views.email_action, name="email_action"),
    path("<reference:reference>/", views.case_detail, name="detail"),
    path("<reference:reference>/reply/", views.case_reply, name="reply"),
    path("<reference:reference>/approval/", views.case_answer_approval, name="approval"),
    path("<reference:reference>/resolve/", views.case_mark_resolved, name="mark_resolved"),
    path("<reference:reference>/close/", views.case_close, name="close"),
    path("<reference:reference>/confirm/", views.case_confirm, name="confirm"),
    path("<reference:reference>/reopen/", views.case_reopen, name="reopen"),
    path(
        "<reference:reference>/participants/",
        views.case_add_participant,
        name="add_participant",
    ),
    path(
        "<reference:reference>/participants/<int:participant_id>/remove/",
        views.case_remove_participant,
        name="remove_participant",
    ),
    path(
        "<reference:reference>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
]
