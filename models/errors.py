"""Domain errors. The CLI maps each to an exit code and one line on stderr."""


class CopflowError(Exception):
    """Base class; ``exit_code`` is what the command line returns."""

    exit_code = 1


class BadInput(CopflowError):
    """An invalid file or argument, or an unknown CoP or person (exit 2)."""

    exit_code = 2


class Refused(CopflowError):
    """Not allowed to act, an illegal transition, an archived CoP, or a lost race (exit 3)."""

    exit_code = 3
