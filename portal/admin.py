from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from cases.text import CleanSearchMixin

from . import email_preferences
from .models import EmailOptOut, Membership, Organisation, User


class MembershipInline(admin.StackedInline):
    """The user's organisation and role there. Deleting it, or choosing another
    organisation, ends their access to the organisation's cases at once and drops them
    from the cases shared with them (`cases.receivers`)."""

    model = Membership
    extra = 0
    can_delete = True
    autocomplete_fields = ["organisation"]
    fields = ["organisation", "role"]


class EmailOptOutInline(admin.TabularInline):
    """The optional emails this person turned off, where and when; the outbox cancels
    those emails when it sends them. They change them on their profile page."""

    model = EmailOptOut
    extra = 0
    can_delete = False
    fields = ["topic", "where", "created_at"]
    readonly_fields = fields
    verbose_name = "email turned off"
    verbose_name_plural = "Emails turned off (by the person, on their profile or from an email)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Turned off")
    def where(self, opt_out: EmailOptOut) -> str:
        if opt_out.source == email_preferences.FROM_LINK:
            return "from an email, with its unsubscribe link"
        return "on their profile page"

    def has_view_permission(self, request, obj=None) -> bool:
        # Whoever may see the person sees which emails they stopped: an engineer asked
        # why an email never came needs no permission of its own for that.
        return request.user.has_perm("portal.view_user")


@admin.register(User)
class UserAdmin(CleanSearchMixin, BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "organisation", "zone", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_active", "groups", "membership__organisation"]
    list_select_related = ["membership__organisation"]
    search_fields = ["email", "full_name"]
    inlines = [MembershipInline, EmailOptOutInline]
    readonly_fields = ["zone"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "time_zone", "zone")}),
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

    def get_inlines(self, request, obj):
        # A new person has turned nothing off yet.
        return self.inlines if obj is not None else [MembershipInline]

    @admin.display(description="Times shown in")
    def zone(self, user: User) -> str:
        if user.pk is None:
            return "—"
        if user.time_zone:
            return f"{user.time_zone} (their own)"
        membership = getattr(user, "membership", None)
        if membership is not None and membership.organisation.time_zone:
            return f"{membership.organisation.time_zone} (the organisation's)"
        return f"{user.shown_zone.key} (the portal's)"

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
