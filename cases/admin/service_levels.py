"""The service-level policy: what priorities mean, the plans and their targets.

What staff change here is what the help centre's Case Priorities and Plan Comparison
pages say at once.
"""

from __future__ import annotations

from django.contrib import admin

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

    def has_delete_permission(self, request, obj=None) -> bool:
        # Organisations on the plan would lose it; give it no organisations first.
        return super().has_delete_permission(request, obj) and not (
            obj is not None and obj.organisations.exists()
        )
