"""Domain errors: each carries the Elasticsearch error type, HTTP status and message it maps to."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from webapp.security.subject import Subject


class DomainError(Exception):
    """A request the rules refuse; subclasses name their Elasticsearch type and HTTP status in the class line:
    `class NotFound(DomainError, status=404, type="resource_not_found_exception")`."""

    status = 400
    type = "illegal_argument_exception"

    def __init_subclass__(cls, *, status: int | None = None, type: str | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if type is not None:
            cls.type = type

    def __init__(self, reason, *, type=None, status=None, field=None, header=None, extra=None, detail=None):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail or reason  # the most specific message, for showing beside a form field
        if type is not None:
            self.type = type
        if status is not None:
            self.status = status
        self.field = field  # the form field the message belongs beside, when there is one
        self.header = header or {}
        self.extra = extra or {}


class ValidationFailed(DomainError, type="action_request_validation_exception"):
    """One or more request fields are wrong: ES's action_request_validation_exception."""

    def __init__(self, messages, *, fields=None):
        self.messages = list(messages)
        self.fields = fields or {}  # field name -> message, for forms
        numbered = "".join(f"{i}: {m};" for i, m in enumerate(self.messages, start=1))
        super().__init__(f"Validation Failed: {numbered}")


class NotFound(DomainError, status=404, type="resource_not_found_exception"):
    """The object named doesn't exist, or the subject may not know it does."""


class Conflict(DomainError, status=409, type="version_conflict_engine_exception"):
    """The object changed, or exists already."""


class Unauthorized(DomainError, status=403, type="security_exception"):
    """The subject lacks the privilege (403)."""


class AuthenticationFailed(DomainError, status=401, type="security_exception"):
    """No credentials, or credentials that don't authenticate anyone (401)."""


class LicenseError(DomainError, status=403, type="security_exception"):
    """The feature needs a license the installation doesn't have."""


class FeatureDisabled(DomainError, type="feature_not_enabled_exception"):
    """API keys are switched off in Settings."""

    def __init__(self, reason="api keys are not enabled"):
        super().__init__(reason, extra={"disabled.feature": "api_keys"})


def unauthorized(subject: "Subject", action: str, granted_by: Sequence[str]) -> Unauthorized:
    """The 403 Elasticsearch answers when a subject lacks a cluster privilege for `action`."""
    if subject.is_api_key:
        who = f"API key id [{subject.api_key_id}] of user [{subject.username}]"
    else:
        who = f"user [{subject.username}] with effective roles [{','.join(sorted(subject.roles))}]"
    return Unauthorized(
        f"action [{action}] is unauthorized for {who}, "
        f"this action is granted by the cluster privileges [{','.join(granted_by)}]"
    )


def from_descriptor_error(error: Exception, field: str | None = None) -> DomainError:
    """A DomainError carrying a security.DescriptorError: ES's outer reason and `caused_by` chain for the
    API, the innermost message for a form field."""
    caused_by = error.to_dict().get("caused_by")
    return DomainError(error.reason, type=error.type, status=getattr(error, "status", 400),
                       field=field or getattr(error, "field", None),
                       extra={"caused_by": caused_by} if caused_by else None, detail=error.detail)
