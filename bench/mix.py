"""The multi-user mix: what many customers and engineers do at once, writes included.

Every person has their own session and CSRF cookie, so nothing one of them is served can
be reused for another. Customers (the 10,000-case customer among them) read My Cases,
filter it by status, read their cases and their organisation's list, and reply (about
2 % of all requests) so that lists, counts and threads really change under the load;
engineers read the admin case list (as it opens, and ordered by the next reply due),
search it and open cases, among them the big customer's, whose Context panel (the
customer's and organisation's other cases) is the largest.

Each page is reported with the time people wait for it (wrk, per request, queueing
included) and the time a web worker spends on it (gunicorn's access log). The floor,
the cheapest signed-in page, is part of the mix, so it is measured under the same load;
a page's share of the floor is the floor's worker time over the page's: 30 % means that
serving the page costs as much as serving the floor 3.3 times, which is what the page's
requests/s alone would be as a share of the floor's.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR = "floor"

# A header the Lua script sends and gunicorn logs, to tell the pages apart in its log.
PAGE_HEADER = "X-Bench-Page"
ACCESS_LOG_FORMAT = "%({x-bench-page}i)s %(s)s %(D)s"

STATUS_FILTERS = ["pending_customer", "resolved", "closed", "open", "in_progress", "new", "all"]


@dataclass(frozen=True)
class MixPage:
    key: str
    name: str
    share: float  # of all requests in the mix


PAGES = [
    # The floor is measured inside the mix, under the same load as every page.
    MixPage(FLOOR, "floor: signed-in ping", 0.02),
    MixPage("my_cases_big", "My Cases, 10,000 cases", 0.05),
    MixPage("my_cases", "My Cases, other customers", 0.22),
    MixPage("status_filter", "My Cases, a status filter", 0.14),
    MixPage("case_page", "a case page (customer)", 0.28),
    MixPage("organisation", "the organisation's cases", 0.07),
    MixPage("reply", "reply (POST)", 0.02),
    MixPage("admin_list", "admin case list", 0.04),
    MixPage("admin_next_due", "admin list by next due", 0.03),
    MixPage("admin_search", "admin search", 0.07),
    MixPage("admin_case", "admin case page", 0.03),
    MixPage("admin_case_context", "admin case page, big context", 0.03),
]
assert abs(sum(page.share for page in PAGES) - 1) < 1e-9


@dataclass(frozen=True)
class PlanLine:
    page: str
    method: str
    path: str
    cookie: str
    body: str = ""

    def __str__(self) -> str:
        return "\t".join((self.page, self.method, self.path, self.cookie, self.body))


@dataclass
class People:
    """Who takes part, with a signed-in cookie each, and what each may open."""

    cookies: dict[int, str]
    csrf: dict[int, str]
    big_customer: int
    customers: list[int]
    viewers: list[int]  # customers who may see their organisation's cases
    engineers: list[int]
    cases_of: dict[int, list[str]]  # a customer's case references
    reply_case_of: dict[int, str]  # a case each customer replies on (not Closed)
    admin_case_ids: list[int]
    search_terms: list[str]
    # The admin list ordered by the next reply due (see bench/run.py, next_due_list).
    next_due_path: str = "/admin/cases/case/"
    # Open cases of the big customer, whose organisation has the most cases: the case
    # page's Context panel at its largest.
    context_case_ids: list[int] = field(default_factory=list)


def gather_people(
    *, big_customer_id: int, customers: int, threaded_up_to: int, sign_in, seed: int = 5
) -> People:
    """`customers` customers with cases (the big one first) and every bench engineer.

    `threaded_up_to` is the last case id with a thread (topped-up cases have none), and
    `sign_in(user)` returns (cookie header, CSRF secret).
    """
    from cases.models import OPEN_STATUSES, Case, Status
    from portal.models import Membership, Organisation, Role, User

    rng = random.Random(seed)
    customer_ids = [big_customer_id] + list(
        User.objects.filter(is_staff=False, requested_cases__id__lte=threaded_up_to)
        .exclude(pk=big_customer_id)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)[: customers - 1]
    )
    engineer_ids = list(
        User.objects.filter(is_staff=True, email__endswith="@bench.example.com")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    viewers = list(
        Membership.objects.filter(user_id__in=customer_ids, role=Role.ADMIN)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )
    cases_of: dict[int, list[str]] = {}
    reply_case_of: dict[int, str] = {}
    for pk in customer_ids:
        own = list(
            Case.objects.filter(requester_id=pk, pk__lte=threaded_up_to)
            .order_by("?")
            .values_list("pk", "status")[:20]
        )
        cases_of[pk] = [Case.reference_for(case_id) for case_id, _ in own]
        open_ones = [
            case_id for case_id, status in own if status in (Status.OPEN, Status.IN_PROGRESS)
        ]
        if open_ones:
            reply_case_of[pk] = Case.reference_for(open_ones[0])
    admin_case_ids = list(
        Case.objects.filter(pk__lte=threaded_up_to)
        .order_by("?")
        .values_list("pk", flat=True)[:500]
    )
    context_case_ids = list(
        Case.objects.filter(
            requester_id=big_customer_id, pk__lte=threaded_up_to, status__in=OPEN_STATUSES
        )
        .order_by("?")
        .values_list("pk", flat=True)[:100]
    )
    organisations = list(Organisation.objects.order_by("?").values_list("name", flat=True)[:50])
    emails = list(
        User.objects.filter(pk__in=customer_ids[1:])
        .order_by("?")
        .values_list("email", flat=True)[:50]
    )
    references = [Case.reference_for(pk) for pk in rng.sample(admin_case_ids, 50)]
    # One case's subject, as an engineer pastes it from an email.
    subjects = list(
        Case.objects.filter(pk__in=rng.sample(admin_case_ids, 50)).values_list(
            "subject", flat=True
        )
    )
    cookies, csrf = {}, {}
    for pk in customer_ids + engineer_ids:
        cookies[pk], csrf[pk] = sign_in(User.objects.get(pk=pk))
    return People(
        cookies=cookies,
        csrf=csrf,
        big_customer=big_customer_id,
        customers=customer_ids,
        viewers=viewers,
        engineers=engineer_ids,
        cases_of=cases_of,
        reply_case_of=reply_case_of,
        admin_case_ids=admin_case_ids,
        search_terms=references + emails + organisations + subjects,
        context_case_ids=context_case_ids,
    )


def _line(page: str, people: People, rng: random.Random) -> PlanLine:
    from urllib.parse import quote_plus, urlencode

    def customer(among: list[int] | None = None) -> int:
        return rng.choice(among or people.customers[1:])

    if page == FLOOR:
        who = rng.choice(people.customers + people.engineers)
        return PlanLine(page, "GET", "/accounts/ping/", people.cookies[who])
    if page == "my_cases_big":
        who = people.big_customer
        return PlanLine(page, "GET", "/cases/", people.cookies[who])
    if page == "my_cases":
        who = customer()
        return PlanLine(page, "GET", "/cases/", people.cookies[who])
    if page == "status_filter":
        who = rng.choice(people.customers)
        status = rng.choice(STATUS_FILTERS)
        return PlanLine(page, "GET", f"/cases/?status={status}", people.cookies[who])
    if page == "case_page":
        who = rng.choice(people.customers)
        reference = rng.choice(people.cases_of[who])
        return PlanLine(page, "GET", f"/cases/{reference}/", people.cookies[who])
    if page == "organisation":
        who = rng.choice(people.viewers)
        return PlanLine(page, "GET", "/cases/?scope=organisation", people.cookies[who])
    if page == "reply":
        who = rng.choice(list(people.reply_case_of))
        body = urlencode(
            {"csrfmiddlewaretoken": people.csrf[who], "body": "Thanks, here is more detail"}
        )
        return PlanLine(
            page,
            "POST",
            f"/cases/{people.reply_case_of[who]}/reply/",
            people.cookies[who],
            body + "+{n}",
        )
    who = rng.choice(people.engineers)
    if page == "admin_list":
        return PlanLine(page, "GET", "/admin/cases/case/", people.cookies[who])
    if page == "admin_next_due":
        return PlanLine(page, "GET", people.next_due_path, people.cookies[who])
    if page == "admin_search":
        term = rng.choice(people.search_terms)
        return PlanLine(
            page, "GET", f"/admin/cases/case/?q={quote_plus(term)}", people.cookies[who]
        )
    if page == "admin_case":
        pk = rng.choice(people.admin_case_ids)
        return PlanLine(page, "GET", f"/admin/cases/case/{pk}/change/", people.cookies[who])
    if page == "admin_case_context":
        pk = rng.choice(people.context_case_ids or people.admin_case_ids)
        return PlanLine(page, "GET", f"/admin/cases/case/{pk}/change/", people.cookies[who])
    raise ValueError(page)


def mix_plan(people: People, *, requests: int = 20_000, seed: int = 3) -> list[PlanLine]:
    rng = random.Random(seed)
    pages = [page.key for page in PAGES for _ in range(round(page.share * requests))]
    rng.shuffle(pages)
    return [_line(page, people, rng) for page in pages]


def write_plan(lines: list[PlanLine], path: Path) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def run_wrk(wrk: str, port: int, plan: Path, *, seconds: int, connections: int) -> dict:
    """One wrk run of a plan (one connection per thread, see bench/mix.lua): wrk's totals,
    and under "pages" each page's requests, failures (4xx/5xx) and p50/p99 in µs."""
    for old in plan.parent.glob(f"{plan.name}.*.times"):
        old.unlink()
    command = [
        wrk,
        f"-t{connections}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(ROOT / "bench" / "mix.lua"),
        f"http://127.0.0.1:{port}/",
        "--",
        str(plan),
        str(connections),
    ]
    output = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    figures = json.loads(line.removeprefix("BENCH_JSON "))
    times: dict[str, list[int]] = defaultdict(list)
    failures: dict[str, int] = defaultdict(int)
    for path in plan.parent.glob(f"{plan.name}.*.times"):
        for entry in path.read_text().splitlines():
            page, status, microseconds = entry.split()
            times[page].append(int(microseconds))
            failures[page] += int(status) >= 400
    figures["pages"] = {
        page: {
            "requests": len(values),
            "failures": failures[page],
            "p50_us": _percentile(sorted(values), 50),
            "p99_us": _percentile(sorted(values), 99),
        }
        for page, values in times.items()
    }
    return figures


def _percentile(ordered: list[int], percent: float) -> int:
    return ordered[max(0, math.ceil(len(ordered) * percent / 100) - 1)]


def worker_ms(access_log: Path, *, skip_lines: int = 0) -> dict[str, float]:
    """Mean time a web worker spent per page, from the lines after `skip_lines`."""
    times: dict[str, list[float]] = defaultdict(list)
    with access_log.open() as log:
        for number, line in enumerate(log):
            if number < skip_lines:
                continue
            parts = line.split()
            if len(parts) == 3 and parts[2].isdigit():
                times[parts[0]].append(int(parts[2]) / 1000)
    return {page: statistics.fmean(values) for page, values in times.items()}


def count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open() as file:
        return sum(1 for _ in file)
