from django.core.management.base import BaseCommand, CommandError

from cases.invariants import find_violations, record_watermarks


class Command(BaseCommand):
    help = (
        "Check the support history: every transition recorded, every notifying transition "
        "notified, no reply left on a closed case, nothing deleted. Fails on any violation."
    )

    def handle(self, *args, **options) -> None:
        violations = find_violations()
        for violation in violations:
            self.stderr.write(str(violation))
        if violations:
            raise CommandError(f"{len(violations)} invariant violation(s).")
        # Only a clean state becomes the reference for "nothing deleted".
        record_watermarks()
        self.stdout.write(self.style.SUCCESS("All invariants hold."))
