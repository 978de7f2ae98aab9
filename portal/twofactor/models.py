from django.conf import settings
from django.db import models


class SecondFactorLockout(models.Model):
    """Wrong second-factor codes of one person, counted as django-axes counts passwords.

    Counted per person, not per session or address: signing in again with the password
    (which resets django-axes' count) must not buy more guesses at the code.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="second_factor_lockout"
    )
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.failures} wrong codes"
