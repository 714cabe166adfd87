"""Cliniko REST API v1 client (pure Python; importing it does not need Odoo)."""

from .client import DEFAULT_SHARD, ClinikoClient, check_base_url, shard_from_key
from .errors import (
    ClinikoAuthError,
    ClinikoBadRequestError,
    ClinikoConnectionError,
    ClinikoError,
    ClinikoFileTooLargeError,
    ClinikoNotFoundError,
    ClinikoPermissionError,
    ClinikoRateLimitError,
    ClinikoUnavailableError,
    ClinikoUnsafeRedirectError,
    ClinikoValidationError,
)
from .pages import Page, PageReader
from .ratelimit import SlidingWindowLimiter

__all__ = [
    "DEFAULT_SHARD",
    "ClinikoAuthError",
    "ClinikoBadRequestError",
    "ClinikoClient",
    "ClinikoConnectionError",
    "ClinikoError",
    "ClinikoFileTooLargeError",
    "ClinikoNotFoundError",
    "ClinikoPermissionError",
    "ClinikoRateLimitError",
    "ClinikoUnavailableError",
    "ClinikoUnsafeRedirectError",
    "ClinikoValidationError",
    "Page",
    "PageReader",
    "SlidingWindowLimiter",
    "check_base_url",
    "shard_from_key",
]
