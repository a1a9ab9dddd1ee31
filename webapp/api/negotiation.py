"""Media types of the JSON API, as Elasticsearch handles them, and the shaping of its answers.

Requests may say `application/json` or `application/vnd.elasticsearch+json; compatible-with=N` (what the
official clients send); both are JSON. The answer uses the vendor type back when the client asked for it,
and honours ES's `pretty` and `filter_path` parameters.
"""

import json
import re

from flask import current_app, request

from webapp.errors import DomainError

JSON_TYPES = ("application/json", "application/vnd.elasticsearch+json")
COMPATIBLE_VERSIONS = (8, 9)
_COMPATIBLE = re.compile(r"compatible-with\s*=\s*\"?(\d+)\"?", re.IGNORECASE)


def _media_type(header):
    """(base type, compatible-with version or None) of a Content-Type / Accept value (its first entry)."""
    first = header.split(",")[0]
    base = first.split(";")[0].strip().lower()
    match = _COMPATIBLE.search(first)
    return base, (int(match.group(1)) if match else None)


def _media_error(status, reason, cause=None):
    extra = {"caused_by": {"type": "status_exception", "reason": cause}} if cause else None
    return DomainError(reason, type="media_type_header_exception", status=status, extra=extra)


def plain_request(environ) -> bool:
    """Whether a request is the common case `check_request` has nothing to refuse in: no body, no Content-Type,
    and no compatible-with version (in Accept) other than one Keydesk speaks."""
    if environ.get("CONTENT_TYPE") or environ.get("CONTENT_LENGTH") or "HTTP_TRANSFER_ENCODING" in environ:
        return False
    accept = environ.get("HTTP_ACCEPT", "")
    return "compatible-with" not in accept or _media_type(accept)[1] in (None, *COMPATIBLE_VERSIONS)


def check_request():
    """Refuse bodies that aren't JSON, mismatched compatible-with versions, and bodies over the size limit."""
    environ = request.environ
    if plain_request(environ):
        return
    content_type = environ.get("CONTENT_TYPE", "")
    accept = environ.get("HTTP_ACCEPT", "")
    length = request.content_length
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and length and length > limit:
        from webapp.web.errors import too_large_reason

        raise DomainError(too_large_reason(length), type="content_too_long_exception", status=413)
    has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding") == "chunked"
    content_base, content_version = _media_type(content_type) if content_type else (None, None)
    if has_body and content_type and content_base not in JSON_TYPES:
        raise _media_error(406, f"Content-Type header [{content_type}] is not supported")
    if has_body and not content_type:
        raise _media_error(406, "Content-Type header is missing")
    accept_version = _media_type(accept)[1] if accept else None
    versions = {name: version for name, version in (("Content-Type", content_version),
                                                     ("Accept", accept_version)) if version is not None}
    for name, version in versions.items():
        if version not in COMPATIBLE_VERSIONS:
            header = content_type if name == "Content-Type" else accept
            allowed = " or ".join(str(v) for v in reversed(COMPATIBLE_VERSIONS))
            raise _media_error(400, f"Invalid media-type value on headers [{name}]",
                               f"{name} version must be either version {allowed}, but found {version}. "
                               f"{name}={header}")
    if has_body and len(set(versions.values())) > 1:
        raise _media_error(400, "Invalid media-type value on headers [Content-Type, Accept]",
                           "A compatible version is required on both Content-Type and Accept headers if either "
                           "one has requested a compatible version and the compatible versions must match. "
                           f"Accept={accept}, Content-Type={content_type}")


def response_media_type(environ) -> str:
    """The Content-Type of a JSON answer: the vendor type (with its version) when the client asked for it."""
    if "vnd.elasticsearch" not in environ.get("HTTP_ACCEPT", "") + environ.get("CONTENT_TYPE", ""):
        return "application/json"
    base, version = _media_type(environ.get("HTTP_ACCEPT", ""))
    if base == "application/vnd.elasticsearch+json" and version in COMPATIBLE_VERSIONS:
        return f"application/vnd.elasticsearch+json;compatible-with={version}"
    content_base, content_version = _media_type(environ.get("CONTENT_TYPE", ""))
    if content_base == "application/vnd.elasticsearch+json" and content_version in COMPATIBLE_VERSIONS:
        return f"application/vnd.elasticsearch+json;compatible-with={content_version}"
    return "application/json"


def _filter(value, paths):
    """ES's filter_path: keep the parts of the answer named by dotted paths (`*` one level, `**` any)."""
    if not paths:
        return value
    if isinstance(value, list):
        kept = [_filter(item, paths) for item in value]
        return [item for item in kept if item is not _DROP]
    if not isinstance(value, dict):
        return value if any(not path for path in paths) else _DROP
    result = {}
    for key, item in value.items():
        deeper, whole = [], False
        for path in paths:
            if not path:
                whole = True
                continue
            head, rest = path[0], path[1:]
            if head == "**":
                deeper.append(path)
                deeper.append(rest)
                if not rest:
                    whole = True
            elif _matches(head, key):
                if rest:
                    deeper.append(rest)
                else:
                    whole = True
        if whole:
            result[key] = item
        elif deeper:
            kept = _filter(item, deeper)
            if kept is not _DROP and kept != {} and kept != []:
                result[key] = kept
    return result if result else _DROP


_DROP = object()


def _matches(pattern, key):
    if "*" not in pattern:
        return pattern == key
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), key) is not None


def _in_es_order(error):
    """An error object with its keys in the order Elasticsearch writes them."""
    first = ("root_cause", "type", "reason")
    ordered = {key: error[key] for key in first if key in error}
    ordered.update({key: value for key, value in error.items() if key not in first})
    if isinstance(ordered.get("root_cause"), list):
        ordered["root_cause"] = [_in_es_order(cause) if isinstance(cause, dict) else cause
                                 for cause in ordered["root_cause"]]
    if isinstance(ordered.get("caused_by"), dict):
        ordered["caused_by"] = _in_es_order(ordered["caused_by"])
    return ordered


def shape_response(response):
    """Set the media type the client asked for; apply `filter_path` and `pretty` to JSON answers."""
    if response.mimetype != "application/json" or response.direct_passthrough:
        return response
    environ = request.environ
    args = request.args if environ.get("QUERY_STRING") else {}
    filter_path = args.get("filter_path")
    pretty = args.get("pretty") is not None and args.get("pretty") != "false"
    is_error = response.status_code >= 400
    if filter_path or pretty or is_error:
        body = response.get_json(silent=True)
        if is_error and isinstance(body, dict) and isinstance(body.get("error"), dict):
            body = {"error": _in_es_order(body["error"]), **{k: v for k, v in body.items() if k != "error"}}
        if body is not None:
            if filter_path:
                paths = [part.split(".") for part in filter_path.split(",") if part]
                body = _filter(body, paths)
                body = {} if body is _DROP else body
            text = json.dumps(body, indent=2 if pretty else None, separators=None if pretty else (",", ":"))
            response.set_data(text + ("\n" if pretty else ""))
    if "vnd.elasticsearch" in environ.get("HTTP_ACCEPT", "") + environ.get("CONTENT_TYPE", ""):
        response.headers["Content-Type"] = response_media_type(environ)
    return response


def json_text(body) -> str:
    """A JSON answer's text: compact, keys in the order Elasticsearch writes them (no sorting)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def answer(body, status=200):
    """A JSON response with the body's keys in the order Elasticsearch writes them (no sorting)."""
    return current_app.response_class(json_text(body), status=status, content_type="application/json")
