"""Reading the create and update forms: the JSON fields and the expiry in days. The rules stay in services."""

import json
from datetime import UTC, datetime

from flask import request

from webapp.clock import DAY_MS, now_ms
from webapp.errors import DomainError, ValidationFailed
from webapp.pages.keys.blueprint import bp
from webapp.security import limits, privileges
from webapp.services.api_keys import checks, request_limit
from webapp.services.api_keys.commands import UNSET
from webapp.services.api_keys.details import DEFAULT_ACCESS, READ_ONLY_BOILERPLATE, WRITE_ONLY_BOILERPLATE
from webapp.web.guard import requires
from webapp.web.htmx import respond

MAX_DAYS = checks.MAX_EXPIRATION_DAYS
FORM_FIELDS = ("name", "type", "control", "role_descriptors", "access", "expires", "days", "add_metadata",
               "metadata", "limit_rate", "rate_requests", "rate_per")
RATE_DEFAULTS = {"limit_rate": "", "rate_requests": "100", "rate_per": "1m"}
DAYS_MESSAGE = "Enter a whole number of days, 1 or more."


def pretty(value):
    return json.dumps(value, indent=2)


def form_values(form):
    """The raw values of a create or update form, kept to show again beside any messages. They are whole (the
    request body limit bounds them): a cut value would be refused for the wrong reason, or saved cut."""
    return {name: form.get(name) or "" for name in FORM_FIELDS}


def create_defaults(descriptors):
    """A fresh create form: the caller's own role `descriptors` as the starting point."""
    return {"name": "", "type": "rest", "control": "", "role_descriptors": pretty(descriptors),
            "access": pretty(DEFAULT_ACCESS), "expires": "", "days": "30", "add_metadata": "", "metadata": "{}",
            **RATE_DEFAULTS}


def update_defaults(key):
    """The update form for `key` as it stands."""
    return {"name": key.name, "type": key.type, "control": "1" if key.role_descriptors else "",
            "role_descriptors": pretty(key.role_descriptors or READ_ONLY_BOILERPLATE),
            "access": pretty(key.access or DEFAULT_ACCESS), "expires": "", "days": "30",
            "add_metadata": "1" if key.metadata else "", "metadata": pretty(key.metadata or {}),
            **_rate_values(key.rate_limit)}


def _rate_values(stored):
    if not stored:
        return dict(RATE_DEFAULTS)
    return {"limit_rate": "1", "rate_requests": str(stored["requests"]), "rate_per": stored["per"]}


def _rate_limit(values, errors):
    """The form's {"requests", "per"} when "Limit requests" is on (None when off); messages into `errors`."""
    if not values["limit_rate"]:
        return None
    requests = per = None
    try:
        requests = request_limit.check_requests(int(values["rate_requests"].strip()))
    except ValueError:
        errors["rate_requests"] = request_limit.REQUESTS_MESSAGE
    except DomainError as error:
        errors["rate_requests"] = error.detail
    try:
        per = values["rate_per"].strip()
        request_limit.window_seconds(per)
    except DomainError as error:
        errors["rate_per"] = error.detail
    return {"requests": requests, "per": per}


def _json_object(text, field, what, errors):
    text = text.strip()
    if not text:
        errors[field] = f"Enter {what}, or turn this option off."
        return None
    try:
        value = limits.loads(text)
    except limits.NestingTooDeep as error:
        errors[field] = (f"The JSON is nested more than {error.limit} levels deep (line {error.lineno}, column "
                         f"{error.colno}); Keydesk accepts at most {error.limit} levels of objects and arrays.")
        return None
    except ValueError as error:
        errors[field] = f"Enter valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        return None
    if not isinstance(value, dict):
        errors[field] = f"The {what} must be a JSON object, {{ … }}."
        return None
    return value


def _days(text, errors):
    try:
        days = int(text.strip())
    except ValueError:
        errors["days"] = DAYS_MESSAGE
        return None
    if days < 1:
        errors["days"] = DAYS_MESSAGE
    elif days > MAX_DAYS:
        errors["days"] = f"Enter at most {MAX_DAYS:,} days."
    return f"{days}d"


def parse_create(values):
    """(request, errors): the service's arguments from the form, and every message about the form's shape."""
    errors = {}
    problems = checks.name_problems(values["name"])
    if problems:
        errors["name"] = problems[0]
    elif "\x00" in values["name"]:
        errors["name"] = "The name can't contain the NUL character."
    kind = values["type"] or "rest"
    if kind not in ("rest", "cross_cluster"):
        errors["type"] = "Choose User API key or Cross-cluster API key."
    request = {"kind": kind, "name": values["name"], "expiration": None, "metadata": None}
    if kind == "cross_cluster":
        request["access"] = _json_object(values["access"], "access", "the access", errors)
    else:
        request["role_descriptors"] = (_json_object(values["role_descriptors"], "role_descriptors",
                                                    "role descriptors", errors) if values["control"] else {})
    if values["expires"]:
        request["expiration"] = _days(values["days"], errors)
    if values["add_metadata"]:
        request["metadata"] = _metadata(values, errors)
    request["rate_limit"] = _rate_limit(values, errors)
    return request, errors


def _metadata(values, errors):
    metadata = _json_object(values["metadata"], "metadata", "metadata", errors)
    if metadata is not None and (problems := checks.metadata_problems(metadata)):
        errors["metadata"] = problems[0]
    return metadata


def parse_update(values, key):
    """(arguments for api_keys.update_api_key, errors)."""
    errors = {}
    changes = {"expected_type": key.type, "metadata": {}, "expiration": UNSET}
    if key.type == "cross_cluster":
        changes["access"] = _json_object(values["access"], "access", "the access", errors)
    else:
        changes["role_descriptors"] = (_json_object(values["role_descriptors"], "role_descriptors",
                                                    "role descriptors", errors) if values["control"] else {})
    if values["add_metadata"]:
        changes["metadata"] = _metadata(values, errors)
    if values["expires"]:
        changes["expiration"] = _days(values["days"], errors)
    changes["rate_limit"] = _rate_limit(values, errors)  # off: no limit
    return changes, errors


def form_errors(error):
    """A service's DomainError as {form field: message}."""
    if isinstance(error, ValidationFailed) and error.fields:
        return dict(error.fields)
    field = {"expiration": "days", "rate_limit.requests": "rate_requests", "rate_limit.per": "rate_per",
             "rate_limit": "rate_per"}.get(error.field, error.field)
    if field in ("name", "type", "role_descriptors", "access", "days", "metadata", "rate_requests", "rate_per"):
        return {field: error.detail}
    if field and field.startswith("role_descriptors"):
        return {"role_descriptors": error.detail}
    return {"form": error.detail}


@bp.app_template_global()
def expiry_preview(days):
    """"Expires on 2026-12-28 (UTC)" for a number of days from now, or a hint when it isn't one. The one
    wording of the preview: the form shows it, and the days field asks for it again as it changes."""
    try:
        count = int(str(days).strip())
    except ValueError:
        return "Enter a number of days."
    if not 1 <= count <= MAX_DAYS:
        return "Enter a number of days."
    moment = datetime.fromtimestamp((now_ms() + count * DAY_MS) / 1000, tz=UTC)
    return f"Expires on {moment.strftime('%Y-%m-%d')} (UTC)."


@bp.get("/expiry")
@requires(*privileges.MANAGE_OWN_KEYS)
def expiry():
    """The expiry preview for `?days=` as text (swapped beside the days field as it is typed)."""
    return respond(expiry_preview(request.args.get("days", "")[:20]))


@bp.context_processor
def _examples():
    return {"read_only_example": pretty(READ_ONLY_BOILERPLATE), "write_only_example": pretty(WRITE_ONLY_BOILERPLATE)}
