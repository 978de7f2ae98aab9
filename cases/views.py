"""Customer pages: My Cases, one case, open a case, and the actions on a case."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors, services
from .forms import ApprovalForm, CaseOpenForm, CloseForm, ReopenForm, ReplyForm
from .models import STATUS_INFO, Case, InfoRequestKind, Status, pending_customer_timeout, resolved_timeout


def _case_or_404(request: HttpRequest, reference: str) -> Case:
    case = selectors.case_get_for_customer(user=request.user, reference=reference)
    if case is None:
        raise Http404("No such case.")
    return case


def _case_actions(case: Case) -> dict[str, bool]:
    """What a customer can do on this case now (templates show only these)."""
    return {
        "can_reply": case.status != Status.CLOSED,
        "can_mark_resolved": case.status in (Status.NEW, Status.OPEN, Status.IN_PROGRESS, Status.PENDING_CUSTOMER),
        "can_close": case.status != Status.CLOSED,
        "can_reopen": case.status in (Status.RESOLVED, Status.CLOSED),
        "can_answer_approval": case.status == Status.PENDING_CUSTOMER
        and case.info_request_kind == InfoRequestKind.APPROVAL,
    }


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in Status.values:
        status = ""
    query = request.GET.get("q", "")[:100]
    membership = getattr(request.user, "membership", None)
    can_view_organisation = bool(membership and membership.can_view_organisation_cases)
    organisation = can_view_organisation and request.GET.get("scope") == "organisation"
    cases = selectors.case_list_for_customer(
        user=request.user, status=status or None, query=query, organisation=organisation
    )
    page = Paginator(cases, settings.CASES_PER_PAGE).get_page(request.GET.get("page"))
    counts = selectors.case_status_counts_for_customer(user=request.user, organisation=organisation)
    context = {
        "page": page,
        "cases": page.object_list,
        "status": status,
        "query": query,
        "organisation": organisation,
        "can_view_organisation": can_view_organisation,
        "counts": counts,
        "total": sum(counts.values()),
        "statuses": [STATUS_INFO[value] for value in Status.values],
    }
    return render(request, "cases/case_list.html", context)


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
            )
        except services.CaseActionError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Case {case.reference} opened. We will be in touch soon.")
            return redirect(case)
    return render(request, "cases/case_open.html", {"form": form})


def _detail_context(request: HttpRequest, case: Case, **forms) -> dict:
    return {
        "case": case,
        "info": case.status_info,
        "thread": selectors.case_public_thread(case=case),
        "history": selectors.case_history(case=case),
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
        "close_form": forms.get("close_form") or CloseForm(),
        "approval_form": forms.get("approval_form") or ApprovalForm(),
        **_case_actions(case),
    }


@login_required
@require_GET
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    return render(request, "cases/case_detail.html", _detail_context(request, case))


def _refused(request: HttpRequest, case: Case, error: Exception, **forms) -> HttpResponse:
    """Show why an action was refused on the case page, keeping what was typed."""
    messages.error(request, str(error))
    case.refresh_from_db()
    return render(request, "cases/case_detail.html", _detail_context(request, case, **forms), status=409)


@login_required
@require_POST
def case_reply(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(
            request, "cases/case_detail.html", _detail_context(request, case, reply_form=form), status=400
        )
    try:
        services.case_reply(
            case=case,
            author=request.user,
            body=form.cleaned_data["body"],
            attachments=form.cleaned_data["attachments"],
        )
    except services.CaseActionError as error:
        return _refused(request, case, error, reply_form=form)
    messages.success(request, "Your reply has been added to the case.")
    return redirect(case)


@login_required
@require_POST
def case_answer_approval(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    form = ApprovalForm(request.POST)
    if not form.is_valid():
        return render(
            request, "cases/case_detail.html", _detail_context(request, case, approval_form=form), status=400
        )
    approved = form.cleaned_data["decision"] == "approve"
    try:
        services.case_answer_approval(
            case=case, customer=request.user, approved=approved, comment=form.cleaned_data["comment"]
        )
    except services.CaseActionError as error:
        return _refused(request, case, error, approval_form=form)
    messages.success(request, "Thank you: your answer has been sent to the engineer.")
    return redirect(case)


@login_required
@require_POST
def case_mark_resolved(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    try:
        services.case_mark_resolved(case=case, customer=request.user)
    except services.CaseActionError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"{case.reference} is marked as resolved. It closes by itself in "
            f"{settings.CASE_RESOLVED_AUTO_CLOSE_DAYS} days unless you reopen it.",
        )
    return redirect(request.POST.get("next") == "list" and "cases:list" or case)


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
    except services.CaseActionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{case.reference} is closed. You can reopen it at any time.")
    return redirect(case)


@login_required
@require_POST
def case_reopen(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        return render(
            request, "cases/case_detail.html", _detail_context(request, case, reopen_form=form), status=400
        )
    try:
        services.case_reopen(case=case, actor=request.user, message=form.cleaned_data["message"])
    except services.CaseActionError as error:
        return _refused(request, case, error, reopen_form=form)
    messages.success(request, f"{case.reference} is reopened, with its full history.")
    return redirect(case)


@login_required
@require_GET
def attachment_download(request: HttpRequest, reference: str, attachment_id: int) -> FileResponse:
    attachment = selectors.attachment_get_for_customer(
        user=request.user, reference=reference, attachment_id=attachment_id
    )
    if attachment is None:
        raise Http404("No such attachment.")
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def help_case_statuses(request: HttpRequest) -> HttpResponse:
    context = {
        "statuses": [STATUS_INFO[value] for value in Status.values],
        "pending_days": pending_customer_timeout().days,
        "resolved_days": resolved_timeout().days,
    }
    return render(request, "help/case_statuses.html", context)
