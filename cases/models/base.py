"""Support history is kept for audit: the base classes that refuse deletion."""

from __future__ import annotations

from django.db import models

from cases.exceptions import AppendOnlyViolation, DeletionForbidden

# --- Never delete ---------------------------------------------------------------------


class UndeletableQuerySet(models.QuerySet):
    def delete(self):
        raise DeletionForbidden(f"{self.model.__name__} rows are never deleted.")


class UndeletableModel(models.Model):
    objects = UndeletableQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        raise DeletionForbidden(f"{type(self).__name__} rows are never deleted.")


class AppendOnlyQuerySet(UndeletableQuerySet):
    def update(self, **kwargs):
        raise AppendOnlyViolation(f"{self.model.__name__} rows are append-only.")

    def bulk_update(self, *args, **kwargs):
        raise AppendOnlyViolation(f"{self.model.__name__} rows are append-only.")
