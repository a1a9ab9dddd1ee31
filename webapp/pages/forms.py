"""Reading posted forms the same way on every page: a checkbox's state, a service's refusal per field."""

from flask import request

from webapp.errors import DomainError


def field_errors(error: DomainError, default_field: str = "general") -> dict[str, str]:
    """{field: message} from a DomainError: ValidationFailed's fields, else the error's own field."""
    fields = dict(getattr(error, "fields", None) or {})
    if not fields:
        fields[error.field or default_field] = error.detail
    return fields


def checked(name: str) -> bool:
    """A checkbox's state from the posted form."""
    return request.form.get(name) in ("on", "true", "1", "yes")
