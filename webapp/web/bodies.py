"""Bodies of unknown length (chunked) are held to KEYDESK_MAX_REQUEST_BYTES like any other.

Werkzeug refuses a declared Content-Length over the limit, but a chunked body it reads only up to the limit
and then stops, without saying so: the form or JSON parser would see the first megabyte as the whole body.
So such a body is read here first, before anything else looks at the request: over the limit it is a 413;
within it, the request goes on as if the body had been sent with its Content-Length.
"""

import io

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

_CHUNK = 64 * 1024


def _buffer_unsized_body():
    environ = request.environ
    # Only a chunked body has no length (HTTP/1.1: no Content-Length and no Transfer-Encoding is no body), and
    # Werkzeug reads one only when the server says it terminates the input.
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower() or "wsgi.input_terminated" not in environ:
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    stream, body = environ["wsgi.input"], bytearray()
    while len(body) <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - len(body)))
        if not chunk:
            break
        body += chunk
    if len(body) > limit:
        raise RequestEntityTooLarge()
    environ["wsgi.input"] = io.BytesIO(bytes(body))
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    request.__dict__.pop("content_length", None)  # a cached None, if anything asked already


def init_app(app):
    """Run first, before the database connection, CSRF and throttling hooks read anything."""
    app.before_request_funcs.setdefault(None, []).insert(0, _buffer_unsized_body)
