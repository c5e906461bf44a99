"""Evaluation: top-k error."""
from .metrics import TopKError, topk_error  # noqa: F401
