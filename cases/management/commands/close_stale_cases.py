from django.core.management.base import BaseCommand

from cases.services import close_stale_cases


class Command(BaseCommand):
    help = "Close every case whose Pending Customer or Resolved clock has run out (once)."

    def handle(self, *args, **options) -> None:
        closed = close_stale_cases()
        for case in closed:
            self.stdout.write(f"Closed {case.reference}: {case.subject}")
        self.stdout.write(self.style.SUCCESS(f"{len(closed)} case(s) closed."))
