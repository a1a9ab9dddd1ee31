"""Finding API keys for the JSON API: the Get API (`GET /_security/api_key`) and the Query API
(`/_security/_query/api_key`), with Elasticsearch's rules, on top of `visibility.visible_keys(subject)`.

The Query API's DSL is translated in es_query.dsl, its aggregations in es_query.aggregations; this module
checks the request, pages (from/size up to 10,000, then search_after), sorts, and shapes each key as ES does.
"""

import functools
import operator

from peewee import ColumnBase, Ordering

from webapp.clock import now_ms
from webapp.errors import DomainError, ValidationFailed, unauthorized
from webapp.model import ApiKey
from webapp.security import privileges
from webapp.security.subject import Subject
from webapp.services.access.rights import require
from webapp.services.api_keys import visibility
from webapp.services.api_keys.checks import ensure_enabled, selector_problems
from webapp.services.api_keys.es_query import fields as f
from webapp.services.api_keys.es_query.aggregations import parse_aggregations, run_aggregations
from webapp.services.api_keys.es_query.dsl import condition
from webapp.services.api_keys.es_query.fields import parsing_error

MAX_RESULT_WINDOW = 10_000
GET_LIMIT = 10_000
LONG_MAX = 9_223_372_036_854_775_807
LONG_MIN = -9_223_372_036_854_775_808


# ---- Get API ------------------------------------------------------------------------------------------

def get_api_keys(subject: Subject, *, key_id: str | None = None, name: str | None = None,
                 username: str | None = None, realm_name: str | None = None, owner: bool = False,
                 active_only: bool = False, with_limited_by: bool = False) -> list[dict]:
    """The keys the Get API answers with, as ES's ApiKey objects (at most 10,000, oldest first)."""
    ensure_enabled()
    problems = selector_problems(by_id=bool(key_id), name=name, username=username, realm_name=realm_name,
                                 owner=owner, plural=False)
    if problems:
        raise ValidationFailed(problems)
    require(subject, privileges.API_KEY_GET)
    if not visibility.sees_all_keys(subject) and not _asks_for_own(subject, key_id, username, realm_name, owner):
        raise unauthorized(subject, privileges.API_KEY_GET, privileges.SEE_EVERY_KEY)
    if with_limited_by:
        _check_limited_by(subject, privileges.API_KEY_GET)
    query = visibility.selected(visibility.visible_keys(subject), ids=[key_id] if key_id else None, name=name,
                                username=username, realm_name=realm_name)
    if owner:
        query = query.where(visibility.own_keys(subject))
    if active_only:
        now = now_ms()
        query = query.where((ApiKey.invalidated == False) & (  # noqa: E712 (SQL)
            ApiKey.expiration.is_null() | (ApiKey.expiration > now)))
    rows = query.order_by(ApiKey.creation, ApiKey.id).limit(GET_LIMIT)
    return [key_to_json(key, with_limited_by=with_limited_by) for key in rows]


def _check_limited_by(subject, action):
    """ES: an API key that sees keys only as their owner (manage_own_api_key) may not ask for limited-by
    descriptors, not even its own; users may for their own keys, and read_security or higher for any."""
    if subject.is_api_key:
        require(subject, action, privileges.granting_privileges(action, owner_scoped=False))


def _asks_for_own(subject, key_id, username, realm_name, owner):
    """ES's rule for manage_own_api_key: the request itself must be about the caller's own keys."""
    if owner:
        return True
    if subject.is_api_key:
        return key_id == subject.api_key_id
    return username == subject.username and realm_name == subject.realm


def key_to_json(key: ApiKey, *, with_limited_by: bool = False) -> dict:
    """The ApiKey object as Elasticsearch's get/query APIs return it."""
    body = {
        "id": key.id,
        "name": key.name,
        "type": key.type,
        "creation": key.creation,
        "invalidated": key.invalidated,
        "username": key.owner_username,
        "realm": key.owner_realm,
        "realm_type": key.owner_realm_type,
        "metadata": key.metadata or {},
        "role_descriptors": key.role_descriptors or {},
    }
    if key.expiration is not None:
        body["expiration"] = key.expiration
    if key.invalidated and key.invalidation is not None:
        body["invalidation"] = key.invalidation
    if key.type == "cross_cluster":
        body["access"] = key.access or {}
    elif with_limited_by:
        body["limited_by"] = key.limited_by or []
    return body


# ---- Query API ----------------------------------------------------------------------------------------

def query_api_keys(subject: Subject, *, query: dict | None = None, aggs: dict | None = None, from_: int | None = None,
                   size: int | None = None, sort: object = None, search_after: list | None = None,
                   with_limited_by: bool = False, typed_keys: bool = False) -> dict:
    """ES's Query API answer: {total, count, api_keys[, aggregations]} over the keys the subject may see."""
    ensure_enabled()
    require(subject, privileges.API_KEY_QUERY)
    if with_limited_by:
        _check_limited_by(subject, privileges.API_KEY_QUERY)
    start, count = result_window(from_, size)
    where = condition(query) if query is not None else f.TRUE
    sort_keys = parse_sort(sort)
    after = _search_after(search_after, sort_keys, start)
    parsed_aggs = parse_aggregations(aggs) if aggs is not None else []
    everything = visibility.visible_keys(subject)
    base = everything.where(where)
    total, rows = fetch_page(base, sort_keys, after, start, count, [ApiKey.creation.asc(), ApiKey.id.asc()],
                             ApiKey.id)
    found = []
    for row in rows:
        body = key_to_json(row, with_limited_by=with_limited_by)
        if sort_keys:
            body["_sort"] = sort_values(row, sort_keys)
        found.append(body)
    answer = {"total": total, "count": len(found), "api_keys": found}
    if aggs is not None:
        answer["aggregations"] = run_aggregations(parsed_aggs, base, everything, typed_keys)
    return answer


def result_window(from_: int | None, size: int | None) -> tuple[int, int]:
    """(start, count) from `from` and `size` (default 10), with ES's messages when negative or beyond 10,000."""
    problems = []
    if from_ is not None and from_ < 0:
        problems.append(f"[from] parameter cannot be negative but was [{from_}]")
    if size is not None and size < 0:
        problems.append(f"[size] parameter cannot be negative but was [{size}]")
    if problems:
        raise ValidationFailed(problems)
    start, count = from_ or 0, 10 if size is None else size
    if start + count > MAX_RESULT_WINDOW:
        raise f.illegal(f"Result window is too large, from + size must be less than or equal to: "
                        f"[{MAX_RESULT_WINDOW}] but was [{start + count}]. See the scroll api for a more "
                        "efficient way to request large data sets. This limit can be set by changing the "
                        "[index.max_result_window] index level setting.")
    return start, count


def fetch_page(base, sort_keys, after, start, count, default_order, tiebreak):
    """(total of `base`, the rows of one page): sorted by `sort_keys` (then `tiebreak`, so ties come back in a
    stable order page after page) or `default_order`, after the search_after condition `after`."""
    total = base.count()
    page = base.where(after) if after is not None else base
    ordering = [key.order() for key in sort_keys] + [tiebreak.asc()] if sort_keys else list(default_order)
    rows = page.select_extend(*[key.expression.alias(f"_sort{number}") for number, key in enumerate(sort_keys)]) \
        .order_by(*ordering).offset(start).limit(count) if count else []
    return total, rows


def sort_values(row, sort_keys) -> list:
    """A row's `_sort` values."""
    return [key.value(getattr(row, f"_sort{number}")) for number, key in enumerate(sort_keys)]


class SortKey:
    """One sort field: the SQL expression ordered on, its direction, and how its values read back."""

    def __init__(self, field: f.Field | None, descending: bool, doc: ColumnBase = ApiKey.id) -> None:
        self.field, self.descending = field, descending
        if field is None:  # _doc: insertion order, told apart by id
            self.expression = doc
        elif field.kind == f.FLATTENED:
            self.expression = f.leaf_sort_value(field, descending)
        elif field.nullable:
            # ES sorts missing values last and reports them as the extreme long: the same here.
            sentinel = LONG_MIN if descending else LONG_MAX
            self.expression = f.coalesce(field.column, sentinel)
        elif field.kind == f.KEYWORD:
            self.expression = f.column_bytes(field.column)
        else:
            self.expression = field.column

    def order(self) -> Ordering:
        """The ORDER BY term."""
        if self.field is not None and self.field.kind == f.FLATTENED:
            return self.expression.desc(nulls="LAST") if self.descending else self.expression.asc(nulls="LAST")
        return self.expression.desc() if self.descending else self.expression.asc()

    def value(self, raw: object) -> object:
        """A selected sort value as `_sort` reports it."""
        if self.field is not None and self.field.kind == f.BOOLEAN:
            return bool(raw)
        if self.field is not None and self.field.kind == f.DATE:
            return int(raw)
        return raw

    def after(self, value: object) -> tuple[ColumnBase, ColumnBase]:
        """(strictly after `value`, equal to `value`) conditions for search_after."""
        if self.field is not None and self.field.kind == f.FLATTENED:
            if value is None:
                return f.FALSE, self.expression.is_null()
            value = f.keyword_value(value)
            beyond = (self.expression < value) if self.descending else (self.expression > value)
            return beyond | self.expression.is_null(), self.expression == value
        if self.field is not None and self.field.kind == f.DATE:
            value = f.date_value(value, self.field.name)
        elif self.field is not None and self.field.kind == f.BOOLEAN:
            value = f.boolean_value(value)
        elif value is not None:
            value = f.keyword_value(value)
        if value is None:
            raise f.illegal("search_after doesn't support a null value for this sort field")
        beyond = (self.expression < value) if self.descending else (self.expression > value)
        return beyond, self.expression == value


def parse_sort(sort: object, fields: f.FieldSet = f.API_KEYS, doc: ColumnBase = ApiKey.id) -> list[SortKey]:
    """SortKeys from ES's sort forms: "field", {"field": "desc"}, {"field": {"order": "desc"}}, or a list;
    names resolved in `fields`, `_doc` sorting by `doc`."""
    if sort is None:
        return []
    entries = sort if isinstance(sort, list) else [sort]
    keys = []
    for entry in entries:
        if isinstance(entry, str):
            name, direction = entry, "asc"
        elif isinstance(entry, dict) and len(entry) == 1:
            (name, spec), = entry.items()
            if isinstance(spec, dict):
                unknown = [k for k in spec if k not in ("order", "missing", "unmapped_type", "format", "mode",
                                                        "numeric_type")]
                if unknown:
                    raise parsing_error(f"[field_sort] unknown field [{unknown[0]}]")
                direction = spec.get("order", "asc")
            else:
                direction = spec
        else:
            raise f.illegal("mal-formatted sort object")
        if not isinstance(direction, str) or direction.lower() not in ("asc", "desc"):
            raise f.illegal(f"Unknown SortOrder [{direction}]")
        descending = direction.lower() == "desc"
        if name == "_doc":
            keys.append(SortKey(None, descending, doc))
            continue
        field = fields.resolve(name)
        if not field.sortable:
            raise f.illegal(f"sorting is not supported for field [{name}]")
        keys.append(SortKey(field, descending, doc))
    return keys


def sort_from_param(text: str) -> list:
    """The `sort` query parameter (`name:desc,creation`) in the body's list form."""
    entries = []
    for part in text.split(","):
        if not part:
            continue
        name, _, direction = part.partition(":")
        entries.append({name: direction} if direction else name)
    return entries


def search_after_condition(values: list | None, sort_keys: list[SortKey], start: int) -> ColumnBase | None:
    """The condition for rows after `values` in the sort order (None without search_after), with ES's checks."""
    return _search_after(values, sort_keys, start)


def _search_after(values, sort_keys, start):
    if values is None:
        return None
    if not isinstance(values, list):
        raise parsing_error("[search_after] must be an array")
    if not sort_keys:
        raise f.illegal("Sort must contain at least one field.")
    if start > 0:
        raise ValidationFailed(["`from` parameter must be set to 0 when `search_after` is used."])
    if len(values) != len(sort_keys):
        raise f.illegal(f"search_after has {len(values)} value(s) but sort has {len(sort_keys)}.")
    alternatives, equal_so_far = [], []
    for key, value in zip(sort_keys, values, strict=True):
        beyond, same = key.after(value)
        alternatives.append(functools.reduce(operator.and_, [*equal_so_far, beyond]))
        equal_so_far.append(same)
    return functools.reduce(operator.or_, alternatives)


__all__ = ["DomainError", "get_api_keys", "query_api_keys", "sort_from_param"]
