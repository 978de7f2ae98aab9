"""The engineers' workbench. Every change goes through `cases.services`.

The case list stays fast on a big table (related rows joined, no per-row queries, no
unbounded COUNT); the case page shows the thread, history and notification log and has
one button per transition available now, each POSTing to a view of this admin that calls
the same service as the portal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation, IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections, transaction
from django.db.models import F, OrderBy, QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.views.decorators.cache import never_cache

from cases import exceptions, presence, selectors, services
from cases.admin import forms as admin_forms
from cases.admin import macros as admin_macros
from cases.admin import queues, targets
from cases.attachments import attachment_file_response
from cases.charts import daily_attainment_svg
from cases.models import Attachment, Case, MessageSource, Notification, Status, can_work_cases
from cases.text import CleanSearchMixin
from portal import timefmt

# --- Case list: filters and the paginator ---------------------------------------------


def _id_from_query(value: str | None) -> int | None:
    """A row id typed into a URL, or None: ASCII digits ("²" passes str.isdigit but not
    int()) and within PostgreSQL's bigint."""
    if value and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


class AssigneeFilter(admin.SimpleListFilter):
    title = "assignee"
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        choices = [("mine", "Mine"), ("unassigned", "Unassigned")]
        choices += [
            (str(user.pk), str(user))
            for user in selectors.engineers().order_by("full_name", "email")
        ]
        return choices

    def queryset(self, request, queryset):
        value = self.value()
        if value == "mine":
            return queryset.filter(assignee=request.user)
        if value == "unassigned":
            return queryset.filter(assignee__isnull=True)
        if value:
            user_id = _id_from_query(value)
            if user_id is None:
                # Django's answer to a bad filter value: the list again without filters.
                raise IncorrectLookupParameters(f"Not an assignee: {value!r}")
            return queryset.filter(assignee_id=user_id)
        return queryset


class OrganisationFilter(admin.SimpleListFilter):
    """Organisations by name, or by id from a link in the list.

    A search box, not a link per organisation: hundreds of links cost more to render
    than the rest of the list.
    """

    title = "organisation"
    parameter_name = "organisation"
    template = "admin/cases/case/organisation_filter.html"

    def lookups(self, request, model_admin):
        # One placeholder so the filter is shown; the template draws a search box.
        return [("", "")]

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        organisation_id = _id_from_query(value)
        if organisation_id is not None:
            return queryset.filter(organisation_id=organisation_id)
        if value:
            return queryset.filter(organisation__name__icontains=value)
        return queryset

    def choices(self, changelist):
        hidden = []
        for name, values in changelist.params.items():
            if name == self.parameter_name:
                continue
            for value in values if isinstance(values, list) else [values]:
                hidden.append((name, value))
        yield {
            "value": self.value() or "",
            "hidden": hidden,
            "clear_query_string": changelist.get_query_string(remove=[self.parameter_name]),
        }


class WaitingOnCustomerFilter(admin.SimpleListFilter):
    title = "waiting on customer"
    parameter_name = "waiting_days"
    DAYS = (1, 3, 7, 10)
    # Beyond this, "now minus the days" would leave the calendar.
    MAX_DAYS = 36_500

    def lookups(self, request, model_admin):
        return [
            (str(days), f"Longer than {days} day{'s' if days > 1 else ''}") for days in self.DAYS
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value:
            days = _id_from_query(value)
            if days is None or days > self.MAX_DAYS:
                raise IncorrectLookupParameters(f"Not a number of days: {value!r}")
            waiting_since = timezone.now() - timedelta(days=days)
            return queryset.filter(
                status=Status.PENDING_CUSTOMER, pending_since__lte=waiting_since
            )
        return queryset


class LargeTablePaginator(Paginator):
    """A paginator that never counts every row of a big table.

    Unfiltered on PostgreSQL, the planner's row estimate (`pg_class.reltuples`) stands in
    for COUNT(*), which has to read the whole table. Filtered lists are counted up to
    `exact_count_limit` rows only; past that the count says "more than".
    """

    exact_count_limit = 10_000
    # "" for an exact count, else how the count is meant ("about", "more than").
    count_qualifier = ""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not queryset.query.where:
            estimate = self._estimated_rows(queryset)
            if estimate is not None and estimate > self.exact_count_limit:
                self.count_qualifier = "about"
                return estimate
        bounded = queryset.order_by()[: self.exact_count_limit + 1].count()
        if bounded > self.exact_count_limit:
            self.count_qualifier = "more than"
            return self.exact_count_limit
        return bounded

    @staticmethod
    def _estimated_rows(queryset: QuerySet) -> int | None:
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            row = cursor.fetchone()
        # -1 until the table was first analysed.
        return int(row[0]) if row and row[0] >= 0 else None


# Nulls last: cases with no running target come after every due time.
NEXT_DUE = F("response_due_at").asc(nulls_last=True)


def _sorts_by_next_due(queryset: QuerySet) -> bool:
    order_by = queryset.query.order_by
    first = order_by[0] if order_by else None
    return (
        isinstance(first, OrderBy)
        and isinstance(first.expression, F)
        and first.expression.name == "response_due_at"
    )


class CaseChangeList(ChangeList):
    """The case list, which sorted by next due lists only cases with a running target:
    those are the rows of the targets' partial index `response_target_running_due`,
    read in order, where every case would mean sorting the whole table for one page."""

    only_running_targets = False

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        # Read by the template, which says why the other cases are not listed.
        self.only_running_targets = _sorts_by_next_due(queryset)
        if self.only_running_targets:
            queryset = queryset.filter(response_due_at__isnull=False)
        return queryset


# --- The case page: what each button does ---------------------------------------------


@dataclass(frozen=True)
class WorkbenchAction:
    label: str
    form_class: type[forms.Form]
    # (case, engineer, cleaned_data) -> success message; raises CaseActionError.
    run: Callable[[Case, object, dict], str]
    # Whether the case must still be in the status the engineer saw.
    checks_seen_status: bool = True


def _assign(case: Case, engineer, data: dict) -> str:
    """Take (no assignee chosen) or Assign: the case opens if it was New."""
    assignee = data.get("assignee") or engineer
    services.case_give_to(
        case=case, engineer=engineer, assignee=assignee, seen_status=data["seen_status"]
    )
    if assignee == engineer:
        return f"You took {case.reference}."
    return f"{case.reference} is assigned to {assignee}."


def _start_work(case: Case, engineer, data: dict) -> str:
    services.case_start_work(case=case, engineer=engineer)
    return f"{case.reference} is In Progress."


def _request_info(case: Case, engineer, data: dict) -> str:
    case = services.case_request_info(
        case=case, engineer=engineer, message=data["message"], kind=data["kind"]
    )
    deadline = timefmt.display(case.auto_close_at)
    return (
        f"{case.reference} is Pending Customer; the customer was emailed. "
        f"It closes on {deadline} without a reply."
    )


def _resolve(case: Case, engineer, data: dict) -> str:
    services.case_resolve(case=case, engineer=engineer, message=data["message"])
    return f"{case.reference} is Resolved; the customer was asked to confirm or reopen."


def _close(case: Case, engineer, data: dict) -> str:
    services.case_close(case=case, actor=engineer, reason=data["reason"])
    return f"{case.reference} is Closed."


def _reopen(case: Case, engineer, data: dict) -> str:
    case = services.case_reopen(case=case, actor=engineer, message=data["message"])
    return f"{case.reference} is reopened ({case.get_status_display()})."


def _reply(case: Case, engineer, data: dict) -> str:
    services.case_reply(
        case=case,
        author=engineer,
        body=data["body"],
        attachments=data["attachments"],
        source=MessageSource.ADMIN,
    )
    return "Your reply was added to the thread and emailed to the customer."


def _note(case: Case, engineer, data: dict) -> str:
    if data["attachments"]:
        raise exceptions.CaseActionError(
            "Internal notes take text only: attach files to a public reply."
        )
    services.case_add_internal_note(case=case, engineer=engineer, body=data["body"])
    return "Internal note added. Customers never see it."


WORKBENCH_ACTIONS: dict[str, WorkbenchAction] = {
    "take": WorkbenchAction("Take", admin_forms.WorkbenchActionForm, _assign),
    "assign": WorkbenchAction("Assign", admin_forms.AssignForm, _assign),
    "start_work": WorkbenchAction("Start work", admin_forms.WorkbenchActionForm, _start_work),
    "request_info": WorkbenchAction(
        "Request information", admin_forms.RequestInfoForm, _request_info
    ),
    "resolve": WorkbenchAction("Resolve", admin_forms.ResolveForm, _resolve),
    "close": WorkbenchAction("Close case", admin_forms.CloseForm, _close),
    "reopen": WorkbenchAction("Reopen Case", admin_forms.ReopenForm, _reopen),
    "reply": WorkbenchAction(
        "Reply", admin_forms.ThreadMessageForm, _reply, checks_seen_status=False
    ),
    "note": WorkbenchAction(
        "Internal note", admin_forms.ThreadMessageForm, _note, checks_seen_status=False
    ),
}
# Buttons that are state-machine transitions (the rest depend on assignment or are messages).
TRANSITION_ACTIONS = ("start_work", "request_info", "resolve", "close", "reopen")


def available_actions(case: Case, user) -> list[str]:
    """The buttons this engineer may press on this case now, in workbench order."""
    transitions = {t.name for t in case.get_available_user_status_transitions(user)}
    reassignable = case.status not in (Status.NEW, Status.CLOSED)
    names = set(transitions & set(TRANSITION_ACTIONS))
    if "assign" in transitions or (reassignable and case.assignee_id != user.pk):
        names.add("take")
    if "assign" in transitions or reassignable:
        names.add("assign")
    if case.status != Status.CLOSED:
        names |= {"reply", "note"}
    return [name for name in WORKBENCH_ACTIONS if name in names]


# --- Admin ----------------------------------------------------------------------------


class NeverDeleteMixin:
    """Support history is kept for audit: no delete button, action or permission, for
    superusers too."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        actions.pop("delete_selected", None)
        return actions


@admin.register(Case)
class CaseAdmin(NeverDeleteMixin, admin.ModelAdmin):
    # Every column on screen at 1280 pixels beside the filters (admin-workbench.css lays
    # the table out to the width it has; the app sidebar is left out of case pages).
    list_display = [
        "reference_link",
        "subject",
        "next_target",
        "customer",
        "organisation",
        "status",
        "priority",
        "assignee",
        "auto_close",
    ]
    list_display_links = ["reference_link", "subject"]
    list_filter = [
        "status",
        queues.OpenStatusFilter,
        "priority",
        AssigneeFilter,
        OrganisationFilter,
        WaitingOnCustomerFilter,
        targets.NextTargetFilter,
        queues.FirstResponseFilter,
        queues.ReopenedFilter,
    ]
    list_select_related = ["requester", "organisation", "assignee"]
    search_fields = ["subject", "requester__email", "organisation__name"]
    search_help_text = (
        "A reference (CS-1042), or part of the subject, the customer's email or the "
        "organisation's name."
    )
    ordering = ["-last_activity_at", "-id"]
    # About a screen of cases at 1280 × 800, as support desks page their views; each
    # row costs Django's changelist a few dozen cell renderings.
    list_per_page = 30
    # The customer's page of a case would 404 for an engineer.
    view_on_site = False
    paginator = LargeTablePaginator
    # Both would COUNT the whole table on every page view.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["take_cases", "start_work_on_cases", "resolve_cases", "close_cases"]

    fieldsets = [
        (None, {"fields": [
            "reference", "subject", "priority", "status", "requester", "organisation",
            "assignee", "original_engineer", "follow_up_of", "description",
        ]}),
        ("Clocks", {"fields": [
            "auto_close", "pending_since", "resolved_at", "closed_at", "created_at",
            "last_activity_at", "last_customer_activity_at",
        ]}),
        # Folded: the Context panel lists the organisation's recent ratings.
        ("Customer's rating (given with Confirm it worked)", {"classes": ["collapse"], "fields": [
            "rating", "rating_comment", "rated_at",
        ]}),
    ]  # fmt: skip
    readonly_fields = [
        "reference",
        "status",
        "requester",
        "organisation",
        "assignee",
        "original_engineer",
        "follow_up_of",
        "description",
        "auto_close",
        "pending_since",
        "resolved_at",
        "closed_at",
        "created_at",
        "last_activity_at",
        "last_customer_activity_at",
        "rating",
        "rating_comment",
        "rated_at",
    ]

    # -- permissions -----------------------------------------------------------------

    def has_add_permission(self, request) -> bool:
        # Cases are opened by customers (portal or email), never from here.
        return False

    def has_work_permission(self, request: HttpRequest) -> bool:
        return can_work_cases(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and request.user.is_support_engineer

    # -- list ------------------------------------------------------------------------

    def get_queryset(self, request):
        # The related rows the list shows, and the running target's due time (Next
        # target); the case page loads the rest as it needs them.
        return (
            super()
            .get_queryset(request)
            .select_related("requester", "organisation", "assignee")
            .with_response_due()
        )

    def get_object(self, request, object_id, from_field=None):
        # The case page also shows these two (read-only fields): joined, not a query each.
        case_id = _id_from_query(object_id) if from_field is None else None
        if case_id is None:
            return super().get_object(request, object_id, from_field)
        return (
            self.get_queryset(request)
            .select_related("original_engineer", "follow_up_of")
            .filter(pk=case_id)
            .first()
        )

    def get_search_results(self, request, queryset, search_term):
        # Not Django's word-by-word OR across joined tables: on a big table that reads
        # every case. `search_fields` above only names what is searched.
        return selectors.case_search_for_staff(queryset, search_term), False

    @admin.display(description="Reference", ordering="pk")
    def reference_link(self, case: Case) -> str:
        return case.reference

    @admin.display(description="Reference")
    def reference(self, case: Case) -> str:
        return case.reference

    @admin.display(description="Customer", ordering="requester__email")
    def customer(self, case: Case) -> str:
        # A narrow column breaks an address before its domain rather than mid-word.
        local, at, domain = case.requester.email.rpartition("@")
        if not at:
            return case.requester.email
        return format_html("{}<wbr>@{}", local, domain)

    # Times through portal.timefmt, as on the portal: the same text as the admin's
    # DATETIME_FORMAT, without Django's format interpreter for every row.
    @admin.display(description="Auto-close")
    def auto_close(self, case: Case) -> str:
        if case.auto_close_held_reason:
            return f"held: {case.auto_close_held_reason}"
        return timefmt.display(case.auto_close_at) or "—"

    @admin.display(description="Next target", ordering=NEXT_DUE)
    def next_target(self, case: Case) -> str:
        return targets.next_target_cell(case, timezone.now())

    def get_changelist(self, request, **kwargs):
        return CaseChangeList

    # The list and the case page need the screen's width; the breadcrumbs lead to the
    # rest of the admin.
    WIDE = {"is_nav_sidebar_enabled": False}

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, {**self.WIDE, **(extra_context or {})})
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            # The sidebar's queues with their counts (one query), for includes/queues.html.
            context["queues"] = queues.queue_links(context["cl"], request.user)
        return response

    # -- bulk actions: each case through its service, refusals reported per case ----

    def _bulk(self, request, queryset, verb: str, run: Callable[[Case], object]) -> None:
        done, refused = [], []
        for case in queryset.order_by("pk"):
            try:
                run(case)
            except exceptions.CaseActionError as error:
                refused.append(f"{case.reference}: {error}")
            else:
                done.append(case.reference)
        if done:
            self.message_user(request, f"{verb}: {', '.join(done)}.", messages.SUCCESS)
        for refusal in refused:
            self.message_user(request, f"Not {verb.lower()}: {refusal}", messages.ERROR)

    @admin.action(description="Assign to me", permissions=["work"])
    def take_cases(self, request, queryset):
        self._bulk(
            request,
            queryset,
            "Assigned to you",
            lambda case: services.case_give_to(case=case, engineer=request.user),
        )

    @admin.action(description="Start work (Open → In Progress)", permissions=["work"])
    def start_work_on_cases(self, request, queryset):
        self._bulk(
            request,
            queryset,
            "Started",
            lambda case: services.case_start_work(case=case, engineer=request.user),
        )

    @admin.action(description="Resolve (the customer is asked to confirm)", permissions=["work"])
    def resolve_cases(self, request, queryset):
        self._bulk(
            request,
            queryset,
            "Resolved",
            lambda case: services.case_resolve(case=case, engineer=request.user),
        )

    @admin.action(description="Close", permissions=["work"])
    def close_cases(self, request, queryset):
        self._bulk(
            request,
            queryset,
            "Closed",
            lambda case: services.case_close(case=case, actor=request.user),
        )

    # -- the case page ---------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        # Subject and priority are the only editable fields; the service records them.
        services.case_update_details(
            case=obj, engineer=request.user, subject=obj.subject, priority=obj.priority
        )

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/workbench/<slug:action>/",
                self.admin_site.admin_view(self.workbench_action_view),
                name="{}_{}_workbench".format(*info),
            ),
            path(
                "satisfaction/",
                self.admin_site.admin_view(self.satisfaction_view),
                name="{}_{}_satisfaction".format(*info),
            ),
            path(
                "service-levels/",
                self.admin_site.admin_view(self.service_levels_view),
                name="{}_{}_service_levels".format(*info),
            ),
            path(
                "<path:object_id>/macros/<int:macro_id>/",
                never_cache(self.macro_text_view),
                name="{}_{}_macro_text".format(*info),
            ),
            path(
                "<path:object_id>/presence/",
                never_cache(self.presence_view),
                name="{}_{}_presence".format(*info),
            ),
            path(
                "<path:object_id>/attachments/<int:attachment_id>/",
                self.admin_site.admin_view(self.attachment_view),
                name="{}_{}_attachment".format(*info),
            ),
            *super().get_urls(),
        ]

    def satisfaction_view(self, request: HttpRequest) -> HttpResponse:
        """Share of good ratings per engineer and per month (staff who may view cases)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = selectors.satisfaction_report()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Satisfaction report",
            **report,
        }
        return TemplateResponse(request, "admin/cases/case/satisfaction.html", context)

    def service_levels_view(self, request: HttpRequest) -> HttpResponse:
        """Targets met and missed per plan and priority over the last 30 days, and the
        daily attainment as a chart (staff who may view cases)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        zone = timefmt.zone()
        report = selectors.service_level_report(now=timezone.now(), zone=zone)
        rows, total = targets.report_rows(report["per_terms"])
        days = targets.report_days(report["per_day"], report["first_day"], report["last_day"])
        first = report["first_day"]
        period = f"{first.day} {timefmt.MONTH_ABBREVIATIONS[first.month]} {first.year} to today"
        svg = daily_attainment_svg(
            days, chart_id="daily-attainment", title=f"Daily attainment, {period}"
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Service levels",
            "period": period,
            "days_count": len(days),
            "first_day": report["first_day"],
            "rows": rows,
            "total": total,
            "days": days,
            # Every text in it is escaped by cases.charts.
            "chart": mark_safe(svg),  # noqa: S308
        }
        return TemplateResponse(request, "admin/cases/case/service_levels.html", context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                self._workbench_context(request, obj, context.get("workbench_bound_forms") or {})
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _workbench_context(self, request, case: Case, bound_forms: dict) -> dict:
        can_work = self.has_work_permission(request)
        actions = available_actions(case, request.user) if can_work else []
        action_forms = {}
        for name in actions:
            form_class = WORKBENCH_ACTIONS[name].form_class
            if name == "note":
                continue  # the note shares the reply's box
            action_forms[name] = bound_forms.get(name) or form_class(
                prefix=name, initial={"seen_status": case.status}
            )
        if "note" in bound_forms:
            action_forms["reply"] = bound_forms["note"]
        # A refused button that is no longer available still shows what was typed.
        stale_actions = [
            name for name in bound_forms if name not in action_forms and name != "note"
        ]
        for name in stale_actions:
            action_forms[name] = bound_forms[name]
        return {
            "workbench": True,
            "case": case,
            "can_work": can_work,
            "actions": actions,
            "action_forms": action_forms,
            "stale_actions": stale_actions,
            "action_urls": {
                name: reverse("admin:cases_case_workbench", args=[case.pk, name])
                for name in WORKBENCH_ACTIONS
            },
            "macros": admin_macros.picker_macros() if can_work else [],
            "presence_beat_seconds": presence.BEAT_SECONDS,
            "participants": selectors.case_participants(case=case),
            "thread": selectors.case_full_thread(case=case),
            "history": selectors.case_history(case=case),
            "notifications": case.notifications.order_by("-created_at", "-id"),
            "service_level": targets.service_level_panel(
                case, selectors.case_response_targets(case=case), timezone.now()
            ),
            "context": selectors.case_context(case=case),
        }

    def history_view(self, request, object_id, extra_context=None):
        """The HISTORY button: the case's own history (transitions, assignments,
        sharing and edits, by customers, engineers and the scheduler), not only the
        admin's log of edits made here."""
        case = self.get_object(request, unquote(object_id))
        history = selectors.case_history(case=case) if case is not None else []
        return super().history_view(
            request, object_id, {**self.WIDE, "history": history, **(extra_context or {})}
        )

    def workbench_action_view(
        self, request: HttpRequest, object_id: str, action: str
    ) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        spec = WORKBENCH_ACTIONS.get(action)
        if spec is None:
            raise Http404("No such action.")
        case = self.get_object(request, unquote(object_id))
        if case is None:
            raise Http404("No such case.")
        if not self.has_work_permission(request):
            raise PermissionDenied
        prefix = "reply" if action == "note" else action
        form = spec.form_class(request.POST, request.FILES, prefix=prefix)
        if not form.is_valid():
            for error in form.non_field_errors() + [e for f in form for e in f.errors]:
                messages.error(request, f"{spec.label}: {error}")
            return self._workbench_refused(request, object_id, action, form, status=400)
        seen_status = form.cleaned_data.get("seen_status")
        if spec.checks_seen_status and seen_status != case.status:
            messages.error(
                request,
                f"{spec.label} was not done: {case.reference} changed while you were "
                "looking at it "
                f"(it was {Status(seen_status).label}, it is {case.get_status_display()} now; "
                "the customer may have acted first). Check the case and try again.",
            )
            return self._workbench_refused(request, object_id, action, form, status=409)
        try:
            # A macro counts as used only if the message it filled is sent.
            with transaction.atomic():
                done = spec.run(case, request.user, form.cleaned_data)
                services.macro_used(form.cleaned_data.get("macro"))
        except exceptions.CaseActionError as error:
            messages.error(request, f"{spec.label} was not done: {error}")
            return self._workbench_refused(request, object_id, action, form, status=409)
        messages.success(request, done)
        return redirect("admin:cases_case_change", case.pk)

    # A refused button's typed text, kept for the case page the refusal redirects to.
    REFUSED_SESSION_KEY = "cases_workbench_refused"

    def _workbench_refused(
        self, request, object_id: str, action: str, form, *, status: int
    ) -> HttpResponse:
        """Back to the case page, which shows the error and keeps what the engineer typed
        (files cannot be kept: the browser asks for them again)."""
        request.session[self.REFUSED_SESSION_KEY] = {
            "case": unquote(object_id),
            "action": action,
            "prefix": form.prefix,
            "data": {
                name: values
                for name, values in request.POST.lists()
                if name != "csrfmiddlewaretoken"
            },
            "status": status,
        }
        response = redirect("admin:cases_case_change", object_id)
        response.status_code = 303  # See Other: the page is fetched with GET
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        refused = None
        stash = request.session.get(self.REFUSED_SESSION_KEY)
        if request.method == "GET" and stash and stash["case"] == unquote(object_id):
            refused = request.session.pop(self.REFUSED_SESSION_KEY)
            data = QueryDict(mutable=True)
            for name, values in refused["data"].items():
                data.setlist(name, values)
            form = WORKBENCH_ACTIONS[refused["action"]].form_class(data, prefix=refused["prefix"])
            form.is_valid()  # its errors, if it was refused for them
            extra_context = {
                **(extra_context or {}),
                "workbench_bound_forms": {refused["action"]: form},
            }
        extra_context = {**self.WIDE, **(extra_context or {})}
        response = super().change_view(request, object_id, form_url, extra_context)
        if refused is not None:
            # The page that says why the button was refused answers as the button did.
            response.status_code = refused["status"]
        return response

    def _case_for_engineer(self, request: HttpRequest, object_id: str) -> Case:
        """The case of a workbench helper view (JSON for the case page's scripts): a 404,
        not the admin's login page, for anyone who may not work it."""
        user = request.user
        if not (user.is_active and user.is_staff and self.has_work_permission(request)):
            raise Http404("No such case.")
        case = self.get_object(request, unquote(object_id))
        if case is None or not self.has_view_permission(request, case):
            raise Http404("No such case.")
        return case

    def macro_text_view(self, request: HttpRequest, object_id: str, macro_id: int):
        """GET: a macro's text filled in for this case and engineer (changes nothing)."""
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        case = self._case_for_engineer(request, object_id)
        return admin_macros.macro_text_view(request, case, macro_id)

    def presence_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST (with CSRF), every few seconds from the case page: this engineer is here
        (typing or not); the answer names the other engineers here."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        case = self._case_for_engineer(request, object_id)
        if request.POST.get("left") == "1":
            presence.leave(case.pk, request.user)
            return JsonResponse({"others": []})
        others = presence.beat(case.pk, request.user, typing=request.POST.get("typing") == "1")
        return JsonResponse(
            {"others": [{"name": other.name, "typing": other.typing} for other in others]}
        )

    def attachment_view(
        self, request: HttpRequest, object_id: str, attachment_id: int
    ) -> FileResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        case_id = _id_from_query(unquote(object_id))
        attachment = (
            Attachment.objects.filter(pk=attachment_id, message__case_id=case_id).first()
            if case_id is not None
            else None
        )
        if attachment is None:
            raise Http404("No such attachment.")
        return attachment_file_response(attachment)


@admin.register(Notification)
class NotificationAdmin(CleanSearchMixin, NeverDeleteMixin, admin.ModelAdmin):
    """The outbox across all cases, read-only: what was sent, when, and how it went."""

    # The case by its reference, the address under the kind and the reason under the
    # state: the columns fit at 1280 pixels with the admin's sidebar and filters open.
    list_display = ["created_at", "case_reference", "email", "outcome"]
    list_filter = ["state", "kind", "possible_duplicate"]
    list_select_related = ["case"]
    search_fields = ["to_email", "subject"]
    paginator = LargeTablePaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Case", ordering="case_id")
    def case_reference(self, notification: Notification) -> str:
        return notification.case.reference if notification.case_id else "— (many cases)"

    class Media:
        css = {"all": ["css/admin-workbench.css"]}

    @admin.display(description="Email", ordering="kind")
    def email(self, notification: Notification) -> str:
        return format_html(
            '{}<br><span class="notification-to">to {}</span>',
            notification.get_kind_display(),
            notification.to_email,
        )

    @admin.display(description="State", ordering="state")
    def outcome(self, notification: Notification) -> str:
        """The state and when it was sent, with why it was not (cancelled) or what went
        wrong last."""
        return notification_outcome(notification, limit=160)

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        pk = Case.pk_from_reference(search_term) if search_term else None
        if pk is not None:
            results |= queryset.filter(case_id=pk)
        return results, may_have_duplicates


def notification_outcome(notification: Notification, *, limit: int | None = None) -> str:
    """`Cancelled` and, under it, why it was not sent; a failure's last error; whether
    it may have gone out twice. Escaped HTML for the admin's cells."""
    state = format_html("<strong>{}</strong>", notification.get_state_display())
    if notification.sent_at:
        state = format_html("{}, sent {}", state, timefmt.display(notification.sent_at))
    if notification.attempts > 1:
        state = format_html("{} after {} attempts", state, notification.attempts)
    if notification.possible_duplicate:
        state = format_html('{} <strong class="wb-warning">possible duplicate</strong>', state)
    note = notification.last_error
    if not note:
        return state
    if limit is not None:
        note = Truncator(note).chars(limit)
    return format_html('{}<br><span class="notification-reason">{}</span>', state, note)
