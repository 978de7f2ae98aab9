"""django-otp's device pages, for a superuser to see who has enrolled and to remove a
lost device (README: "Two-factor sign-in for engineers"). Devices are made only at
enrolment, and no page shows a secret or a backup code: they were shown once, then."""

from django.contrib import admin
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import SecondFactorLockout


class ViewAndRemoveOnly:
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class EnrolledAppAdmin(ViewAndRemoveOnly, TOTPDeviceAdmin):
    def get_urls(self):
        # Without django-otp's configuration and QR code pages: they show the secret.
        return admin.ModelAdmin.get_urls(self)


class BackupCodesAdmin(ViewAndRemoveOnly, StaticDeviceAdmin):
    inlines = []


admin.site.unregister(TOTPDevice)
admin.site.register(TOTPDevice, EnrolledAppAdmin)
admin.site.unregister(StaticDevice)
admin.site.register(StaticDevice, BackupCodesAdmin)


@admin.register(SecondFactorLockout)
class SecondFactorLockoutAdmin(ViewAndRemoveOnly, admin.ModelAdmin):
    """A lock ends by itself; removing the row ends it now."""

    list_display = ["user", "failures", "last_failure_at", "locked_until"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
