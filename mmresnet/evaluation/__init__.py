"""Evaluation: top-k error."""
from .metrics import TopKError  # noqa: F401
