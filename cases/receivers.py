"""Signal receivers that keep cases in step with people's memberships.

Someone leaves an organisation when their membership is deleted or moved to another
organisation, or when their account is deactivated (`is_active` saved False). They lose
access to its cases at once (`Case.is_customer` reads the membership afresh); these
receivers run `services.person_left` so that they also stop following those cases and
are sent nothing more about them. Registered by `CasesConfig.ready()`.

`QuerySet.update` sends no signals: people leave through the admin, a model's `save()`
or a delete (`delete()` of a model or a queryset sends them).
"""

from __future__ import annotations

# The organisation a membership belonged to before a save moved it, per instance.
_LEFT_ORGANISATION = "_cases_left_organisation_id"
# Set on a user whose save deactivates them.
_DEACTIVATED = "_cases_deactivated"


def membership_before_save(sender, instance, raw=False, **kwargs) -> None:
    if raw or instance.pk is None:
        return
    before = sender.objects.filter(pk=instance.pk).values_list("organisation_id", flat=True)
    previous = before.first()
    if previous is not None and previous != instance.organisation_id:
        setattr(instance, _LEFT_ORGANISATION, previous)


def membership_after_save(sender, instance, raw=False, **kwargs) -> None:
    previous = instance.__dict__.pop(_LEFT_ORGANISATION, None)
    if raw or previous is None:
        return
    from cases.services import person_left

    person_left(user=instance.user, organisation_id=previous)


def membership_after_delete(sender, instance, **kwargs) -> None:
    from cases.services import person_left

    person_left(user=instance.user, organisation_id=instance.organisation_id)


def user_before_save(sender, instance, raw=False, **kwargs) -> None:
    if raw or instance.pk is None or instance.is_active:
        return
    was_active = sender.objects.filter(pk=instance.pk, is_active=True).exists()
    if was_active:
        setattr(instance, _DEACTIVATED, True)


def user_after_save(sender, instance, raw=False, **kwargs) -> None:
    if not instance.__dict__.pop(_DEACTIVATED, False) or raw:
        return
    from portal.models import Membership

    membership = Membership.objects.filter(user=instance).first()
    if membership is None:
        return
    from cases.services import person_left

    person_left(user=instance, organisation_id=membership.organisation_id, deactivated=True)


def connect() -> None:
    from django.db.models.signals import post_delete, post_save, pre_save

    from portal.models import Membership, User

    pre_save.connect(membership_before_save, sender=Membership, dispatch_uid="cases.membership")
    post_save.connect(membership_after_save, sender=Membership, dispatch_uid="cases.membership")
    post_delete.connect(
        membership_after_delete, sender=Membership, dispatch_uid="cases.membership"
    )
    pre_save.connect(user_before_save, sender=User, dispatch_uid="cases.user")
    post_save.connect(user_after_save, sender=User, dispatch_uid="cases.user")
