"""Customer pages: My Cases, one case, open a case, and the actions on a case."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.policy import closed_for_no_reply_text, pending_customer_timeout, resolved_timeout

from . import email_actions, exceptions, selectors, services
from .attachments import attachment_file_response
from .forms import (
    ApprovalForm,
    CaseOpenForm,
    CloseForm,
    ConfirmForm,
    ReopenForm,
    ReplyForm,
    ShareForm,
)
from .models import STATUS_INFO, Case, Status
from .presenters import case_rows, response_promise, service_level_rows
from .services.participants import colleague_addresses, person_name
from .status_diagram import status_flow
from .text import clean_line


def _case_or_404(request: HttpRequest, reference: str) -> Case:
    case = selectors.case_get_for_customer(user=request.user, reference=reference)
    if case is None:
        raise Http404("No such case.")
    return case


def _safe_next(request: HttpRequest, fallback: Case) -> str:
    """Where to go after an action: a same-site `next` (My Cases with its filters) or the case."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback.get_absolute_url()


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in (*Status.values, selectors.ALL):
        status = ""  # the default: the active cases
    query = clean_line(request.GET.get("q", ""))[:100]
    scopes = selectors.customer_scopes(request.user)
    scope = request.GET.get("scope", "")
    if scope not in scopes:
        scope = selectors.MINE  # the default, and a scope this user may not choose
    context = _case_list_context(request, status=status, query=query, scope=scope, scopes=scopes)
    title = _case_list_title(status=status, query=query, scope=scope)
    return render(request, "cases/case_list.html", {**context, "title": title})


# The scopes of My Cases, as the switch above the list names them.
SCOPE_LABELS = {
    selectors.MINE: "Cases I opened",
    selectors.SHARED: "Shared with me",
    selectors.ORGANISATION: "My organisation's cases",
}


def _filter_label(status: str) -> str:
    if status == selectors.ALL:
        return "All cases"
    return Status(status).label if status else "Active cases"


def _case_list_title(*, status: str, query: str, scope: str) -> str:
    """The page title names what the list shows: a screen reader announces it first."""
    parts = [_filter_label(status)]
    if query.strip():
        parts.insert(0, f"Search “{query.strip()}”")
    parts.append("My Cases" if scope == selectors.MINE else SCOPE_LABELS[scope])
    return " · ".join(parts)


def _case_list_context(
    request: HttpRequest, *, status: str, query: str, scope: str, scopes: tuple[str, ...]
) -> dict:
    cases = selectors.case_rows_for_customer(
        user=request.user, status=status or selectors.ACTIVE, query=query, scope=scope
    )
    # One query for every tab's count, following the search like the list does.
    counts = selectors.case_status_counts_for_customer(user=request.user, scope=scope, query=query)
    active = sum(counts[value] for value in selectors.ACTIVE_STATUSES)
    total = sum(counts.values())
    paginator = Paginator(cases, settings.CASES_PER_PAGE)
    # The counts already say how many rows the list has: no second COUNT.
    paginator.count = total if status == selectors.ALL else counts[status] if status else active
    page = paginator.get_page(request.GET.get("page"))
    # Pagination links keep the filters; `page` is appended by the include.
    filters = QueryDict(mutable=True)
    for key, value in (
        ("scope", "" if scope == selectors.MINE else scope),
        ("status", status),
        ("q", query),
    ):
        if value:
            filters[key] = value
    return {
        "page": page,
        "page_query": f"{filters.urlencode()}&" if filters else "",
        # Cases someone else opened name who did.
        "rows": case_rows(
            page.object_list, user=request.user, show_opener=scope != selectors.MINE
        ),
        "next_url": request.get_full_path(),
        "status": status,
        "query": query,
        # The scope as the list's links carry it ("" for the default).
        "scope": "" if scope == selectors.MINE else scope,
        "scopes": [
            {"value": "" if value == selectors.MINE else value, "label": SCOPE_LABELS[value]}
            for value in scopes
        ],
        "counts": counts,
        "active": active,
        "total": total,
        "all": selectors.ALL,
        "filter_label": _filter_label(status),
        # Pending Customer keeps the spec's name; the banner says it needs a reply.
        "tabs": [
            {"value": value, "label": Status(value).label, "count": counts[value]}
            for value in Status.values
        ],
        "needs_reply": counts[Status.PENDING_CUSTOMER],
    }


@login_required
@require_http_methods(["GET", "POST"])
def case_open(request: HttpRequest) -> HttpResponse:
    form = CaseOpenForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_open(
                requester=request.user,
                subject=form.cleaned_data["subject"],
                description=form.cleaned_data["description"],
                priority=form.cleaned_data["priority"],
                attachments=form.cleaned_data["attachments"],
                colleagues=colleague_addresses(form.cleaned_data["colleagues"]),
            )
        except exceptions.ParticipantsRefused as error:
            for problem in error.problems:
                form.add_error("colleagues", problem)
        except exceptions.CaseActionError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Case {case.reference} opened. We will be in touch soon.")
            return redirect(case)
    # A refused form answers 400, as every refused form of the portal does.
    status = 400 if form.errors else 200
    return render(request, "cases/case_open.html", {"form": form}, status=status)


def _detail_context(request: HttpRequest, case: Case, **forms) -> dict:
    refused = [form for form in forms.values() if form is not None and form.errors]
    participants = selectors.case_participants(case=case)
    return {
        # The refused form, summed up at the top of the page with links to its fields.
        "error_form": refused[0] if refused else None,
        "case": case,
        "info": case.status_info,
        "thread": selectors.case_public_thread(case=case),
        "question": selectors.case_open_question(case=case),
        "opened_by_colleague": case.requester_id != request.user.pk,
        "closed_note": closed_for_no_reply_text() if case.closed_for_no_reply else "",
        "response_promise": response_promise(case),
        "history": selectors.case_history_for_customer(case=case),
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
        "close_form": forms.get("close_form") or CloseForm(),
        "approval_form": forms.get("approval_form") or ApprovalForm(),
        "confirm_form": forms.get("confirm_form") or ConfirmForm(),
        # People on this case: every customer of it may add and remove colleagues.
        "participants": participants,
        "share_form": forms.get("share_form") or ShareForm(),
        "colleague_suggestions": selectors.colleagues_to_share_with(
            case=case, participants=participants
        ),
        # The buttons: the transitions the state machine lets this customer fire now.
        **case.customer_actions(request.user),
    }


def _case_page(request: HttpRequest, case: Case, *, status: int = 200, **forms) -> HttpResponse:
    """The case page, with any refused form showing what the customer typed."""
    context = _detail_context(request, case, **forms)
    context["refused"] = context["error_form"] is not None
    return render(request, "cases/case_detail.html", context, status=status)


@login_required
@require_GET
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    return _case_page(request, _case_or_404(request, reference))


def _refused(
    request: HttpRequest, case: Case, error: Exception, *, typed: str = "", **forms
) -> HttpResponse:
    """Show why an action was refused on the case page, keeping what was typed.

    The case may have moved on (closed a moment ago, reopened by a colleague), so the
    text goes into the form the case offers now: the reply box, or Reopen Case's message.
    """
    case = selectors.case_get_for_customer(user=request.user, reference=case.reference) or case
    if typed.strip():
        typed_note = " What you wrote is kept below."
        if case.status == Status.CLOSED:
            forms["reopen_form"] = ReopenForm(initial={"message": typed})
            forms.pop("reply_form", None)
        else:
            forms.setdefault("reply_form", ReplyForm(initial={"body": typed}))
    else:
        typed_note = ""
    messages.error(request, f"{error}{typed_note}")
    return _case_page(request, case, status=409, **forms)


@login_required
@require_POST
def case_reply(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _case_page(request, case, status=400, reply_form=form)
    body = form.cleaned_data["body"]
    try:
        message = services.case_reply(
            case=case, author=request.user, body=body, attachments=form.cleaned_data["attachments"]
        )
    except exceptions.CaseActionError as error:
        return _refused(request, case, error, typed=body, reply_form=form)
    # The case as the service left it. Not refresh_from_db(): django-fsm unprotects the
    # status field (shared by every thread) while it runs, failing concurrent requests.
    case = message.case
    messages.success(
        request, f"Your reply has been added to the case. Status: {case.get_status_display()}."
    )
    return redirect(case)


@login_required
@require_POST
def case_answer_approval(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    form = ApprovalForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, status=400, approval_form=form)
    approved = form.cleaned_data["decision"] == "approve"
    try:
        services.case_answer_approval(
            case=case,
            customer=request.user,
            approved=approved,
            comment=form.cleaned_data["comment"],
        )
    except exceptions.CaseActionError as error:
        return _refused(request, case, error, typed=form.cleaned_data["comment"])
    messages.success(request, "Thank you: your answer has been sent to the engineer.")
    return redirect(case)


@login_required
@require_POST
def case_mark_resolved(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    try:
        services.case_mark_resolved(case=case, customer=request.user)
    except exceptions.CaseActionError as error:
        messages.error(request, f"{case.reference}: {error}")
    else:
        messages.success(
            request,
            f"{case.reference} is marked as resolved. It closes by itself in "
            f"{settings.CASE_RESOLVED_AUTO_CLOSE_DAYS} days unless you reopen it.",
        )
    return redirect(_safe_next(request, case))


@login_required
@require_POST
def case_close(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["confirm"][0])
        return redirect(case)
    try:
        services.case_close(case=case, actor=request.user)
    except exceptions.CaseActionError as error:
        messages.error(request, f"{case.reference}: {error}")
    else:
        messages.success(request, f"{case.reference} is closed. You can reopen it at any time.")
    return redirect(case)


@login_required
@require_POST
def case_add_participant(request: HttpRequest, reference: str) -> HttpResponse:
    """Add a colleague (or several): all of them, or none and the form says why."""
    case = _case_or_404(request, reference)
    form = ShareForm(request.POST)
    if form.is_valid():
        try:
            added = services.case_add_participants(
                case=case,
                actor=request.user,
                addresses=colleague_addresses(form.cleaned_data["email"]),
                message=form.cleaned_data["message"],
            )
        except exceptions.ParticipantsRefused as error:
            for problem in error.problems:
                form.add_error("email", problem)
        except exceptions.CaseActionError as error:
            form.add_error(None, str(error))
        else:
            names = _and_list([person_name(participant.user) for participant in added])
            messages.success(
                request, f"{names} can now follow {case.reference}. We emailed them to say so."
            )
            return redirect(case)
    return _case_page(request, case, status=400, share_form=form)


def _and_list(names: list[str]) -> str:
    """`A`, `A and B`, `A, B and C`."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


@login_required
@require_POST
def case_remove_participant(
    request: HttpRequest, reference: str, participant_id: int
) -> HttpResponse:
    case = _case_or_404(request, reference)
    try:
        removed = services.case_remove_participant(
            case=case, actor=request.user, participant_id=participant_id
        )
    except exceptions.NotAParticipant as error:
        raise Http404(str(error)) from error
    if removed.user_id != request.user.pk:
        messages.success(
            request, f"{person_name(removed.user)} no longer follows {case.reference}."
        )
        return redirect(case)
    messages.success(request, f"You no longer follow {case.reference}.")
    # Without the participation, the case may no longer be theirs to see.
    if selectors.case_get_for_customer(user=request.user, reference=case.reference) is None:
        return redirect("cases:list")
    return redirect(case)


def _confirmed_message(case: Case) -> str:
    return f"Thank you: {case.reference} is closed. You can reopen it at any time."


@login_required
@require_POST
def case_confirm(request: HttpRequest, reference: str) -> HttpResponse:
    """Confirm it worked: a Resolved case closes at once (from the case page or My Cases)."""
    case = _case_or_404(request, reference)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, status=400, confirm_form=form)
    try:
        services.case_confirm_resolution(
            case=case,
            customer=request.user,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
        )
    except exceptions.CaseActionError as error:
        messages.error(request, f"{case.reference}: {error}")
    else:
        messages.success(request, _confirmed_message(case))
    return redirect(_safe_next(request, case))


# The link itself is a credential: neither the page nor its answer may be kept by a cache.
@never_cache
@require_http_methods(["GET", "POST"])
def email_action(request: HttpRequest, action: str, token: str) -> HttpResponse:
    """A signed link from the resolved email: a page with one button, then that action.

    Works without signing in, for this action on this case only; the POST checks the
    link again. A forged, used or expired link explains itself and offers sign-in.
    """
    link = email_actions.check(action, token)
    # Times as the email showed them: in its recipient's zone, whoever follows the link.
    zone = link.recipient.shown_zone if link.recipient is not None else None
    with timezone.override(zone or timezone.get_current_timezone()):
        return _email_action_page(request, link, action, token)


def _email_action_page(
    request: HttpRequest, link: email_actions.EmailAction, action: str, token: str
) -> HttpResponse:
    form = (ConfirmForm if action == email_actions.CONFIRM else ReopenForm)(
        request.POST if request.method == "POST" else None
    )
    valid = link.state is email_actions.LinkState.VALID
    if valid and request.method == "POST" and form.is_valid():
        try:
            _email_action_apply(link, form.cleaned_data)
        except exceptions.CaseActionError:
            # The case moved on between the check and its lock: explain as a used link.
            link = email_actions.check(action, token)
        else:
            context = {"action": action, "case": link.case, "login_url": _login_url(link.case)}
            return render(request, "cases/email_action_done.html", context)
    status = {
        email_actions.LinkState.VALID: 400 if form.is_bound else 200,
        email_actions.LinkState.INVALID: 400,
        email_actions.LinkState.USED: 410,
        email_actions.LinkState.EXPIRED: 410,
    }[link.state]
    context = {
        "link": link,
        "state": link.state.value,
        "action": action,
        "case": link.case,
        "form": form,
        "login_url": _login_url(link.case),
    }
    return render(request, "cases/email_action.html", context, status=status)


def _email_action_apply(link: email_actions.EmailAction, data: dict) -> None:
    if link.action == email_actions.CONFIRM:
        services.case_confirm_resolution(
            case=link.case, customer=link.recipient, rating=data["rating"], comment=data["comment"]
        )
    else:
        services.case_reopen(case=link.case, actor=link.recipient, message=data["message"])


def _login_url(case: Case | None) -> str:
    from django.contrib.auth.views import redirect_to_login

    target = case.get_absolute_url() if case is not None else "/cases/"
    return redirect_to_login(target)["Location"]


@login_required
@require_POST
def case_reopen(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, status=400, reopen_form=form)
    try:
        case = services.case_reopen(
            case=case, actor=request.user, message=form.cleaned_data["message"]
        )
    except exceptions.CaseActionError as error:
        return _refused(request, case, error, typed=form.cleaned_data["message"])
    who = f"back with {case.assignee}" if case.assignee else "waiting for an engineer to take it"
    messages.success(request, f"{case.reference} is reopened, {who}. Its full history is kept.")
    return redirect(case)


@login_required
@require_GET
def attachment_download(request: HttpRequest, reference: str, attachment_id: int) -> FileResponse:
    attachment = selectors.attachment_get_for_customer(
        user=request.user, reference=reference, attachment_id=attachment_id
    )
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment_file_response(attachment)


@require_GET
def help_case_statuses(request: HttpRequest) -> HttpResponse:
    context = {
        "statuses": [STATUS_INFO[value] for value in Status.values],
        "pending_days": pending_customer_timeout().days,
        "resolved_days": resolved_timeout().days,
        "flow": status_flow(),
    }
    return render(request, "help/case_statuses.html", context)


def _service_levels_context(request: HttpRequest) -> dict:
    """What both service-level help pages show: each priority's row of targets per plan,
    the plans, and the signed-in customer's own plan, put first so that on a phone it is
    the column in view, the others cheapest first after it."""
    priorities, plans = selectors.service_level_policy()
    own_plan = selectors.plan_of_customer(request.user)
    if own_plan is not None:
        plans.sort(key=lambda plan: plan != own_plan)
    return {
        "rows": service_level_rows(priorities, plans),
        "plans": plans,
        "own_plan": own_plan,
    }


@require_GET
def help_case_priorities(request: HttpRequest) -> HttpResponse:
    return render(request, "help/case_priorities.html", _service_levels_context(request))


@require_GET
def help_plan_comparison(request: HttpRequest) -> HttpResponse:
    context = _service_levels_context(request)
    plans = context["plans"]
    names = list(dict.fromkeys(name for plan in plans for name in plan.features))
    context["features"] = [
        (name, [plan.features.get(name, "—") for plan in plans]) for name in names
    ]
    return render(request, "help/plan_comparison.html", context)
