"""Exceptions raised by the Cliniko API client.

Every message is written in plain words for the person running the migration and never
contains the API key (the client redacts it before building any message).
"""


class ClinikoError(Exception):
    """Base class of every error the client raises.

    ``status`` is the HTTP status code of Cliniko's answer, or ``None`` when there was no
    answer (timeouts, refused connections, a refused URL).
    """

    default_message = "Cliniko returned an error"

    def __init__(self, message=None, status=None, *, path=None):
        self.message = message or self.default_message
        self.status = status
        self.path = path
        super().__init__(self.message)

    def __str__(self):
        return self.message

    def __repr__(self):
        return "%s(%r, status=%r)" % (type(self).__name__, self.message, self.status)


class ClinikoBadRequestError(ClinikoError):
    """400: Cliniko rejected the request, typically a filter on a field it cannot filter."""

    default_message = "Cliniko rejected the request (400)"


class ClinikoAuthError(ClinikoError):
    """401: the API key is wrong, revoked, or belongs to another shard."""

    default_message = "Cliniko rejected the API key (401)"


class ClinikoPermissionError(ClinikoError):
    """403: the key's user lacks the role needed for this request."""

    default_message = "Cliniko refused access (403)"


class ClinikoNotFoundError(ClinikoError):
    """404: unknown record or route."""

    default_message = "Cliniko found nothing there (404)"


class ClinikoValidationError(ClinikoError):
    """422: Cliniko refused the data; ``errors`` maps each field to its message."""

    default_message = "Cliniko rejected the data (422)"

    def __init__(self, message=None, status=422, *, path=None, errors=None):
        super().__init__(message, status, path=path)
        self.errors = dict(errors or {})


class ClinikoRateLimitError(ClinikoError):
    """429 that the client gave up waiting for; ``retry_after`` is the wait Cliniko asked."""

    default_message = "Cliniko's rate limit is exhausted (429)"

    def __init__(self, message=None, status=429, *, path=None, retry_after=None):
        super().__init__(message, status, path=path)
        self.retry_after = retry_after


class ClinikoUnavailableError(ClinikoError):
    """5xx answers, timeouts or dropped connections that persisted through every retry."""

    default_message = "Cliniko is unavailable"


class ClinikoConnectionError(ClinikoError):
    """The client could not connect to Cliniko at all, even after retrying."""

    default_message = "Cannot connect to Cliniko"


ERRORS_BY_STATUS = {
    400: ClinikoBadRequestError,
    401: ClinikoAuthError,
    403: ClinikoPermissionError,
    404: ClinikoNotFoundError,
    422: ClinikoValidationError,
    429: ClinikoRateLimitError,
}


class ClinikoFileTooLargeError(ClinikoError):
    """A file is larger than the configured cap (announced or received): it is not stored."""


class ClinikoUnsafeRedirectError(ClinikoError):
    """A download redirected somewhere the client refuses to go (plain http to another host,
    or a private, loopback or link-local address)."""
