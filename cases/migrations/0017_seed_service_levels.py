"""The service-level policy a new installation starts with; staff edit it in the admin."""

from datetime import timedelta

from django.db import migrations

HOUR = timedelta(hours=1)
ALWAYS, BUSINESS = "24x7", "business_hours"

PRIORITIES = {
    1: (
        "Production is down or data is at risk, or a security incident, and there is no "
        "workaround.",
        "A production Kubernetes cluster is unreachable or every node is NotReady\n"
        "Terraform state was lost or corrupted and production cannot be changed\n"
        "Backups are failing and the last good one is older than your recovery point\n"
        "You suspect credentials or a cluster have been compromised",
    ),
    2: (
        "Production works but is seriously degraded, or a critical feature fails, and any "
        "workaround is painful.",
        "Pods are evicted again and again under disk or memory pressure\n"
        "Deployments to production fail, though running workloads still serve\n"
        "Nightly backups fail while older ones are intact",
    ),
    3: (
        "Something does not work as it should, with a reasonable workaround, or a "
        "non-production environment is affected.",
        "A staging cluster upgrade is stuck\n"
        "Terraform plans show drift you cannot explain\n"
        "A dashboard is slow or shows wrong figures",
    ),
    4: (
        "A question, a request or a minor issue with no impact on your service.",
        "How to configure single sign-on for your team\n"
        "A request to add a colleague or change a quota\n"
        "A question about an invoice",
    ),
}

# (name, summary, features, {priority: (first response, next update, coverage)})
PLANS = [
    (
        "Standard",
        "Business hours support for every priority.",
        {
            "Channels": "Portal and email",
            "Named contacts": "3",
            "Support hours": "Business hours for every priority",
            "Quarterly service review": "—",
        },
        {
            1: (4 * HOUR, 8 * HOUR, BUSINESS),
            2: (8 * HOUR, 16 * HOUR, BUSINESS),
            3: (16 * HOUR, 24 * HOUR, BUSINESS),
            4: (24 * HOUR, 40 * HOUR, BUSINESS),
        },
    ),
    (
        "Business",
        "Around the clock for critical cases.",
        {
            "Channels": "Portal and email",
            "Named contacts": "10",
            "Support hours": "24×7 for P1, business hours otherwise",
            "Quarterly service review": "—",
        },
        {
            1: (1 * HOUR, 2 * HOUR, ALWAYS),
            2: (4 * HOUR, 8 * HOUR, BUSINESS),
            3: (8 * HOUR, 16 * HOUR, BUSINESS),
            4: (16 * HOUR, 24 * HOUR, BUSINESS),
        },
    ),
    (
        "Enterprise",
        "Around the clock for critical and high priority cases.",
        {
            "Channels": "Portal and email",
            "Named contacts": "Unlimited",
            "Support hours": "24×7 for P1 and P2, business hours otherwise",
            "Quarterly service review": "Included",
        },
        {
            1: (timedelta(minutes=15), 1 * HOUR, ALWAYS),
            2: (1 * HOUR, 4 * HOUR, ALWAYS),
            3: (4 * HOUR, 8 * HOUR, BUSINESS),
            4: (8 * HOUR, 16 * HOUR, BUSINESS),
        },
    ),
]


def seed(apps, schema_editor):
    PriorityLevel = apps.get_model("cases", "PriorityLevel")
    Plan = apps.get_model("cases", "Plan")
    PlanTarget = apps.get_model("cases", "PlanTarget")
    for priority, (definition, examples) in PRIORITIES.items():
        PriorityLevel.objects.get_or_create(
            priority=priority, defaults={"definition": definition, "examples": examples}
        )
    if Plan.objects.exists():
        return
    for position, (name, summary, features, targets) in enumerate(PLANS):
        plan = Plan.objects.create(
            name=name,
            position=position,
            is_default=position == 0,
            summary=summary,
            features=features,
        )
        for priority, (first_response, next_update, coverage) in targets.items():
            PlanTarget.objects.create(
                plan=plan,
                priority=priority,
                first_response=first_response,
                next_update=next_update,
                coverage=coverage,
            )


class Migration(migrations.Migration):
    dependencies = [("cases", "0016_service_level_policy")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
