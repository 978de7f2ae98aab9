"""Does an emailed reply only say thanks?

On a Resolved case a customer's reply counts as an objection and reopens the case (the
help page promises it). Many replies to the resolved email only say thanks; reopening on
those would undo the engineer's work for nothing. A reply counts as thanks only when it
is clearly nothing else: short, no question, no attachment, and every part of it is a
thank-you, a word of approval, a greeting or sign-off, or a name, with at least one
thank-you. Anything else ("Thanks, but it still fails", "Thanks?") stays an objection:
when in doubt, the customer is taken at their word and the case reopens.

The phrases are per language the portal supports, in `THANK_YOU_PHRASES`. Each entry is
a regular expression that must match a whole segment of the reply once normalised: lower
case, apostrophes straightened, punctuation and emoji dropped, split at line ends and at
, . ! ; : and dashes between words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# Longer than this (after quotes and signatures are trimmed) is never only thanks.
MAX_CHARS = 200


@dataclass(frozen=True)
class Phrases:
    # A thank-you: at least one segment must be one.
    thanks: tuple[str, ...]
    # Approval that may stand beside a thank-you ("Perfect, thanks!") but is not one.
    approval: tuple[str, ...]
    # Greetings and sign-offs.
    polite: tuple[str, ...]


_EN_FOR = (
    r"for(?: (?:the|your|all|all the|all your|this|that|quick|fast|prompt|kind|great|swift))*"
    r" (?:help|fix|support|answer|response|reply|assistance|solution|update|explanation)"
    r"|for (?:fixing|solving|resolving|sorting) (?:it|this|that)(?: out)?"
)
_DE_FUR = (
    r"für(?: (?:die|ihre|deine|eure|den|das|schnelle|schnellen|rasche|tolle|tollen|nette))*"
    r" (?:hilfe|lösung|antwort|unterstützung|rückmeldung|info|infos|behebung)"
)
_FR_POUR = (
    r"pour(?: (?:votre|vos|ton|ta|tes|la|le|cette|ce|rapide|précieuse|super))*"
    r" (?:l')?(?:aide|réponse|solution|correction|support|assistance|retour|rapidité"
    r"|intervention|réactivité)"
)
_ES_POR = (
    r"por(?: (?:la|el|su|tu|vuestra|este|esta|rápida|rapida|gran))*"
    r" (?:ayuda|respuesta|solución|solucion|soporte|asistencia|apoyo|arreglo)"
)
_NL_VOOR = (
    r"voor(?: (?:de|je|jullie|uw|het|snelle|goede|fijne|vlotte))*"
    r" (?:hulp|oplossing|reactie|antwoord|ondersteuning|support|moeite)"
)

# Languages the portal supports: English, German, French, Spanish, Dutch.
THANK_YOU_PHRASES: dict[str, Phrases] = {
    "en": Phrases(
        thanks=(
            r"(?:(?:ok|okay|great|perfect|awesome|excellent|brilliant|wonderful|super|cool"
            r"|nice|lovely) )?(?:many |big |huge )?(?:thanks|thank you|thank u|thankyou|thx|ty"
            r"|cheers)(?: (?:a lot|so much|very much|a million|again|loads|heaps))*"
            rf"(?: (?:{_EN_FOR}))?(?: (?:and )?(?:best |kind |warm )?regards)?",
            r"(?:much |greatly |really )?appreciated",
            r"i (?:really )?appreciate (?:it|that|your help|the help|the fix)",
        ),
        approval=(
            r"great|perfect|awesome|excellent|brilliant|wonderful|fantastic|super|cool|nice"
            r"|lovely|ok|okay|all good(?: now)?|solved|fixed|sorted|all sorted|problem solved",
            r"(?:it |that |everything )?works(?: now| again| fine| perfectly)*",
            r"(?:it|that) worked|that (?:fixed|solved|did) it|that did the trick",
        ),
        polite=(
            r"(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))"
            r"(?: (?:team|all|there|everyone|folks|support|support team|guys))?",
            r"(?:(?:best|kind|warm|many) )?regards|best|best wishes|all the best|sincerely"
            r"|take care|have a (?:nice|good|great) (?:day|weekend|evening)",
        ),
    ),
    "de": Phrases(
        thanks=(
            r"(?:(?:super|perfekt|prima|toll|klasse|ok|okay) )?(?:(?:vielen|herzlichen|besten"
            r"|tausend|vielen herzlichen|ganz herzlichen|recht herzlichen) dank"
            r"|danke(?: (?:schön|schon|sehr|vielmals|nochmal|nochmals|dir|ihnen|euch))*"
            rf"|dankeschön)(?: (?:{_DE_FUR}))?",
            r"ich bedanke mich(?: herzlich)?(?: (?:" + _DE_FUR + "))?",
        ),
        approval=(
            r"super|perfekt|prima|toll|klasse|top|ok|okay|alles klar|alles gut",
            r"(?:es |jetzt )?funktioniert(?: jetzt| wieder| jetzt wieder| wieder einwandfrei)?"
            r"|(?:das )?hat geholfen|läuft(?: wieder)?",
        ),
        polite=(
            r"hallo(?: zusammen| team| support)?|hi|guten (?:morgen|tag|abend)"
            r"|liebes (?:support-?)?team|sehr geehrte damen und herren",
            r"(?:(?:viele|beste|liebe|freundliche|schöne|herzliche) )?(?:grüße|grüsse)"
            r"|(?:mit )?freundlichen (?:grüßen|grüssen)|mfg|vg|lg|gruß|gruss"
            r"|schönen tag(?: noch)?|schönes wochenende",
        ),
    ),
    "fr": Phrases(
        thanks=(
            r"(?:(?:parfait|super|génial|ok|d'accord) )?(?:un )?(?:(?:grand|gros) )?merci"
            r"(?: (?:beaucoup|bien|encore|infiniment|mille fois|à vous|à toi|à tous))*"
            rf"(?: (?:{_FR_POUR}))?(?: et bonne (?:journée|soirée|fin de journée|semaine))?",
            rf"mille mercis(?: (?:{_FR_POUR}))?",
            rf"je vous remercie(?: beaucoup| infiniment)?(?: (?:{_FR_POUR}))?",
        ),
        approval=(
            r"parfait|super|génial|excellent|nickel|top|ok|d'accord|c'est bon|tout est bon"
            r"|c'est réglé|problème résolu",
            r"(?:ça|ca) (?:marche|fonctionne)(?: maintenant| bien| très bien| de nouveau)?",
        ),
        polite=(
            r"bonjour(?: à tous| à toutes| l'équipe| madame| monsieur)?|salut|bonsoir",
            r"(?:bien )?cordialement|bien à vous|bonne (?:journée|soirée)|à bientôt",
        ),
    ),
    "es": Phrases(
        thanks=(
            r"(?:(?:perfecto|genial|vale|ok) )?(?:(?:muchas|muchísimas|mil|infinitas) )?gracias"
            rf"(?: (?:de nuevo|otra vez|mil|a todos))*(?: (?:{_ES_POR}))?",
            r"(?:te|se) lo agradezco(?: mucho)?|se agradece|(?:muy )?agradecid[oa]",
        ),
        approval=(
            r"perfecto|genial|excelente|estupendo|fenomenal|vale|ok|todo bien|todo correcto"
            r"|ya está|ya esta|solucionado",
            r"(?:ya )?funciona(?: bien| perfectamente| de nuevo)?",
        ),
        polite=(
            r"hola(?: equipo| a todos)?|buen(?:os|as)? (?:días|dias|tardes|noches|día|dia)",
            r"(?:un )?saludos?(?: cordiales)?|atentamente|un abrazo|cordialmente",
        ),
    ),
    "nl": Phrases(
        thanks=(
            r"(?:(?:top|perfect|super|prima|mooi|ok) )?(?:(?:heel |hartstikke |erg |heel erg"
            r" |enorm )?bedankt|dank (?:je|u)(?: wel)?|dankjewel|dankuwel"
            rf"|(?:hartelijk|hartelijke|vriendelijk|veel|enorm) dank)(?: (?:{_NL_VOOR}))?",
        ),
        approval=(
            r"top|perfect|super|prima|mooi|geweldig|opgelost|helemaal goed|in orde|ok",
            r"(?:het |alles )?werkt(?: weer| nu| nu weer)?",
        ),
        polite=(
            r"hoi|hallo|beste(?: (?:support|team|supportteam))?|dag|goedemorgen|goedemiddag",
            r"(?:(?:met )?vriendelijke )?groet(?:en)?|groetjes|mvg|fijne dag|prettige dag",
        ),
    ),
}


def _compile(kind: str) -> re.Pattern[str]:
    patterns = [p for phrases in THANK_YOU_PHRASES.values() for p in getattr(phrases, kind)]
    return re.compile(rf"^(?:{'|'.join(patterns)})$")


THANKS = _compile("thanks")
APPROVAL = _compile("approval")
POLITE = _compile("polite")

_SEGMENT_BREAK = re.compile(r"[\n.,!;:…¡()\[\]\"“”„«»/]+|\s[-–—]+\s")
_NOT_A_WORD = re.compile(r"[^\w\s'-]+")


def _segments(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[’‘`´]", "'", text)
    segments = []
    for part in _SEGMENT_BREAK.split(text):
        part = " ".join(_NOT_A_WORD.sub(" ", part).split()).strip("'-_ ")
        if part:
            segments.append(part)
    return segments


def _without_names(segment: str, names: frozenset[str]) -> str:
    """ "thanks anna" -> "thanks"; a segment that is only a name becomes empty."""
    words = segment.split()
    while words and words[-1] in names:
        words.pop()
    return " ".join(words)


def is_thanks_only(text: str, *, has_attachments: bool = False, names: Iterable[str] = ()) -> bool:
    """True when `text` (an emailed reply, quotes and signature trimmed) only says thanks.

    `names` are the people's names the reply may mention (the sender signing, the
    engineer greeted): any of their words may end a segment.
    """
    text = text.strip()
    if not text or has_attachments or len(text) > MAX_CHARS or "?" in text or "¿" in text:
        return False
    name_words = frozenset(
        word for name in names for segment in _segments(name) for word in segment.split()
    )
    thanked = False
    for segment in _segments(text):
        segment = _without_names(segment, name_words)
        if not segment:
            continue
        if THANKS.match(segment):
            thanked = True
        elif not (APPROVAL.match(segment) or POLITE.match(segment)):
            return False
    return thanked
