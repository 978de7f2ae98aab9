"""Which emailed replies only say thanks: the table of phrases in `cases.inbound.thanks`.

A thank-you leaves a Resolved case resolved; anything else is an objection and reopens
it. The cases below are the contract: every language the portal supports, and the
replies that must never be taken for thanks.
"""

from __future__ import annotations

import pytest

from cases.inbound.thanks import MAX_CHARS, THANK_YOU_PHRASES, is_thanks_only

NAMES = ["Anna Berg", "Jörg Meier"]

ONLY_THANKS = {
    "en": [
        "Thanks!",
        "Thank you so much for the quick fix!\n\nAnna",
        "Great, thanks!",
        "Perfect, thank you.\nBest regards,\nJörg Meier",
        "Hi Anna, thanks a lot, it works now :)",
        "Many thanks and kind regards",
        "Much appreciated.",
        "Cheers!",
        "thx 👍",
    ],
    "de": [
        "Vielen Dank für die schnelle Hilfe!\n\nViele Grüße\nJörg",
        "Danke schön!",
        "Super, danke! Es funktioniert wieder.",
        "Hallo zusammen, herzlichen Dank. Mit freundlichen Grüßen",
    ],
    "fr": [
        "Merci beaucoup pour votre aide !\nCordialement",
        "Merci, ça marche !",
        "Un grand merci",
        "Bonjour, je vous remercie pour l’aide. Bonne journée",
    ],
    "es": [
        "¡Muchas gracias por la ayuda!\nSaludos",
        "Gracias, ya funciona.",
        "Hola Anna, mil gracias. Un saludo",
        "Perfecto, se lo agradezco.",
    ],
    "nl": [
        "Bedankt voor de snelle hulp!\nMet vriendelijke groet",
        "Dank je wel, het werkt weer!",
        "Top, bedankt!",
        "Hoi Anna, hartelijk dank. Groetjes",
    ],
}

NOT_ONLY_THANKS = [
    "Thanks, but it still fails",
    "Thanks?",
    "Thanks. Can you also check the other server",
    "It still fails. Thanks",
    "Thank you, but the error is back after the restart",
    "Thanks, I'll test it tomorrow",
    "Thanks in advance",
    "Thanks for nothing",
    "No thanks",
    "not fixed thanks",
    "Thanks - still broken",
    "Perfect",  # approval alone is not a thank-you
    "Hi Anna",
    "Danke, aber es funktioniert nicht",
    "Vielen Dank im Voraus",
    "Merci, mais ça ne marche pas",
    "¿Gracias?",
    "Gracias, pero sigue fallando",
    "Alvast bedankt",
    "Bedankt, maar het werkt nog steeds niet",
]


def test_the_table_covers_the_portals_languages():
    assert set(THANK_YOU_PHRASES) == {"en", "de", "fr", "es", "nl"}
    assert set(ONLY_THANKS) == set(THANK_YOU_PHRASES)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(t, id=f"{lang}-{n}")
        for lang, ts in ONLY_THANKS.items()
        for n, t in enumerate(ts)
    ],
)
def test_thank_you_in_each_language_is_only_thanks(text):
    assert is_thanks_only(text, names=NAMES)


@pytest.mark.parametrize("text", NOT_ONLY_THANKS)
def test_anything_more_than_thanks_is_not(text):
    assert not is_thanks_only(text, names=NAMES)


def test_a_thank_you_with_an_attachment_is_not_only_thanks():
    assert is_thanks_only("Thanks!")
    assert not is_thanks_only("Thanks!", has_attachments=True)


def test_a_long_reply_is_not_only_thanks_however_grateful():
    just_short = "Thank you! " * (MAX_CHARS // len("Thank you! "))
    assert len(just_short.strip()) <= MAX_CHARS
    assert is_thanks_only(just_short)
    assert not is_thanks_only(just_short + "Thank you!")


def test_only_known_names_may_close_a_thank_you():
    assert is_thanks_only("Thanks,\nAnna", names=NAMES)
    assert not is_thanks_only("Thanks,\nAnna", names=[])


def test_empty_text_is_not_thanks():
    assert not is_thanks_only("")
    assert not is_thanks_only("  :)  ")
