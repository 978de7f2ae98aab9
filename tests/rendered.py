"""Every page and email the portal renders, with realistic data, for whole-output checks.

`render_everything()` signs in as a customer, an engineer and nobody, and collects:
customer pages (My Cases under each filter, a case in each status and in its refused
and closed-for-no-reply variants, open a case, help, sign-in and password pages, error
pages), the admin's case pages and inbound email pages, and every email: each
`NotificationKind` for a case in each status, HTML, text and subject. Templates the
walk did not render are reported too, so a new template is checked or the test says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.template.loader import render_to_string
from django.test import Client, RequestFactory, TestCase
from django.test.signals import template_rendered
from django.utils import timezone
from django.views import defaults

from cases import email_actions, outbox, services
from cases.models import (
    Case,
    CaseEvent,
    InboundEmail,
    InboundOutcome,
    InboundReason,
    InfoRequestKind,
    Macro,
    MacroAction,
    Notification,
    NotificationKind,
    ResponseTarget,
    Status,
    TargetOutcome,
)
from cases.outbox import triggers
from cases.outbox.emails import SERVICE_LEVEL_KINDS
from portal import email_preferences
from portal.models import EmailTopic, User
from portal.request_guards import request_too_large, upload_request_max_bytes
from tests.factories import CaseFactory, EngineerFactory, customer

# Ours: the portal's (Jinja2) and the admin overrides (Django's engine), by template name.
TEMPLATE_DIRS = [
    Path(settings.BASE_DIR) / "templates",
    Path(settings.BASE_DIR) / "cases" / "templates",
]


@dataclass(frozen=True)
class Rendered:
    name: str
    kind: str  # "page", "admin", "email-html", "email-text", "email-subject"
    content: str

    @property
    def is_html_document(self) -> bool:
        return self.kind in {"page", "admin", "email-html"}


@dataclass
class Catalogue:
    items: list[Rendered] = field(default_factory=list)
    templates: set[str] = field(default_factory=set)

    def add(self, name: str, kind: str, content: str | bytes) -> None:
        if isinstance(content, bytes):
            content = content.decode()
        self.items.append(Rendered(name, kind, content))

    def unrendered_templates(self) -> set[str]:
        """Our templates (TEMPLATE_DIRS) that nothing in the walk rendered."""
        ours = {
            path.relative_to(folder).as_posix()
            for folder in TEMPLATE_DIRS
            for path in folder.rglob("*")
            if path.is_file()
        }
        return ours - self.templates


def _get(client: Client, path: str, *, status: int = 200) -> bytes:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.content


def _cases_in_every_status(requester, engineer) -> dict[str, Case]:
    """One case per status (and variants), built through the services with a thread."""

    def opened(subject: str) -> Case:
        return services.case_open(
            requester=requester,
            subject=subject,
            description="The nightly export fails with\nerror 42 since Monday.",
            priority=2,
        )

    cases = {"new": opened("Export fails (new)")}
    case = opened("Export fails (open)")
    cases["open"] = services.case_assign(case=case, engineer=engineer)

    case = services.case_assign(case=opened("Export fails (in progress)"), engineer=engineer)
    cases["in_progress"] = services.case_start_work(case=case, engineer=engineer)

    for name, kind in (
        ("pending_customer", InfoRequestKind.LOGS),
        ("pending_customer_approval", InfoRequestKind.APPROVAL),
    ):
        case = services.case_assign(case=opened(f"Export fails ({name})"), engineer=engineer)
        services.case_request_info(
            case=case, engineer=engineer, message="Could you send the export log?", kind=kind
        )
        cases[name] = Case.objects.get(pk=case.pk)

    case = services.case_assign(case=opened("Export fails (resolved)"), engineer=engineer)
    cases["resolved"] = services.case_resolve(
        case=case, engineer=engineer, message="Fixed by the 2.4.1 release."
    )

    case = services.case_assign(case=opened("Export fails (closed)"), engineer=engineer)
    cases["closed"] = services.case_close(case=case, actor=requester)

    # Closed by the sweep because nobody answered the engineer's question.
    case = services.case_assign(case=opened("Export fails (no reply)"), engineer=engineer)
    services.case_request_info(case=case, engineer=engineer, message="Which version?", kind="logs")
    overdue = timedelta(days=settings.CASE_PENDING_CUSTOMER_AUTO_CLOSE_DAYS + 1)
    Case.objects.filter(pk=case.pk).update(pending_since=timezone.now() - overdue)
    services.close_stale_cases()
    cases["closed_no_reply"] = Case.objects.get(pk=case.pk)
    assert cases["closed_no_reply"].closed_for_no_reply

    # Response targets: one running past its due time, one paused (resolved without a
    # public reply). New, Open and In Progress above each have theirs running.
    case = opened("Export fails (reply overdue)")
    _overdue(case, by=timedelta(hours=1))
    cases["response_overdue"] = case
    case = services.case_assign(case=opened("Export fails (target paused)"), engineer=engineer)
    cases["response_paused"] = services.case_resolve(case=case, engineer=engineer)
    return {name: Case.objects.get(pk=case.pk) for name, case in cases.items()}


def _overdue(case: Case, *, by: timedelta) -> None:
    """Move a case's running target into the past."""
    due = timezone.now() - by
    ResponseTarget.objects.filter(case=case, outcome=TargetOutcome.RUNNING).update(
        due_at=due, warn_at=due
    )


def _customer_pages(catalogue: Catalogue, client: Client, cases: dict[str, Case]) -> None:
    for query in [
        "",
        *(f"?status={value}" for value in Status.values),
        "?status=all",
        "?q=export",
        "?q=nothing-matches",
        "?scope=organisation",
        "?scope=shared",
    ]:
        catalogue.add(f"My Cases {query or '(default)'}", "page", _get(client, f"/cases/{query}"))
    for name, case in cases.items():
        content = _get(client, case.get_absolute_url())
        # The walk sees the promise in both its wordings, and nothing where it pauses.
        shows_promise = name in {"new", "open", "in_progress", "response_overdue"}
        assert (b"data-response-due=" in content) == shows_promise, name
        catalogue.add(f"case page: {name}", "page", content)
    catalogue.add("open a case", "page", _get(client, "/cases/new/"))

    # Refused forms: the page comes back with what was typed and an error summary.
    response = client.post("/cases/new/", {"subject": "", "description": "Typed text"})
    assert response.status_code == 400
    catalogue.add("open a case, refused", "page", response.content)
    pending = cases["pending_customer"]
    response = client.post(f"{pending.get_absolute_url()}reply/", {"body": ""})
    assert response.status_code == 400
    catalogue.add("reply, refused", "page", response.content)
    response = client.post(
        f"{cases['pending_customer_approval'].get_absolute_url()}approval/", {"decision": "x"}
    )
    assert response.status_code == 400
    catalogue.add("approval answer, refused", "page", response.content)
    response = client.post(
        f"{cases['open'].get_absolute_url()}participants/",
        {"email": "someone@elsewhere.example, colleague@walk.example", "message": "Look"},
    )
    assert response.status_code == 400
    catalogue.add("add a colleague, refused", "page", response.content)
    response = client.post(
        "/cases/new/",
        {"subject": "Export", "priority": "3", "description": "x", "colleagues": "a@b.example"},
    )
    assert response.status_code == 400
    catalogue.add("open a case with a colleague, refused", "page", response.content)

    catalogue.add("profile", "page", _get(client, "/accounts/profile/"))
    response = client.post(
        "/accounts/profile/", {"full_name": "Casey", "time_zone": "Mars/Olympus_Mons"}
    )
    assert response.status_code == 200
    catalogue.add("profile, refused", "page", response.content)

    catalogue.add("help: case statuses", "page", _get(client, "/help/case-statuses/"))
    catalogue.add("help: case priorities", "page", _get(client, "/help/case-priorities/"))
    catalogue.add("help: plan comparison", "page", _get(client, "/help/plan-comparison/"))
    catalogue.add("404", "page", _get(client, "/cases/CS-999999/", status=404))
    too_large = request_too_large(
        RequestFactory().post(
            f"{cases['open'].get_absolute_url()}reply/",
            HTTP_REFERER=f"http://testserver{cases['open'].get_absolute_url()}",
        ),
        declared=upload_request_max_bytes() + 1,
    )
    catalogue.add("413", "page", too_large.content)


def _anonymous_pages(catalogue: Catalogue, user) -> None:
    client = Client()
    catalogue.add("sign in", "page", _get(client, "/accounts/login/"))
    response = client.post("/accounts/login/", {"username": user.email, "password": "wrong"})
    catalogue.add("sign in, refused", "page", response.content)
    catalogue.add("password reset", "page", _get(client, "/accounts/password_reset/"))
    mail.outbox.clear()
    # The reset email is queued for a worker once the request commits.
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post("/accounts/password_reset/", {"email": user.email}, follow=True)
    catalogue.add("password reset sent", "page", response.content)
    (email,) = mail.outbox
    catalogue.add("password reset email", "email-text", email.body)
    catalogue.add("password reset email", "email-subject", email.subject)
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", email.body)[1]
    response = client.get(link, follow=True)
    catalogue.add("choose a new password", "page", response.content)
    new_password = "a new and long passphrase"
    response = client.post(
        response.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
        follow=True,
    )
    catalogue.add("password changed", "page", response.content)
    catalogue.add("reset link used", "page", _get(client, link))

    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    catalogue.add("403 form expired", "page", response.content)

    request = RequestFactory().get("/somewhere/")
    request.user = AnonymousUser()
    catalogue.add("400", "page", defaults.bad_request(request, Exception()).content)
    catalogue.add("403", "page", defaults.permission_denied(request, Exception()).content)
    catalogue.add("500", "page", defaults.server_error(request).content)
    catalogue.add(
        "locked out",
        "page",
        render_to_string("registration/locked_out.html", {"user": AnonymousUser()}, request),
    )


def _admin_pages(catalogue: Catalogue, engineer, cases: dict[str, Case]) -> None:
    client = Client()
    client.force_login(engineer)
    # The case pages' macro picker, and the macros' own admin pages.
    ask = Macro.objects.create(
        name="Ask for <kubelet> logs",
        body="Hi {customer_first_name}, please send the logs of {reference}.",
        action=MacroAction.REQUEST_INFO,
        info_request_kind=InfoRequestKind.LOGS,
    )
    Macro.objects.create(name="Thanks & goodbye", body="Thanks, {customer_first_name}!")
    catalogue.add("admin macros", "admin", _get(client, "/admin/cases/macro/"))
    catalogue.add("admin macro", "admin", _get(client, f"/admin/cases/macro/{ask.pk}/change/"))
    catalogue.add("admin new macro", "admin", _get(client, "/admin/cases/macro/add/"))
    catalogue.add("admin case list", "admin", _get(client, "/admin/cases/case/"))
    catalogue.add(
        "admin case list, pending customer",
        "admin",
        _get(client, "/admin/cases/case/?status__exact=pending_customer"),
    )
    for name, case in cases.items():
        catalogue.add(
            f"admin case: {name}", "admin", _get(client, f"/admin/cases/case/{case.pk}/change/")
        )
    for name, case in _service_level_cases(cases["new"].requester, engineer).items():
        catalogue.add(
            f"admin case: {name}", "admin", _get(client, f"/admin/cases/case/{case.pk}/change/")
        )
    case = cases["pending_customer"]
    catalogue.add(
        "admin case history", "admin", _get(client, f"/admin/cases/case/{case.pk}/history/")
    )
    next_due = client.get("/admin/cases/case/").context["cl"].list_display.index("next_target")
    for query in ("?next_target=breached", f"?o={next_due}", "?next_target=today"):
        catalogue.add(
            f"admin case list {query}", "admin", _get(client, f"/admin/cases/case/{query}")
        )
    inbound = InboundEmail.objects.create(
        email_message_id="<walk@mail.customer.example>",
        esp_name="postmark",
        from_address=cases["pending_customer"].requester.email,
        to_addresses="case.1.1.x@reply.example.com",
        subject="Re: the export",
        body_excerpt="Here is the log.",
        outcome=InboundOutcome.ACCEPTED,
        reason=InboundReason.REPLY,
        case=cases["pending_customer"],
    )
    catalogue.add("profile of an engineer", "page", _get(client, "/accounts/profile/"))
    requester = cases["new"].requester
    email_preferences.turn_off(requester, EmailTopic.REMINDERS, source="link")
    # As a support engineer sees it (read-only): Django's own editable password
    # widget is not ours to check.
    support = Client()
    support.force_login(EngineerFactory(email="support@walk.example"))
    catalogue.add(
        "admin user with emails turned off",
        "admin",
        _get(support, f"/admin/portal/user/{requester.pk}/change/"),
    )
    catalogue.add("admin inbound emails", "admin", _get(client, "/admin/cases/inboundemail/"))
    catalogue.add(
        "admin inbound email",
        "admin",
        _get(client, f"/admin/cases/inboundemail/{inbound.pk}/change/"),
    )


def _service_level_cases(requester, engineer) -> dict[str, Case]:
    """Cases in each state of the Service level panel the walk's cases do not show:
    overdue, missed, paused, and one that never had a target."""

    def opened(subject: str) -> Case:
        return services.case_open(
            requester=requester, subject=subject, description="Export fails.", priority=2
        )

    def overdue(case: Case) -> Case:
        long_ago, past_due = (
            timezone.now() - timedelta(days=30),
            timezone.now() - timedelta(days=1),
        )
        ResponseTarget.objects.filter(case=case).update(
            started_at=long_ago, run_started_at=long_ago, due_at=past_due
        )
        return Case.objects.get(pk=case.pk)

    cases = {"overdue": overdue(opened("Export fails (overdue)"))}
    late = overdue(opened("Export fails (answered late)"))
    services.case_reply(case=late, author=engineer, body="Sorry for the wait.")
    cases["missed"] = late
    paused = opened("Export fails (paused)")
    cases["paused"] = services.case_mark_resolved(case=paused, customer=requester)
    cases["no target"] = CaseFactory(
        requester=requester, subject="Export fails (no target)", status=Status.OPEN
    )
    return {name: Case.objects.get(pk=case.pk) for name, case in cases.items()}


def _emails(catalogue: Catalogue, cases: dict[str, Case]) -> None:
    """Every kind of email for a case in every status, built as a worker builds it."""
    for name, case in cases.items():
        if name.startswith("response_"):
            continue  # the same emails as the statuses above: targets are not emailed
        event = CaseEvent.objects.filter(case=case).order_by("-created_at", "-id").first()
        message = case.messages.filter(is_internal=False).order_by("-created_at", "-id").first()
        for kind in NotificationKind:
            if kind == NotificationKind.DAILY_DIGEST:
                continue  # about no one case: built once below
            extra = {}
            if kind in SERVICE_LEVEL_KINDS:
                # Its latest target: running (new), paused (pending customer), stopped.
                extra = {"response_target": case.response_targets.order_by("pk").last()}
            if kind == NotificationKind.REMINDER:
                since = case.pending_since or timezone.now()
                key = f"reminder:{case.pk}:{since.timestamp():.6f}:1:{case.requester_id}"
                extra = {"clock_started_at": since, "reminder_days_before": 1}
            else:
                key = f"walk:{name}:{kind}"
            notification = Notification.objects.create(
                case=case,
                event=event,
                message=message,
                kind=kind,
                recipient=case.requester,
                to_email=case.requester.email,
                subject=triggers._subject(case, kind),
                dedupe_key=key,
                **extra,
            )
            _add_email(catalogue, f"email {kind} ({name})", outbox.build_email(notification))

    case = cases["open"]
    colleague = User.objects.get(email="colleague@walk.example")
    message = case.messages.filter(is_internal=False).order_by("-created_at", "-id").first()
    notification = Notification.objects.create(
        case=case,
        message=message,
        kind=NotificationKind.ENGINEER_REPLY,
        recipient=colleague,
        to_email=colleague.email,
        subject=triggers._subject(case, NotificationKind.ENGINEER_REPLY),
        dedupe_key="walk:shared-reply",
    )
    _add_email(
        catalogue,
        f"email {NotificationKind.ENGINEER_REPLY} (to a colleague it is shared with)",
        outbox.build_email(notification),
    )

    _service_level_emails(catalogue, cases["open"])
    outbox.queue_daily_digests(now=timezone.now())
    for notification in Notification.objects.filter(kind=NotificationKind.DAILY_DIGEST):
        _add_email(catalogue, f"email {notification.kind}", outbox.build_email(notification))


def _service_level_emails(catalogue: Catalogue, case: Case) -> None:
    """The warning and the escalation as the check queues them: the target falls due
    an hour ago, the escalation goes to each engineer and the assignee, once each."""
    now = timezone.now()
    ResponseTarget.objects.filter(case=case, outcome="running").update(
        warn_at=now - timedelta(hours=2), due_at=now - timedelta(hours=1)
    )
    services.check_service_levels()
    for notification in Notification.objects.filter(
        case=case, kind=NotificationKind.SERVICE_LEVEL_BREACHED, dedupe_key__startswith="sla-"
    ):
        label = f"email {notification.kind} (escalation to {notification.to_email})"
        _add_email(catalogue, label, outbox.build_email(notification))


def _add_email(catalogue: Catalogue, label: str, email) -> None:
    catalogue.add(label, "email-subject", email.subject)
    catalogue.add(label, "email-text", email.body)
    for content, mimetype in email.alternatives:
        if mimetype == "text/html":
            catalogue.add(label, "email-html", content)


def _email_link_pages(catalogue: Catalogue, case: Case) -> None:
    """The pages behind the resolved email's signed links, in each state. Last: it closes
    the case."""
    event_id = email_actions._latest_status_change_id(case)
    client = Client()
    for action in (email_actions.CONFIRM, email_actions.REOPEN):
        url = email_actions.url_for(
            case=case, recipient=case.requester, action=action, event_id=event_id
        ).removeprefix(settings.SITE_URL)
        catalogue.add(f"email link: {action}", "page", _get(client, url))
    catalogue.add(
        "email link: forged",
        "page",
        _get(client, "/cases/link/confirm/forged/", status=400),
    )
    url = email_actions.url_for(
        case=case, recipient=case.requester, action=email_actions.CONFIRM, event_id=event_id
    ).removeprefix(settings.SITE_URL)
    response = client.post(url, {"rating": "", "comment": ""})
    assert response.status_code == 200
    catalogue.add("email link: confirmed", "page", response.content)
    catalogue.add("email link: used", "page", _get(client, url, status=410))


def _unsubscribe_pages(catalogue: Catalogue, user) -> None:
    """The one-click link of an optional email, in each state, signed in or not."""
    client = Client()
    url = email_preferences.unsubscribe_url(user, EmailTopic.SHARED_CASE_UPDATES)
    path = url.removeprefix(settings.SITE_URL)
    catalogue.add("unsubscribe", "page", _get(client, path))
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    catalogue.add("unsubscribe, done", "page", response.content)
    catalogue.add("unsubscribe, already", "page", _get(client, path))
    catalogue.add(
        "unsubscribe, forged", "page", _get(client, "/accounts/unsubscribe/forged/", status=400)
    )


def _satisfaction_report(catalogue: Catalogue, engineer) -> None:
    client = Client()
    client.force_login(engineer)
    catalogue.add(
        "admin satisfaction report", "admin", _get(client, "/admin/cases/case/satisfaction/")
    )
    catalogue.add(
        "admin service levels report", "admin", _get(client, "/admin/cases/case/service-levels/")
    )
    # A reminder its recipient turned off (see _admin_pages): cancelled, saying why.
    reminder = Notification.objects.filter(
        kind=NotificationKind.REMINDER, case__status=Status.PENDING_CUSTOMER
    ).first()
    outbox.deliver(reminder.pk)
    reminder.refresh_from_db()
    assert "turned off reminders" in reminder.last_error, reminder.last_error
    catalogue.add("admin outbox", "admin", _get(client, "/admin/cases/notification/"))
    catalogue.add(
        "admin case with an email not sent",
        "admin",
        _get(client, f"/admin/cases/case/{reminder.case_id}/change/"),
    )


def _service_level_policy() -> None:
    """The plans migration 0017 seeds (a flush by a transactional test empties them), so
    that the cases' response targets run."""
    from importlib import import_module

    from django.apps import apps

    import_module("cases.migrations.0017_seed_service_levels").seed(apps, None)


def render_everything() -> Catalogue:
    catalogue = Catalogue()

    def seen(sender, template, context, **kwargs):
        if template.name:
            catalogue.templates.add(template.name)

    template_rendered.connect(seen, dispatch_uid="tests.rendered")
    try:
        _service_level_policy()
        engineer = EngineerFactory(is_superuser=True, email="engineer@walk.example")
        requester = customer(sees_organisation=True, email="customer@walk.example")
        colleague = customer(requester.membership.organisation, email="colleague@walk.example")
        cases = _cases_in_every_status(requester, engineer)
        # Shared: its page lists the colleague, its last event is the sharing (with a
        # message), which the "shared with you" email below quotes.
        services.case_add_participants(
            case=cases["open"],
            actor=requester,
            addresses=[colleague.email],
            message="Could you send the export log?\nIt is on the batch server.",
        )

        client = Client()
        client.force_login(requester)
        _customer_pages(catalogue, client, cases)
        shared_with = Client()
        shared_with.force_login(colleague)
        catalogue.add(
            "My Cases: shared with me", "page", _get(shared_with, "/cases/?scope=shared")
        )
        _anonymous_pages(catalogue, requester)
        _admin_pages(catalogue, engineer, cases)
        _emails(catalogue, cases)
        _email_link_pages(catalogue, cases["resolved"])
        _unsubscribe_pages(catalogue, requester)
        _satisfaction_report(catalogue, engineer)
    finally:
        template_rendered.disconnect(dispatch_uid="tests.rendered")
    return catalogue
