"""The service-level policy: what priorities mean, the plans and their targets.

What staff change here is what the help centre's Case Priorities and Plan Comparison
pages say at once.
"""

from __future__ import annotations

from django.contrib import admin

from cases import service_levels
from cases.models import Plan, PlanTarget, PriorityLevel


@admin.register(PriorityLevel)
class PriorityLevelAdmin(admin.ModelAdmin):
    list_display = ["priority", "definition"]
    ordering = ["priority"]


class PlanTargetInline(admin.TabularInline):
    model = PlanTarget
    extra = 0
    fields = ["priority", "first_response", "next_update", "coverage"]
    ordering = ["priority"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_default", "summary"]
    list_editable = ["position"]
    inlines = [PlanTargetInline]
    fieldsets = [(None, {"fields": ["name", "position", "is_default", "summary", "features"]})]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        targets_changed = any(formset.has_changed() for formset in formsets)
        if "is_default" in form.changed_data:
            # Organisations without a plan of their own change plans.
            service_levels.recompute_after_commit(because="The default plan changed")
        elif change and targets_changed:
            service_levels.recompute_after_commit(
                because=f"The {form.instance.name} plan's targets changed",
                plan_ids=[form.instance.pk],
            )

    def has_delete_permission(self, request, obj=None) -> bool:
        # Organisations on the plan would lose it; give it no organisations first.
        return super().has_delete_permission(request, obj) and not (
            obj is not None and obj.organisations.exists()
        )
