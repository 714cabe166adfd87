"""Cliniko REST API v1 client (pure Python; importing it does not need Odoo)."""

from .client import DEFAULT_SHARD, ClinikoClient, shard_from_key
from .errors import (
    ClinikoAuthError,
    ClinikoBadRequestError,
    ClinikoConnectionError,
    ClinikoError,
    ClinikoNotFoundError,
    ClinikoPermissionError,
    ClinikoRateLimitError,
    ClinikoUnavailableError,
    ClinikoValidationError,
)
from .ratelimit import SlidingWindowLimiter

__all__ = [
    "DEFAULT_SHARD",
    "ClinikoAuthError",
    "ClinikoBadRequestError",
    "ClinikoClient",
    "ClinikoConnectionError",
    "ClinikoError",
    "ClinikoNotFoundError",
    "ClinikoPermissionError",
    "ClinikoRateLimitError",
    "ClinikoUnavailableError",
    "ClinikoValidationError",
    "SlidingWindowLimiter",
    "shard_from_key",
]
