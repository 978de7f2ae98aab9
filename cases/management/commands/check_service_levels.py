from django.core.management.base import BaseCommand

from cases.services import check_service_levels


class Command(BaseCommand):
    help = "Warn before response targets are missed and escalate missed ones (once)."

    def handle(self, *args, **options) -> None:
        result = check_service_levels()
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.warned} target(s) warned, {result.breached} target(s) escalated."
            )
        )
