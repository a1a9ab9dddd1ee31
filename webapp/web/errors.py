"""Errors answered in the caller's language: Elasticsearch JSON, an htmx partial, or a full page."""

from flask import jsonify, render_template, request
from peewee import InterfaceError, OperationalError
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.exceptions import HTTPException

from webapp.errors import DomainError
from webapp.web.htmx import respond, wants_partial
from webapp.web.root import elasticsearch_at_root, elasticsearch_off_route, elasticsearch_off_route_view

JSON_BLUEPRINTS = {"api"}
# Where the JSON API lives (below the mount path); those requests never carry a session either.
JSON_PATHS = ("/_security", "/_license", "/_xpack", "/_cluster", "/_keydesk")
WWW_AUTHENTICATE = ['Basic realm="security", charset="UTF-8"', "ApiKey"]

# Elasticsearch's error type for plain HTTP failures.
_HTTP_TYPES = {
    400: "illegal_argument_exception",
    401: "security_exception",
    403: "security_exception",
    404: "resource_not_found_exception",
    405: "illegal_argument_exception",
    409: "version_conflict_engine_exception",
    413: "content_too_long_exception",
    415: "media_type_header_exception",
    429: "status_exception",
}


def wants_json():
    """JSON for the Elasticsearch-compatible API, wherever it is mounted. Also for a path under its prefixes
    that no route matched (`/_security/`, a line break in the path): those requests have no session (see
    MountedSessionInterface), so a page, which needs one for its CSRF token, could not be rendered. And for
    an Elasticsearch client's request that no route serves (webapp/web/root.py)."""
    return (request.blueprint in JSON_BLUEPRINTS or request.path.startswith(JSON_PATHS)
            or elasticsearch_at_root() or elasticsearch_off_route())


def es_error_body(status, error_type, reason, **extra):
    """ES's envelope; like ES, the root cause repeats the error without its nested `caused_by`."""
    cause = {"type": error_type, "reason": reason, **extra}
    root = {k: v for k, v in cause.items() if k != "caused_by"}
    return {"error": {"root_cause": [root], **cause}, "status": status}


def es_error(status, error_type, reason, **extra):
    """A Flask response in Elasticsearch's error envelope."""
    response = jsonify(es_error_body(status, error_type, reason, **extra))
    response.status_code = status
    if status == 401:
        for value in WWW_AUTHENTICATE:
            response.headers.add("WWW-Authenticate", value)
    return response


def html_error(status, title, message):
    """The error as a partial for htmx (swapped into the page's message area) or as a full page."""
    if wants_partial():
        body = render_template("errors/_error.html", status=status, title=title, message=message)
        return respond(body, status, retarget="#page-message", reswap="innerHTML")
    return respond(render_template("errors/error.html", status=status, title=title, message=message), status)


_HTML_TITLES = {
    400: "The request could not be understood",
    401: "Sign-in needed",
    403: "You don't have permission",
    404: "Not found",
    405: "Not allowed here",
    409: "Conflict",
    413: "Too large",
    429: "Too many attempts",
    503: "Temporarily unavailable",
}


def domain_error_response(error):
    if wants_json():
        extra = dict(error.extra)
        response = es_error(error.status, error.type, error.reason, **extra)
        for name, value in error.header.items():
            response.headers[name] = value
        return response
    return html_error(error.status, _HTML_TITLES.get(error.status, "Something went wrong"), error.reason)


def too_large_reason(length=None):
    """The JSON API's reason for a body over KEYDESK_MAX_REQUEST_BYTES (`length` when the request declared it)."""
    from flask import current_app

    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if length:
        return f"request body is too large: [{length}] bytes, at most [{limit}] are accepted"
    return f"request body is too large: at most [{limit}] bytes are accepted"


def _too_large_message():
    from flask import current_app

    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    if limit and limit % (1024 * 1024) == 0:
        size = f"{limit // (1024 * 1024):,} MiB"
    else:
        size = f"{limit // 1024:,} KiB" if limit % 1024 == 0 else f"{limit:,} bytes"
    return (f"The request is larger than Keydesk accepts (at most {size}). Nothing was changed; shorten what "
            "you entered and try again.")


def http_error_response(error):
    status = error.code or 500
    if status in (404, 405) and elasticsearch_off_route() and elasticsearch_off_route_view():
        return _off_route_answer()
    description = error.description
    if status == 413:  # Werkzeug's words name no limit; ours do
        description = too_large_reason(request.content_length) if wants_json() else _too_large_message()
    if wants_json():
        response = es_error(status, _HTTP_TYPES.get(status, "exception"), description or error.name)
    else:
        response = html_error(status, _HTML_TITLES.get(status, error.name), description)
    if status == 429:
        from webapp.web.throttle import retry_after_seconds

        response.headers["Retry-After"] = str(retry_after_seconds())
    return response


def _off_route_answer():
    """The API's answer where no route is: Elasticsearch's 401 for missing or wrong credentials first, then
    its 404/400/405 for the path (webapp/api/off_route.py)."""
    from flask import current_app

    try:
        return elasticsearch_off_route_view()()
    except Exception as refusal:  # noqa: BLE001 (answered by its own handler: 401, 429, 503 ...)
        return current_app.handle_user_exception(refusal)


def database_unavailable_response(error):
    """The database can't be reached or stays locked: 503 with Retry-After, nothing half-done (the
    transaction, if any, was rolled back), and no connection details shown."""
    from flask import current_app, g

    g.keydesk_database_down = True
    current_app.logger.error("database unavailable on %s %s: %s", request.method, request.path, error)
    reason = "the security store is temporarily unavailable; retry later"
    if wants_json():
        response = es_error(503, "status_exception", reason)
    else:
        response = html_error(503, _HTML_TITLES[503], "The database can't be reached right now. Nothing was "
                                                     "changed; please try again in a moment.")
    response.headers["Retry-After"] = "5"
    return response


def unexpected_error_response(error):
    """Last resort: log it, and answer without a stack trace."""
    from flask import current_app

    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    if wants_json():
        return es_error(500, "exception", "an internal error occurred; it has been logged")
    return html_error(500, "Something went wrong", "The error has been logged. Please try again.")


def init_app(app):
    app.register_error_handler(DomainError, domain_error_response)
    app.register_error_handler(HTTPException, http_error_response)
    for unavailable in (OperationalError, InterfaceError, MaxConnectionsExceeded):
        app.register_error_handler(unavailable, database_unavailable_response)
    app.register_error_handler(Exception, unexpected_error_response)
