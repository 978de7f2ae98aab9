"""The optional emails a person may turn off, and the signed link that turns one off.

Essential emails (a question waiting for them, a case resolved with its confirm links,
closed, reopened, shared with them, and every email to engineers but the digest) are
always sent. The optional ones belong to an `EmailTopic`; a person turns a topic off on
their profile page or in one click from the email itself (RFC 8058). The outbox reads
the opt-outs when it sends (`cases.outbox.preferences`), so a change made after an email
was queued still counts.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.urls import reverse

from .models import EmailOptOut, EmailTopic, User

# Where an opt-out was made: the admin says which.
FROM_PROFILE = "profile"
FROM_LINK = "link"

CUSTOMER_TOPICS = (EmailTopic.REMINDERS, EmailTopic.SHARED_CASE_UPDATES)
ENGINEER_TOPICS = (EmailTopic.DAILY_DIGEST,)

# What each topic sends, in the words of the profile page.
TOPIC_HELP = {
    EmailTopic.REMINDERS: (
        "Before a case that waits for your reply closes by itself. The first email "
        "asking for your reply is always sent."
    ),
    EmailTopic.SHARED_CASE_UPDATES: (
        "Engineers' replies on cases a colleague opened and shared with you."
    ),
    EmailTopic.DAILY_DIGEST: (
        "Each morning: the cases waiting for an engineer and the open cases assigned to you."
    ),
}
# What a topic is called in a sentence: "You will no longer get reminders …".
TOPIC_IN_A_SENTENCE = {
    EmailTopic.REMINDERS: "reminders before a case closes by itself",
    EmailTopic.SHARED_CASE_UPDATES: "updates on cases shared with you",
    EmailTopic.DAILY_DIGEST: "the engineers' daily digest",
}

ALWAYS_SENT_TO_CUSTOMERS = (
    "An engineer's question or reply on a case you opened",
    "A case resolved, with the links to confirm it worked or reopen it",
    "A case closed or reopened",
    "A case shared with you",
    "The receipt when you open a case",
)
ALWAYS_SENT_TO_ENGINEERS = (
    "Customers' replies and changes on the cases assigned to you",
    "New urgent cases, and response targets at risk or missed",
)

UNSUBSCRIBE_SALT = "portal.email-preferences.unsubscribe"


def topics_for(user: User) -> list[EmailTopic]:
    """The optional emails this person can get: customers' (for anyone who is not staff
    or belongs to an organisation) and the digest (for support engineers)."""
    topics: list[EmailTopic] = []
    if not user.is_staff or getattr(user, "membership", None) is not None:
        topics.extend(CUSTOMER_TOPICS)
    if user.is_support_engineer:
        topics.extend(ENGINEER_TOPICS)
    return topics


def always_sent_to(user: User) -> tuple[str, ...]:
    """The essential emails this person gets, in plain words."""
    sent: tuple[str, ...] = ()
    if not user.is_staff or getattr(user, "membership", None) is not None:
        sent += ALWAYS_SENT_TO_CUSTOMERS
    if user.is_support_engineer:
        sent += ALWAYS_SENT_TO_ENGINEERS
    return sent


def turned_off(user: User) -> set[str]:
    return set(EmailOptOut.objects.filter(user=user).values_list("topic", flat=True))


def turn_off(user: User, topic: str, *, source: str) -> EmailOptOut:
    """Stop `topic` for `user`. Idempotent: an opt-out already made keeps its date and
    where it was made."""
    opt_out, _ = EmailOptOut.objects.get_or_create(
        user=user, topic=topic, defaults={"source": source}
    )
    return opt_out


@transaction.atomic
def save_choices(user: User, *, wanted: dict[str, bool]) -> None:
    """The profile page's checkboxes: a topic ticked is sent, one cleared is not."""
    for topic, send in wanted.items():
        if send:
            EmailOptOut.objects.filter(user=user, topic=topic).delete()
        else:
            turn_off(user, topic, source=FROM_PROFILE)


# --- The one-click link ---------------------------------------------------------------


def unsubscribe_token(user: User, topic: str) -> str:
    """Names one person and one topic. It does not expire: an old email's link must
    still work, and all it can do is stop emails of that topic to that person."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object({"u": user.pk, "t": str(topic)})


def unsubscribe_url(user: User, topic: str) -> str:
    return settings.SITE_URL + reverse("unsubscribe", args=[unsubscribe_token(user, topic)])


def profile_url() -> str:
    return settings.SITE_URL + reverse("profile")


def read_unsubscribe_token(token: str) -> tuple[User, EmailTopic] | None:
    """The person and topic a token names; None when forged, mangled or their account
    is gone."""
    try:
        payload = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
        user_id, topic = int(payload["u"]), EmailTopic(payload["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    user = get_user_model().objects.filter(pk=user_id).first()
    return (user, topic) if user is not None else None
