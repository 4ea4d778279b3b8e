"""The server's errors: each maps to one HTTP status and a problem+json type (RFC 9457).

Error tree (all under :class:`ServerError`, itself a :class:`bastion.errors.BastionError`)::

    ServerError                  500  the server could not operate (exit 3 in the CLI)
    ├── BadRequestError          400  a name with '/', '..', NUL or a control character
    │   └── WeakPasswordError    400  too short, too common, or the account name
    ├── NotAuthenticatedError    401  no valid session or token
    ├── ForbiddenError           403  authenticated but not allowed (or CSRF refused)
    │   └── StepUpRequiredError  403  the action needs a fresh TOTP code
    ├── NotFoundError            404  unknown, or not visible to the caller
    ├── ConflictError            409  the name is taken
    └── ThrottledError           429  too many failed sign-ins; ``retry_after`` seconds

Errors never carry a stack trace to a response; handlers render ``message`` only.
"""

from __future__ import annotations

from bastion.errors import BastionError

__all__ = [
    "BadRequestError",
    "ConflictError",
    "ForbiddenError",
    "NotAuthenticatedError",
    "NotFoundError",
    "ServerError",
    "StepUpRequiredError",
    "ThrottledError",
    "WeakPasswordError",
]


class ServerError(BastionError):
    """Root of the server's errors; ``status`` is the HTTP status, ``kind`` the problem type."""

    status = 500
    kind = "internal"


class BadRequestError(ServerError):
    """The request names something in a form the server refuses."""

    exit_code = 2
    status = 400
    kind = "bad-request"


class WeakPasswordError(BadRequestError):
    """The password is too short, common, breached, or the account's own name."""

    kind = "weak-password"


class NotAuthenticatedError(ServerError):
    """No valid session cookie or API token."""

    exit_code = 2
    status = 401
    kind = "not-authenticated"


class ForbiddenError(ServerError):
    """The caller is known but may not do this."""

    exit_code = 2
    status = 403
    kind = "forbidden"


class StepUpRequiredError(ForbiddenError):
    """A sensitive action needs a TOTP code entered within the step-up window."""

    kind = "step-up-required"


class NotFoundError(ServerError):
    """Unknown object, or one the caller may not know exists."""

    exit_code = 2
    status = 404
    kind = "not-found"


class ConflictError(ServerError):
    """The object exists already."""

    exit_code = 2
    status = 409
    kind = "conflict"


class ThrottledError(ServerError):
    """Too many failed sign-ins for this account or address."""

    exit_code = 2
    status = 429
    kind = "throttled"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
