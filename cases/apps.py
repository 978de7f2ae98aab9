from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Support cases"

    def ready(self) -> None:
        from anymail.signals import inbound, tracking

        # Registers the Celery tasks the outbox looks up by name (cases.outbox.triggers).
        from cases import checks, receivers, tasks  # noqa: F401 - registers
        from cases.inbound import receive as inbound_email
        from cases.inbound import tracking as email_tracking

        inbound.connect(inbound_email.on_inbound, dispatch_uid="cases.inbound")
        tracking.connect(email_tracking.on_tracking, dispatch_uid="cases.tracking")
        # Someone leaving an organisation stops following its cases at once.
        receivers.connect()
