"""The keys page's list: search terms, filters, sort, cursor paging and totals, all as bounded indexed SQL.

Everything starts from `visibility.visible_keys(subject)`. Pages are keyset-paged on the sort columns plus
`creation` and `id` (unique), so any depth costs the same. Totals come from `api_key_tally` (per-owner
counts kept by triggers, schema v2) where the filters allow; status filters count an index range that the
retention purge keeps short; searches count up to COUNT_CAP. Substring search goes through the trigram
index (SQLite FTS5, keyed by api_key_search.seq); a term so common that the index offers more than
CANDIDATE_LIMIT rows is instead checked row by row while walking the sort index, which then finds a page
within a bounded number of rows. Words of one or two characters have no trigram: they are tested row by row
along the sort order, except when the newest keys show the word is rare; then an index lists the keys holding
it (PostgreSQL: a GIN index over each name's one- and two-character substrings, schema v5; SQLite: the
trigram index's term list, each name being indexed padded so that such a word begins one of its trigrams,
schema v9). The rules for parsing what a person types live in key_terms.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from peewee import SQL, Tuple, fn

from webapp.clock import DAY_MS, now_ms
from webapp.model import ApiKey, ApiKeyTally, User
from webapp.model.db import database, is_sqlite
from webapp.security import privileges
from webapp.security.subject import Subject
from webapp.services.access.rights import require
from webapp.services.api_keys import paging as key_paging
from webapp.services.api_keys import short_words, visibility
from webapp.services.api_keys.checks import ensure_enabled
from webapp.services.api_keys.criteria import (
    MIN_SUBSTRING,
    PAGE_SIZES,
    SORTS,
    KeyCriteria,
    SearchTerms,
    build_criteria,
    parse_search,
)
from webapp.services.api_keys.details import rights_of
from webapp.services.api_keys.usage import IDLE_SINCE, UNUSED_MS

__all__ = ["PAGE_SIZES", "SORTS", "KeyCriteria", "KeyPage", "SearchTerms", "Total", "build_criteria",
           "count_keys", "matching_key_ids", "owner_choices", "owner_states", "parse_search", "search_keys"]

EXPIRING_WINDOWS_MS = {"expiring": 7 * DAY_MS, "expiring-30d": 30 * DAY_MS}  # the two "Expiring within" filters
EXPIRY_RANGES = ("expiring", "expiring-30d", "expired")  # ranges of the expiry index: counted there
CANDIDATE_LIMIT = 2000  # a search term matching at most this many keys is resolved through the index alone
COUNT_CAP = 1000  # search totals are exact up to here, "more than" beyond
UNUSED_COUNT_CAP = 10_000  # "Not used for 90 days" totals are exact up to here (a range of the idle-time index)
EXACT_COUNT_LIMIT = 50000  # when the other filters leave at most this many keys, a search is counted exactly
FTS_SCAN_LIMIT = 20000  # index rows a capped search count may look at
OWNER_CHOICES_LIMIT = 500
SELECTIVE_SHARE = 50  # filters leaving under 1/50 of all keys are sorted after filtering
SHORT_SAMPLE = 1000  # a short word is common when this many of the newest keys hold it at least ...
SHORT_COMMON = 5  # ... this many times (then a walk along any sort order finds a page within a few thousand)

@dataclass(frozen=True)
class Total:
    """How many keys match: exactly `n`, more than `n` ("more"), or at least `n` ("at least")."""

    n: int
    kind: str = "exact"

    @property
    def exact(self) -> bool:
        return self.kind == "exact"

    @property
    def label(self) -> str:
        noun = "API key" if self.n == 1 else "API keys"
        if self.kind == "more":
            return f"More than {self.n:,} {noun}"
        if self.kind == "at least":
            return f"At least {self.n:,} {noun}"
        return f"{self.n:,} {noun}"


@dataclass
class KeyPage:
    criteria: KeyCriteria
    keys: list = field(default_factory=list)
    total: Total = Total(0)
    next_cursor: str | None = None
    prev_cursor: str | None = None
    owner_states: dict = field(default_factory=dict)
    any_keys: bool = False  # the caller can see at least one key that isn't invalidated
    rights: object = None  # key_details.KeyRights
    owner_choices: list = field(default_factory=list)  # for the owner filter (callers who see every key)


@dataclass
class _Plan:
    conditions: list
    owners: set | None = None  # the owner filter and owner: terms, resolved to (username, realm) pairs
    searching: bool = False
    candidates: bool = False  # the search resolved to a short list of ids through the trigram index
    source: object = None  # a Peewee FROM (key_paging.candidate_source) that drives the query from that list
    fts_query: str | None = None
    impossible: bool = False
    unused_at: int | None = None  # where the "Not used for 90 days" condition is in `conditions`, and its
    unused_walk: object = None  # form for walking the sort order (paging.unused_condition)


# ---- entry points -----------------------------------------------------------------------------------

def search_keys(subject: Subject, criteria: KeyCriteria, *, after: str | None = None, before: str | None = None,
                now: int | None = None) -> KeyPage:
    """One page of the keys `subject` may see that match `criteria`, with the total and paging cursors."""
    _check(subject)
    cursor = key_paging.decode_cursor(criteria, after or before) if (after or before) else None
    now = now_ms() if now is None else now
    everything = _tally_total(subject, []) if _tally_usable(subject) else int(visible_keys_exist(subject))
    page = KeyPage(criteria=criteria, any_keys=everything > 0, rights=rights_of(subject),
                   owner_choices=_owner_universe(subject, OWNER_CHOICES_LIMIT) if visibility.sees_all_keys(subject)
                   else [])
    plan = _plan(subject, criteria, now)
    if plan.impossible:
        return page
    page.total, narrowed = _count(subject, criteria, plan, now)
    # When the filters leave a small share of all keys and no index follows both them and the sort, it is
    # cheaper to collect those rows and sort them than to walk the sort order looking for them.
    table = _tally_total(None, []) if _tally_usable(subject) else everything
    selective = plan.candidates or (narrowed is not None and narrowed * SELECTIVE_SHARE < table and (
        plan.searching or criteria.effective_status in EXPIRY_RANGES or criteria.unused
        or criteria.sort != "created"))
    if plan.unused_at is not None and not selective:  # many unused keys: walk the sort order, testing each
        plan.conditions[plan.unused_at] = plan.unused_walk
    ids, page.next_cursor, page.prev_cursor = key_paging.page_ids(
        subject, criteria, plan, cursor, backward=bool(before), sort_first=selective)
    rows = {key.id: key for key in ApiKey.select().where(ApiKey.id.in_(ids))} if ids else {}
    page.keys = [rows[i] for i in ids if i in rows]
    page.owner_states = owner_states(page.keys)
    return page


def count_keys(subject: Subject, criteria: KeyCriteria, now: int | None = None) -> Total:
    """The Total for `criteria` alone (what the page shows above the table)."""
    _check(subject)
    now = now_ms() if now is None else now
    plan = _plan(subject, criteria, now)
    return Total(0) if plan.impossible else _count(subject, criteria, plan, now)[0]


def matching_key_ids(subject: Subject, criteria: KeyCriteria, limit: int, now: int | None = None) -> list[str]:
    """Up to `limit` ids of the keys matching `criteria`, unused longest first (for a bulk action on the list)."""
    _check(subject)
    plan = _plan(subject, criteria, now_ms() if now is None else now)
    query = visibility.visible_keys(subject, ApiKey.select(ApiKey.id)).where(*plan.conditions)
    query = query.order_by(IDLE_SINCE, ApiKey.id).limit(limit)
    return [] if plan.impossible else [row[0] for row in key_paging.execute(query, plan)]


def owner_choices(subject: Subject) -> list[tuple[str, str]]:
    """(username, realm) of every owner with keys the subject may see, for the owner filter; bounded."""
    _check(subject)
    return _owner_universe(subject, OWNER_CHOICES_LIMIT)


def _owner_universe(subject, limit=None):
    """Owners with keys (from the tally: a few rows per owner, never a scan of the keys)."""
    if not visibility.sees_all_keys(subject):
        return [subject.owner]
    rows = (ApiKeyTally.select(ApiKeyTally.owner_username, ApiKeyTally.owner_realm)
            .where(ApiKeyTally.n > 0).distinct()
            .order_by(ApiKeyTally.owner_username, ApiKeyTally.owner_realm).limit(limit))
    return [(row.owner_username, row.owner_realm) for row in rows]


def owner_states(keys: Iterable[ApiKey]) -> dict[tuple[str, str], str]:
    """{(username, realm): "enabled" | "disabled" | "deleted"} for the owners of `keys` (one query)."""
    pairs = sorted({(key.owner_username, key.owner_realm) for key in keys})
    if not pairs:
        return {}
    found = {(user.username, user.realm): user.enabled
             for user in User.select(User.username, User.realm, User.enabled).where(
                 Tuple(User.username, User.realm).in_(pairs))}
    return {pair: ("enabled" if found[pair] else "disabled") if pair in found else "deleted" for pair in pairs}


def visible_keys_exist(subject: Subject) -> bool:
    return visibility.visible_keys(subject, ApiKey.select(ApiKey.id)).where(
        ApiKey.invalidated == False).limit(1).exists()  # noqa: E712 (SQL)


def _check(subject):
    ensure_enabled()
    require(subject, privileges.API_KEY_QUERY)


# ---- from criteria to SQL conditions ----------------------------------------------------------------

def _owner_condition(pairs, username=ApiKey.owner_username, realm=ApiKey.owner_realm):
    pairs = sorted(pairs)
    if len(pairs) == 1:
        return (username == pairs[0][0]) & (realm == pairs[0][1])
    return Tuple(username, realm).in_(pairs)


def _kind_condition(kind, table=ApiKey):
    if kind == "personal":
        return (table.type == "rest") & (table.managed == False)  # noqa: E712 (SQL)
    if kind == "cross-cluster":
        return (table.type == "cross_cluster") & (table.managed == False)  # noqa: E712 (SQL)
    return table.managed == True  # noqa: E712 (SQL)


def _status_condition(status, now):
    if status == "active":
        return key_paging.EXPIRY > now
    if status in EXPIRING_WINDOWS_MS:
        return (key_paging.EXPIRY > now) & (key_paging.EXPIRY <= now + EXPIRING_WINDOWS_MS[status])
    return key_paging.EXPIRY <= now


def _owners_matching(term, universe):
    """Owners whose username (or username@realm, when the term has an @) contains `term`, any case."""
    needle = term.casefold()
    if "@" in needle:
        return {(u, r) for u, r in universe if needle in f"{u}@{r}".casefold()}
    return {(u, r) for u, r in universe if needle in u.casefold()}


def _plan(subject, criteria, now):
    terms = criteria.terms
    kind, status = criteria.effective_type, criteria.effective_status
    if kind is False or status is False:
        return _Plan([], impossible=True)
    conditions = [ApiKey.invalidated == (status == "invalidated")]
    if kind:
        conditions.append(_kind_condition(kind))
    if status in ("active", *EXPIRY_RANGES):
        conditions.append(_status_condition(status, now))
    universe = set(_owner_universe(subject)) if (terms.owners or terms.text) else set()
    owners = set(criteria.owners) if criteria.owners else None
    for term in terms.owners:
        matching = _owners_matching(term, universe)
        owners = matching if owners is None else owners & matching
    if owners is not None:
        if not owners:
            return _Plan([], impossible=True)
        conditions.append(_owner_condition(owners))
    plan = _Plan(conditions, owners=owners, searching=bool(terms.text or terms.names))
    if criteria.unused:  # a range of the idle-time index, unless an owner or expiry range narrows the keys more
        narrowed = owners is not None or status in EXPIRY_RANGES or not visibility.sees_all_keys(subject)
        plan.unused_at, plan.unused_walk = len(conditions), key_paging.unused_condition(now - UNUSED_MS, criteria.sort)
        conditions.append(key_paging.unused_condition(now - UNUSED_MS, narrowed=narrowed))
    if plan.searching:
        _add_search(plan, terms, universe)
    return plan


def _phrase(term):
    return '"' + term.replace('"', '""') + '"'


def _has_trigram_index():
    return is_sqlite() and database.execute_sql(
        "SELECT 1 FROM sqlite_master WHERE name = 'api_key_fts'").fetchone() is not None


def _is_short(term):
    return len(term) < MIN_SUBSTRING


def _add_search(plan, terms, universe):
    # One- and two-character words have no trigram; they get their own test below.
    text, names = [t for t in terms.text if not _is_short(t)], [t for t in terms.names if not _is_short(t)]
    if (text or names) and _has_trigram_index():
        query = " AND ".join([_phrase(t) for t in text] + [f"name : {_phrase(t)}" for t in names])
        seqs = [row[0] for row in database.execute_sql(
            "SELECT rowid FROM api_key_fts WHERE api_key_fts MATCH ? LIMIT ?", (query, CANDIDATE_LIMIT + 1))]
        if not seqs:
            plan.impossible = True
            return
        if len(seqs) <= CANDIDATE_LIMIT:
            plan.candidates = True
            plan.source = key_paging.candidate_source(seqs)
            text, names = [], []
        elif len(text) + len(names) == len(terms.text) + len(terms.names):
            plan.fts_query = query
    # A common term (or no trigram index): test each row, walking the sort order.
    short_index = short_words.has_index()
    for term, with_owner in [(t, True) for t in terms.text if t in text or _is_short(t)] + \
            [(t, False) for t in terms.names if t in names or _is_short(t)]:
        owners = _owners_matching(term, universe) if with_owner else set()
        name_matches = ApiKey.name.contains(term)
        if _is_short(term) and short_index and not plan.candidates:
            rare = _rare_short_word(plan, term, owners)
            if plan.impossible:
                return
            name_matches = name_matches if rare is None else rare
        plan.conditions.append(name_matches | _owner_condition(owners) if owners else name_matches)


def _rare_short_word(plan, term, owners):
    """For a one- or two-character word most keys don't hold: the keys whose name holds it, from the
    substring index, as an id list. None when the word is common (walking finds a page soon)."""
    if not term:  # `""` in the search box: an empty word, which every name holds
        return None
    recent = (ApiKey.select(ApiKey.name, ApiKey.owner_username, ApiKey.owner_realm)
              .where(ApiKey.invalidated == False)  # noqa: E712 (SQL)
              .order_by(ApiKey.creation.desc(), ApiKey.id.desc()).limit(SHORT_SAMPLE).alias("recent"))
    held = recent.c.name.contains(term)
    if owners:
        held = held | _owner_condition(owners, recent.c.owner_username, recent.c.owner_realm)
    if ApiKey.select(fn.COUNT(SQL("1"))).from_(recent).where(held).scalar() >= SHORT_COMMON:
        return None
    ids = short_words.keys_holding(term, CANDIDATE_LIMIT)
    if len(ids) > CANDIDATE_LIMIT:
        return None
    if not ids and not owners:
        plan.impossible = True
        return None
    plan.candidates = plan.candidates or not owners
    if not ids:
        return SQL("FALSE")
    # SQLite's index folds the case of every letter; the name test keeps the search's own rule (ASCII only).
    return ApiKey.id.in_(ids) & ApiKey.name.contains(term) if is_sqlite() else ApiKey.id.in_(ids)


# ---- totals -----------------------------------------------------------------------------------------

def _tally_usable(subject):
    return not subject.is_api_key


def _tally_total(subject, conditions):
    query = ApiKeyTally.select(fn.COALESCE(fn.SUM(ApiKeyTally.n), 0))
    if subject is not None and not visibility.sees_all_keys(subject):
        query = query.where(_owner_condition([subject.owner], ApiKeyTally.owner_username,
                                             ApiKeyTally.owner_realm))
    for condition in conditions or [ApiKeyTally.invalidated == False]:  # noqa: E712 (SQL)
        query = query.where(condition)
    return int(query.scalar() or 0)


def _tally_conditions(criteria, plan):
    kind = criteria.effective_type
    conditions = [ApiKeyTally.invalidated == (criteria.effective_status == "invalidated")]
    if kind:
        conditions.append(_kind_condition(kind, ApiKeyTally))
    if plan.owners is not None:
        conditions.append(_owner_condition(plan.owners, ApiKeyTally.owner_username, ApiKeyTally.owner_realm))
    return conditions


def _count(subject, criteria, plan, now):
    """(Total, how many keys the filters other than free text leave, when known cheaply)."""
    if plan.searching and not plan.candidates:
        return _count_common_term(subject, criteria, plan, now)
    base = visibility.visible_keys(subject, ApiKey.select(ApiKey.id)).where(*plan.conditions)
    status = criteria.effective_status
    if criteria.unused and not plan.candidates:
        # Unused keys may be most keys: counted up to a cap; past it, the keys the other filters leave bound them.
        n = base.limit(UNUSED_COUNT_CAP + 1).count()
        if n > UNUSED_COUNT_CAP:
            every = replace(criteria, unused=False)
            return Total(UNUSED_COUNT_CAP, "more"), max(n, _count(subject, every, _plan(subject, every, now), now)[1])
        return Total(n), n
    if plan.candidates or status in EXPIRY_RANGES or not _tally_usable(subject):
        # At most CANDIDATE_LIMIT ids, or an expiry range the retention purge keeps short.
        n = key_paging.count(base, plan)
        return Total(n), n
    tally = _tally_total(subject, _tally_conditions(criteria, plan))
    if status == "active":
        # Active = not invalidated minus expired; expired keys are few (the retention purge removes them).
        expired = _plan(subject, criteria.with_status("expired"), now).conditions
        tally -= visibility.visible_keys(subject, ApiKey.select(ApiKey.id)).where(*expired).count()
    return Total(tally), tally


def _count_common_term(subject, criteria, plan, now):
    """A term too common to list through the index: exact when the other filters leave few keys, else capped."""
    narrowed = _count(subject, criteria.without_search(), _plan(subject, criteria.without_search(), now), now)[1]
    base = visibility.visible_keys(subject, ApiKey.select(ApiKey.id)).where(*plan.conditions)
    if narrowed <= EXACT_COUNT_LIMIT or not plan.fts_query:
        if narrowed <= EXACT_COUNT_LIMIT:
            return Total(base.count()), narrowed
        n = base.limit(COUNT_CAP + 1).count()
        return (Total(COUNT_CAP, "more") if n > COUNT_CAP else Total(n)), narrowed
    return _capped_through_index(subject, criteria, plan, now), narrowed


def _capped_through_index(subject, criteria, plan, now):
    """Count a common term by walking the trigram index's matches (at most FTS_SCAN_LIMIT of them)."""
    conditions = _plan(subject, criteria.without_search(), now).conditions
    inner = visibility.visible_keys(subject, ApiKey.select(SQL("1"))).where(*conditions).limit(COUNT_CAP + 1)
    # The index's matches drive the join, so the count stops after COUNT_CAP + 1 keys.
    n = key_paging.count(inner, _Plan([], source=key_paging.trigram_source(plan.fts_query, FTS_SCAN_LIMIT)))
    if n > COUNT_CAP:
        return Total(COUNT_CAP, "more")
    beyond = database.execute_sql("SELECT rowid FROM api_key_fts WHERE api_key_fts MATCH ? LIMIT 1 OFFSET ?",
                                  (plan.fts_query, FTS_SCAN_LIMIT)).fetchone()
    return Total(n, "at least") if beyond else Total(n)
