"""Keyset paging for the keys list: the sort orders, their tie-breakers, and the cursors that carry a position.

Every order ends in `creation` and `id` (unique), so a position is exact and a page at any depth costs one
index range. A cursor is the boundary row's sort values, with the sort it belongs to, in URL-safe base64.
"""

import base64
import binascii
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from peewee import JOIN, SQL, CursorWrapper, Entity, Expression, Join, ModelSelect, NodeList, Table, Tuple, fn

from webapp.errors import ValidationFailed
from webapp.model import ApiKey
from webapp.model.db import is_sqlite
from webapp.security import limits
from webapp.security.subject import Subject
from webapp.services.api_keys import visibility
from webapp.services.api_keys.criteria import KeyCriteria
from webapp.services.api_keys.usage import IDLE_SINCE
from webapp.services.schema.upgrade import NEVER_EXPIRES

if TYPE_CHECKING:  # listing imports this module
    from webapp.services.api_keys.listing import _Plan

EXPIRY = fn.COALESCE(ApiKey.expiration, SQL(str(NEVER_EXPIRES)))  # literal, to match the index expression
LAST_USED = fn.COALESCE(ApiKey.last_used, SQL("0"))
SORT_KEYS = {
    "name": (ApiKey.name, ApiKey.creation, ApiKey.id),
    "type": (ApiKey.managed, ApiKey.type, ApiKey.creation, ApiKey.id),
    "owner": (ApiKey.owner_username, ApiKey.owner_realm, ApiKey.creation, ApiKey.id),
    "realm": (ApiKey.owner_realm, ApiKey.owner_username, ApiKey.creation, ApiKey.id),
    "created": (ApiKey.creation, ApiKey.id),
    "status": (EXPIRY, ApiKey.creation, ApiKey.id),
    "last_used": (LAST_USED, ApiKey.creation, ApiKey.id),
}


# The trigram index's row numbers (schema/upgrade.py): seq -> key id; the FTS5 table is keyed by seq.
SEARCH_ROWS = Table("api_key_search", ("seq", "key_id")).alias("s")
TRIGRAMS = Table("api_key_fts", ("rowid", "api_key_fts"))  # FTS5: the hidden column named like the table


def _through_search_rows(rows, seq):
    """`rows` CROSS JOIN api_key_search CROSS JOIN api_key: the keys whose seq `rows` lists, in that order.

    CROSS JOIN fixes the join order in SQLite: without statistics it can't know the list is short and would
    otherwise scan the table probing it."""
    matched = Join(rows, SEARCH_ROWS, JOIN.CROSS, on=SEARCH_ROWS.seq == seq)
    return Join(matched, ApiKey, JOIN.CROSS, on=ApiKey.id == SEARCH_ROWS.key_id)


def candidate_source(seqs: Sequence[int]) -> Join:
    """The keys with these trigram-index row numbers, driven by the list (a FROM for `execute` and `count`)."""
    return _through_search_rows(fn.json_each(json.dumps(seqs)).alias("candidate"), Entity("candidate", "value"))


def trigram_source(fts_query: str, scan_limit: int) -> Join:
    """The keys among the first `scan_limit` matches of an FTS5 query, driven by the index's matches."""
    matches = (TRIGRAMS.select(TRIGRAMS.rowid.alias("seq"))
               .where(Expression(TRIGRAMS.api_key_fts, "MATCH", fts_query)).limit(scan_limit).alias("f"))
    return _through_search_rows(matches, matches.c.seq)


def _from_source(query, plan):
    return query if plan.source is None else query.from_(plan.source)


def execute(query: ModelSelect, plan: "_Plan") -> CursorWrapper:
    """Rows (tuples) of a Peewee query over api_key, from the plan's own source when it has one."""
    return _from_source(query, plan).tuples().execute()


def count(query: ModelSelect, plan: "_Plan") -> int:
    """COUNT of a query (its LIMIT kept), from the plan's source."""
    return _from_source(query, plan).count()


def _hidden(key):
    """Unary plus: the same value, but SQLite's planner no longer sees an indexed column in it."""
    return NodeList((SQL("+"), key), glue="")


def _ordered(query, keys, descending, sort_first):
    keys = list(keys)
    if sort_first and is_sqlite():
        keys[0] = _hidden(keys[0])  # filter first, then sort, rather than walk the sort order
    return query.order_by(*[key.desc() if descending else key.asc() for key in keys])


def unused_condition(cutoff: int, walking: str | None = None, narrowed: bool = False) -> Expression:
    """Keys idle since before `cutoff` (usage.py's "not used for 90 days"), written for the plan that should run.

    Counting them, or collecting a few to sort: one range of the idle-time index, or, when other conditions
    (an owner, an expiry range) narrow the keys, a test of each key those conditions' index finds. `walking`
    the list's sort order: a test of each key met on that order's index, starting at the cutoff where the
    index allows (last used; created). SQLite, which has no statistics, would otherwise take any range of the
    idle-time index over a better index and sort every match, so the ranges it should not use are hidden from
    it; PostgreSQL, which weighs them with its statistics, gets all three ranges every time. All forms say the
    same, since a key is used only after it is created."""
    if not is_sqlite():
        return (IDLE_SINCE < cutoff) & (LAST_USED < cutoff) & (ApiKey.creation < cutoff)
    if walking == "last_used":
        return (LAST_USED < cutoff) & (_hidden(ApiKey.creation) < cutoff)
    if walking is None and not narrowed:
        return IDLE_SINCE < cutoff
    idle = _hidden(IDLE_SINCE) < cutoff
    return idle & (ApiKey.creation < cutoff) if walking == "created" else idle


def _after(keys, values, descending, sort_first):
    if sort_first and is_sqlite():
        keys = [_hidden(keys[0]), *keys[1:]]
    position, bound = Tuple(*keys), Tuple(*values)
    return position < bound if descending else position > bound


def page_ids(subject: Subject, criteria: KeyCriteria, plan: "_Plan", cursor: list | None, *, backward: bool,
             sort_first: bool) -> tuple[list[str], str | None, str | None]:
    """(ids in display order, next cursor, previous cursor) for one page."""
    keys = SORT_KEYS[criteria.sort]
    descending = (criteria.direction == "desc") != backward
    columns = [key.alias(f"k{i}") for i, key in enumerate(keys)]
    base = visibility.visible_keys(subject, ApiKey.select(*columns)).where(*plan.conditions)
    wanted = criteria.size + 1
    if cursor is None:
        rows = list(execute(_ordered(base, keys, descending, sort_first).limit(wanted), plan))
    elif keys[0] is EXPIRY or keys[0] is LAST_USED:
        # SQLite can't seek an expression index with a row value, so split the position in two seekable
        # ranges: the rest of the cursor's tie group, then everything past its first sort value.
        first = _hidden(keys[0]) if sort_first and is_sqlite() else keys[0]
        ties = base.where(first == cursor[0], _after(keys[1:], cursor[1:], descending, sort_first))
        rows = list(execute(_ordered(ties, keys[1:], descending, sort_first).limit(wanted), plan))
        if len(rows) < wanted:
            beyond = base.where(first < cursor[0] if descending else first > cursor[0])
            rows += list(execute(_ordered(beyond, keys, descending, sort_first).limit(wanted - len(rows)), plan))
    else:
        query = base.where(_after(keys, cursor, descending, sort_first))
        rows = list(execute(_ordered(query, keys, descending, sort_first).limit(wanted), plan))
    more = len(rows) > criteria.size
    rows = rows[:criteria.size]
    if backward:
        rows.reverse()
    ids = [row[-1] for row in rows]
    if not rows:
        return ids, None, None
    has_next = True if backward else more
    has_prev = more if backward else cursor is not None
    return (ids, _encode_cursor(criteria, rows[-1]) if has_next else None,
            _encode_cursor(criteria, rows[0]) if has_prev else None)


def _encode_cursor(criteria, values):
    body = json.dumps([criteria.sort, criteria.direction, [_plain(v) for v in values]], separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def _plain(value):
    return int(value) if isinstance(value, bool) else value


STALE_CURSOR = "This page link no longer fits the list; start again from the first page."


def decode_cursor(criteria: KeyCriteria, token: str) -> list:
    """The sort values a cursor carries; ValidationFailed when it is malformed or made for another sort."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        sort, direction, values = limits.loads(raw)  # a crafted cursor nested deep is a bad cursor, not a 500
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as error:
        raise ValidationFailed([STALE_CURSOR], fields={"cursor": STALE_CURSOR}) from error
    keys = SORT_KEYS[criteria.sort]
    if (sort, direction) != (criteria.sort, criteria.direction) or not isinstance(values, list) \
            or len(values) != len(keys) or not all(_fits(key, v) for key, v in zip(keys, values, strict=True)):
        raise ValidationFailed([STALE_CURSOR], fields={"cursor": STALE_CURSOR})
    return [bool(v) if key is ApiKey.managed else v for key, v in zip(keys, values, strict=True)]


_TEXT_KEYS = (ApiKey.name, ApiKey.type, ApiKey.owner_username, ApiKey.owner_realm, ApiKey.id)


def _fits(key, value):
    if key is ApiKey.managed:
        return value in (0, 1) and not isinstance(value, float)
    if any(key is text for text in _TEXT_KEYS):
        return isinstance(value, str)
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63  # a database integer
