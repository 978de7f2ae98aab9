"""Forms only validate; `portal.email_preferences` and the model do the work."""

from __future__ import annotations

from django import forms
from django.conf import settings

from cases.text import LineField

from . import email_preferences
from .models import User, validate_time_zone
from .time_zones import offered_zones, zone_choices, zone_label


def default_zone_label(user: User) -> str:
    """The empty choice, saying what it resolves to: the organisation's zone, else the
    portal's."""
    membership = getattr(user, "membership", None)
    if membership is None:
        return f"The portal's zone ({settings.TIME_ZONE})"
    zone = membership.organisation.time_zone
    if not zone:
        return f"Organisation's zone ({settings.TIME_ZONE}, the portal's)"
    return f"Organisation's zone ({zone_label(zone)})"


class ProfileForm(forms.Form):
    full_name = LineField(label="Name", max_length=150, required=False)
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        help_text="Every date on the portal and in our emails to you is shown in this zone.",
        error_messages={"invalid_choice": "Choose a time zone from the list, e.g. Europe/Paris."},
        validators=[validate_time_zone],
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        off = email_preferences.turned_off(user)
        self.topics = email_preferences.topics_for(user)
        initial = {"full_name": user.full_name, "time_zone": user.time_zone}
        initial.update({self.topic_field(t): t not in off for t in self.topics})
        super().__init__(*args, initial=initial, **kwargs)
        choices = [("", default_zone_label(user)), *zone_choices()]
        if user.time_zone and user.time_zone not in offered_zones():
            # An older name for a zone (set in the admin) stays selectable as it is.
            choices.insert(1, ("Current", [(user.time_zone, zone_label(user.time_zone))]))
        self.fields["time_zone"].choices = choices
        for topic in self.topics:
            self.fields[self.topic_field(topic)] = forms.BooleanField(
                label=topic.label,
                required=False,
                help_text=email_preferences.TOPIC_HELP[topic],
            )

    @staticmethod
    def topic_field(topic: str) -> str:
        return f"email_{topic}"

    def topic_fields(self) -> list[forms.BoundField]:
        return [self[self.topic_field(topic)] for topic in self.topics]

    def save(self) -> User:
        user = self.user
        user.full_name = self.cleaned_data["full_name"]
        user.time_zone = self.cleaned_data["time_zone"]
        user.save(update_fields=["full_name", "time_zone"])
        email_preferences.save_choices(
            user,
            wanted={t: self.cleaned_data[self.topic_field(t)] for t in self.topics},
        )
        return user
