"""Cases brought to a status through the services, with their real history and emails.

Factories set a status directly (fast, no history); the invariant check and the fault
scenarios need cases whose history and outbox are exactly what production writes.
"""

from __future__ import annotations

from cases import services
from cases.models import Case, InfoRequestKind


def opened(requester, *, subject: str = "The export job fails") -> Case:
    return services.case_open(
        requester=requester, subject=subject, description="It fails every night.", priority=3
    )


def in_progress(requester, engineer, **kwargs) -> Case:
    case = opened(requester, **kwargs)
    services.case_assign(case=case, engineer=engineer)
    return services.case_start_work(case=case, engineer=engineer)


def pending_customer(requester, engineer, **kwargs) -> Case:
    case = in_progress(requester, engineer, **kwargs)
    return services.case_request_info(
        case=case,
        engineer=engineer,
        message="Please attach the job log.",
        kind=InfoRequestKind.LOGS,
    )


def resolved(requester, engineer, **kwargs) -> Case:
    case = in_progress(requester, engineer, **kwargs)
    return services.case_resolve(case=case, engineer=engineer, message="Fixed in 2.3.1.")
