from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Support cases"

    def ready(self) -> None:
        from anymail.signals import inbound, tracking

        from . import admin_inbound, checks, email_tracking  # noqa: F401 - registers
        from . import inbound as inbound_email

        inbound.connect(inbound_email.on_inbound, dispatch_uid="cases.inbound")
        tracking.connect(email_tracking.on_tracking, dispatch_uid="cases.tracking")
