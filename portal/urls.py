import anymail.urls
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from cases.inbound import webhooks
from cases.views import help_case_priorities, help_case_statuses, help_plan_comparison
from portal.monitoring.health import HealthView
from portal.monitoring.metrics import metrics_view
from portal.password_reset import ThrottledPasswordResetView
from portal.views import ping, profile, unsubscribe

# The help centre's articles, in the order their Previous/Next links follow.
help_patterns = (
    [
        path("case-priorities/", help_case_priorities, name="case_priorities"),
        path("case-statuses/", help_case_statuses, name="case_statuses"),
        path("plan-comparison/", help_plan_comparison, name="plan_comparison"),
    ],
    "help",
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="cases:list", permanent=False)),
    path("cases/", include("cases.urls")),
    path("help/", include(help_patterns)),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/ping/", ping, name="ping"),
    path("accounts/profile/", profile, name="profile"),
    # The one-click link in optional emails: works without signing in (portal.email_preferences).
    path("accounts/unsubscribe/<str:token>/", unsubscribe, name="unsubscribe"),
    path(
        "accounts/password_reset/",
        ThrottledPasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/two-factor/", include("portal.twofactor.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    # Served to any Host by portal.monitoring.health.HealthProbeMiddleware.
    path("health/", HealthView.as_view(), name="health"),
    path("metrics", metrics_view, name="metrics"),
    # The portal's Postmark and Mailgun views first, then the rest of Anymail's.
    path("anymail/", include(([*webhooks.urlpatterns, *anymail.urls.urlpatterns], "anymail"))),
]
