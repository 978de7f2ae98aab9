from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def admin_requires_second_factor(app_configs, **kwargs):
    if settings.ADMIN_REQUIRE_2FA:
        return []
    return [
        Warning(
            "ADMIN_REQUIRE_2FA is off: staff reach the admin with a password alone.",
            hint="Unset ADMIN_REQUIRE_2FA (on by default with DEBUG off).",
            id="twofactor.W001",
        )
    ]
