"""Elasticsearch's answers for objects got or deleted by name (roles, users): one shape for both."""

from collections.abc import Callable

from flask import Response

from webapp.api.negotiation import answer
from webapp.api.parsing import check_params, list_param, refresh_param
from webapp.security.subject import Subject
from webapp.web.guard import current_subject


def get_by_names(lookup: Callable[[Subject, list[str] | None], dict], names: str | None,
                 *params: str) -> Response:
    """200 with {name: object}; 404 with {} when names were asked for and none exists."""
    check_params(*params)
    wanted = list_param(names) or None
    found = lookup(current_subject(), wanted)
    return answer(found, 404 if wanted and not found else 200)


def delete_by_name(delete: Callable[[Subject, str], bool], name: str) -> Response:
    """200 with {found: true}, or 404 with {found: false}."""
    check_params("refresh")
    refresh_param()
    found = delete(current_subject(), name)
    return answer({"found": found}, 200 if found else 404)
