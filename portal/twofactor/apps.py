from django.apps import AppConfig


class TwoFactorConfig(AppConfig):
    name = "portal.twofactor"
    label = "twofactor"
    verbose_name = "Two-factor sign-in"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers
