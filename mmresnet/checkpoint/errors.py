"""The kinds of error a checkpoint raises: refused (unsafe), no checkpoint at all, or
weights that do not fit the model (another network, another recipe). The command-line
tools turn each into a message and exit status 2 (:mod:`mmresnet.apis.cli`)."""
import pickle


class UnsafeCheckpointError(pickle.UnpicklingError, ValueError):
    """A file holds a global outside the allow-list (it could run code); nothing ran.

    Attributes:
        global_name (str | None): the refused ``module.name``.
    """

    def __init__(self, message, global_name=None):
        super().__init__(message)
        self.global_name = global_name


class CheckpointFormatError(RuntimeError, ValueError):
    """A file given as a checkpoint is not one (text, random bytes, empty, truncated,
    corrupt)."""


class WeightsMismatchError(ValueError):
    """A checkpoint's weights do not fit the module they are loaded into."""


class RecipeMismatchError(WeightsMismatchError):
    """A checkpoint's recipe (architecture or input normalisation) differs from the model's."""
