from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from cases.text import CleanSearchMixin

from .models import Membership, Organisation, User


class MembershipInline(admin.StackedInline):
    """The user's organisation and role there. Deleting it, or choosing another
    organisation, ends their access to the organisation's cases at once and drops them
    from the cases shared with them (`cases.receivers`)."""

    model = Membership
    extra = 0
    can_delete = True
    autocomplete_fields = ["organisation"]
    fields = ["organisation", "role"]


@admin.register(User)
class UserAdmin(CleanSearchMixin, BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "organisation", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_active", "groups", "membership__organisation"]
    list_select_related = ["membership__organisation"]
    search_fields = ["email", "full_name"]
    inlines = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name",)}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )

    @admin.display(description="Organisation", ordering="membership__organisation__name")
    def organisation(self, user: User):
        membership = getattr(user, "membership", None)
        return membership.organisation if membership else "—"


class MembershipOfOrganisationInline(admin.TabularInline):
    """The organisation's members and their roles; deleting a row ends that membership
    (see `MembershipInline`)."""

    model = Membership
    extra = 0
    can_delete = True
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Organisation)
class OrganisationAdmin(CleanSearchMixin, admin.ModelAdmin):
    list_display = ["name", "plan", "time_zone", "holiday_country", "created_at"]
    list_filter = ["plan"]
    list_select_related = ["plan"]
    search_fields = ["name"]
    inlines = [MembershipOfOrganisationInline]

    # A change to any of these moves the service-level clocks of the organisation's cases.
    CLOCK_FIELDS = {"plan": "Plan", "time_zone": "Time zone", "holiday_country": "Holidays"}

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        moved = [label for name, label in self.CLOCK_FIELDS.items() if name in form.changed_data]
        if change and moved:
            from cases import service_levels

            service_levels.recompute_after_commit(
                because=f"{' and '.join(moved)} of {obj.name} changed",
                organisation_ids=[obj.pk],
            )

    def has_delete_permission(self, request, obj=None) -> bool:
        # Organisations own case history; they are never deleted.
        return False


@admin.register(Membership)
class MembershipAdmin(CleanSearchMixin, admin.ModelAdmin):
    list_display = ["user", "organisation", "role"]
    list_filter = ["role", "organisation"]
    list_select_related = ["user", "organisation"]
    search_fields = ["user__email", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]
