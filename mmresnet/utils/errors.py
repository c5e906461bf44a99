"""The kinds of error a user's command line or config raises (:mod:`mmresnet.apis.cli`
turns each into a message and exit code 2)."""


class UsageError(ValueError):
    """A command-line value that cannot be used; the message names it and what to give."""


class ConfigError(TypeError, ValueError):
    """A config file or a ``--cfg-options`` value that cannot be used; the message names
    the file or key. (A TypeError and a ValueError: what the checks raised before.)"""
