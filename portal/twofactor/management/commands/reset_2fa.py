"""`manage.py reset_2fa <email>`: for an engineer with neither their phone nor a backup
code. Their devices go; they enrol a new app at their next sign-in to the admin."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.twofactor import services


class Command(BaseCommand):
    help = "Remove a person's two-factor devices and backup codes: they enrol again next time."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        User = get_user_model()  # noqa: N806 - a model class
        try:
            user = User._default_manager.get_by_natural_key(email)
        except User.DoesNotExist:
            raise CommandError(f"No account signs in as {email}.") from None
        removed = services.reset(user)
        self.stdout.write(
            f"Removed {removed} two-factor device(s) of {user.email}: they set up an "
            f"authenticator app again at their next sign-in to the admin."
        )
