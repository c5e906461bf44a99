"""The kind of error a command-line value raises (:mod:`mmresnet.apis.cli` turns it into a
message and exit code 2)."""


class UsageError(ValueError):
    """A command-line value that cannot be used; the message names it and what to give."""
