"""The errors the case domain raises; named so none shadows one of Django's."""


class CaseActionError(Exception):
    """A use case refused: the message is safe to show to the person who asked."""


class TransitionNotAllowed(CaseActionError):
    """The case's status does not allow this action (any more)."""


class ActionNotPermitted(CaseActionError):
    """This person may not take this action on this case."""


class DeletionForbidden(Exception):
    """Support history is kept for audit: cases, messages and history are never deleted."""


class AppendOnlyViolation(DeletionForbidden):
    """History rows are written once: never updated in place."""


class ParticipantsRefused(CaseActionError):
    """Colleagues that cannot be added to a case: one line per address that is wrong.

    Nothing was added: every address is checked before any is."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(" ".join(problems))


class NotAParticipant(CaseActionError):
    """The person to remove does not follow this case (any more)."""
