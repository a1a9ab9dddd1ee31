"""`/` is two things: the pages' landing redirect and Elasticsearch's cluster-info endpoint (`GET /`, the
clients' first probe). This rule tells them apart; errors, sessions, throttling and the API's answer shaping all
ask it, and the API hands the pages its view for `/` through `app.extensions` (pages and API never import each
other)."""

from flask import current_app, request

_JSON_MEDIA_TYPES = ("application/json", "application/vnd.elasticsearch+json")
ROOT_VIEW = "keydesk_elasticsearch_root"  # app.extensions key: the API's view for `/`


def elasticsearch_at_root():
    """Is this request for `/` an Elasticsearch client's (cluster info) rather than a browser's (the landing
    redirect)? Yes when it carries an Authorization header (the pages never read one) or its Accept header
    rates a JSON type above text/html; a bare `*/*` or no Accept at all stays with the pages."""
    if request.path != "/":
        return False
    environ = request.environ
    if environ.get("HTTP_AUTHORIZATION"):
        return True
    accept = environ.get("HTTP_ACCEPT")
    return bool(accept) and _quality(accept, _JSON_MEDIA_TYPES) > _quality(accept, ("text/html",))


def _quality(accept, media_types):
    """The highest quality an Accept header gives any of `media_types` (their parameters left aside)."""
    best = 0.0
    for entry in accept.split(","):
        base, *params = (part.strip() for part in entry.split(";"))
        base = base.lower()
        kind = base.split("/")[0]
        if not (base in media_types or base == "*/*" or any(base == f"{kind}/*" and t.startswith(kind + "/")
                                                             for t in media_types)):
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best = max(best, quality)
    return best


def elasticsearch_root_view():
    """The API's view answering `/` for an Elasticsearch client, when the API is registered."""
    return current_app.extensions.get(ROOT_VIEW)
