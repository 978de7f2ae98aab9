from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_open, name="new"),
    # Signed links from the resolved email: usable without signing in (cases.email_actions).
    path("link/<slug:action>/<str:token>/", views.email_action, name="email_action"),
    path("<str:reference>/", views.case_detail, name="detail"),
    path("<str:reference>/reply/", views.case_reply, name="reply"),
    path("<str:reference>/approval/", views.case_answer_approval, name="approval"),
    path("<str:reference>/resolve/", views.case_mark_resolved, name="mark_resolved"),
    path("<str:reference>/close/", views.case_close, name="close"),
    path("<str:reference>/confirm/", views.case_confirm, name="confirm"),
    path("<str:reference>/reopen/", views.case_reopen, name="reopen"),
    path(
        "<str:reference>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
]
