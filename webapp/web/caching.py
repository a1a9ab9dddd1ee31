"""Answers kept out of every cache: the ones that carry a secret shown once (a new API key's)."""

from flask import Response


def keep_out_of_caches(response: Response) -> Response:
    """Mark `response` no-store (and no-cache for HTTP/1.0 caches); returns it."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
