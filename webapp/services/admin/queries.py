"""The user and role Query APIs (`/_security/_query/user`, `/_security/_query/role`, Elasticsearch 8.14/8.15).

The query, paging (from/size up to 10,000), sort and search_after rules are the API key Query API's
(services/api_keys/es_query), over the user and role fields of es_query/field_sets.py. As in Elasticsearch,
only what the native realm stores is searched: native users (not the reserved ones, and not proxy-realm users,
which come from the proxy like users of an external realm) and roles that aren't reserved (built in).
"""

from webapp.model import Role, User
from webapp.security import privileges
from webapp.security.subject import Subject
from webapp.services.access.rights import require
from webapp.services.admin.users import roles_by_user, user_to_json
from webapp.services.api_keys.es_query import fields as f
from webapp.services.api_keys.es_query.dsl import condition
from webapp.services.api_keys.es_query.field_sets import ROLES, USERS
from webapp.services.api_keys.es_query.search import (
    fetch_page,
    parse_sort,
    result_window,
    search_after_condition,
    sort_values,
)

QUERIED_USER_REALM = "native"


def _page(base, field_set, doc, *, query, from_, size, sort, search_after):
    """(total, [(row, _sort values or None)]) of one page of `base`, in ES's order of checks."""
    start, count = result_window(from_, size)
    where = condition(query, fields=field_set) if query is not None else f.TRUE
    sort_keys = parse_sort(sort, field_set, doc)
    after = search_after_condition(search_after, sort_keys, start)
    total, rows = fetch_page(base.where(where), sort_keys, after, start, count, [doc.asc()], doc)
    return total, [(row, sort_values(row, sort_keys) if sort_keys else None) for row in rows]


def query_users(subject: Subject, *, query: dict | None = None, from_: int | None = None, size: int | None = None,
                sort: object = None, search_after: list | None = None) -> dict:
    """ES's Query User answer: {total, count, users: [{username, roles, full_name, email, metadata, enabled,
    _sort?}]} over the native users (unsorted: in the order they were created)."""
    require(subject, privileges.USER_QUERY)
    base = User.select().where(User.realm == QUERIED_USER_REALM)
    total, found = _page(base, USERS, User.id, query=query, from_=from_, size=size, sort=sort,
                         search_after=search_after)
    roles = roles_by_user([row for row, _ in found])
    users = []
    for row, values in found:
        body = user_to_json(row, roles[row.id])
        if values is not None:
            body["_sort"] = values
        users.append(body)
    return {"total": total, "count": len(users), "users": users}


def query_roles(subject: Subject, *, query: dict | None = None, from_: int | None = None, size: int | None = None,
                sort: object = None, search_after: list | None = None) -> dict:
    """ES's Query Role answer: {total, count, roles: [{name, ...descriptor, _sort?}]} over the roles that
    aren't reserved (unsorted: in the order they were created)."""
    require(subject, privileges.ROLE_QUERY)
    base = Role.select().where(Role.reserved == False)  # noqa: E712 (SQL)
    total, found = _page(base, ROLES, Role.id, query=query, from_=from_, size=size, sort=sort,
                         search_after=search_after)
    roles = []
    for row, values in found:
        body = {"name": row.name, **row.descriptor}
        if values is not None:
            body["_sort"] = values
        roles.append(body)
    return {"total": total, "count": len(roles), "roles": roles}
