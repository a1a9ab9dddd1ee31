"""What a person asks the keys list for: the search box's terms, the filters, the sort and the page size.

The search box takes free text (a case-insensitive substring of the key's name or owner) and the terms
`name:`, `owner:`, `type:` and `status:`; values with spaces go in double quotes. Every mistake is a
ValidationFailed whose `fields` name the control it belongs to, in words for the page.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from webapp.errors import ValidationFailed
from webapp.security.subject import Subject
from webapp.services.api_keys import visibility

PAGE_SIZES = (25, 50, 100)
SORTS = ("name", "type", "owner", "realm", "created", "status", "last_used")
TYPES = ("personal", "cross-cluster", "managed")
STATUSES = ("active", "expiring", "expiring-30d", "expired", "invalidated")
# Each of these lies within the next: asking for several of them means the narrowest.
NESTED_STATUSES = ("expiring", "expiring-30d", "active")
TYPE_WORDS = {"personal": "personal", "rest": "personal", "user": "personal", "cross-cluster": "cross-cluster",
              "cross_cluster": "cross-cluster", "managed": "managed"}
FIELDS = ("name", "owner", "type", "status")
MIN_SUBSTRING = 3  # shorter substrings have no trigram: listing.py looks them up another way
MAX_SEARCH_LENGTH = 500
MAX_OWNERS = 100
_TOKEN = re.compile(r'[^\s"]*"[^"]*"|[^\s"]+')
_FIELD = re.compile(r"^([A-Za-z_]+):(.*)$", re.S)


@dataclass(frozen=True)
class SearchTerms:
    text: tuple = ()  # substrings of the name or the owner's username
    names: tuple = ()
    owners: tuple = ()
    types: tuple = ()
    statuses: tuple = ()

    @property
    def any(self) -> bool:
        return bool(self.text or self.names or self.owners or self.types or self.statuses)


@dataclass(frozen=True)
class KeyCriteria:
    terms: SearchTerms = SearchTerms()
    type: str = ""  # the type filter
    status: str = ""  # the status filter ("" = every key that isn't invalidated)
    owners: tuple = ()  # the owner filter: ((username, realm), ...)
    unused: bool = False  # the "Not used for 90 days" filter (listing.unused_condition)
    sort: str = "created"
    direction: str = "desc"
    size: int = 25

    @property
    def is_filtered(self) -> bool:
        return bool(self.terms.any or self.type or self.status or self.owners or self.unused)

    @property
    def effective_type(self) -> str | Literal[False] | None:
        """The one type asked for by the filter and the terms; None for any; False when they conflict."""
        asked = {t for t in (self.type, *self.terms.types) if t}
        return None if not asked else asked.pop() if len(asked) == 1 else False

    @property
    def effective_status(self) -> str | Literal[False] | None:
        """Like effective_type; expiring keys are also active, so asking for both means the expiring ones."""
        asked = {s for s in (self.status, *self.terms.statuses) if s}
        if len(asked) > 1 and asked <= set(NESTED_STATUSES):
            return next(s for s in NESTED_STATUSES if s in asked)
        return None if not asked else asked.pop() if len(asked) == 1 else False

    def without_search(self) -> "KeyCriteria":
        return replace(self, terms=replace(self.terms, text=(), names=()))

    def with_status(self, status: str) -> "KeyCriteria":
        return replace(self, status=status, terms=replace(self.terms, statuses=()))


def _problem(field, message):
    return ValidationFailed([message], fields={field: message})


def _unquote(value):
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def parse_search(text: str | None) -> SearchTerms:
    """SearchTerms from the search box; ValidationFailed (field `q`) with a message for a bad term."""
    text = (text or "").strip()
    if len(text) > MAX_SEARCH_LENGTH:
        raise _problem("q", f"The search is too long: keep it under {MAX_SEARCH_LENGTH} characters.")
    text = text.replace("\t", " ").replace("\n", " ").replace("\r", " ")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise _problem("q", "The search can't contain control characters.")
    if text.count('"') % 2:
        raise _problem("q", "A quotation mark is not closed.")
    found = {"text": [], "names": [], "owners": [], "types": [], "statuses": []}
    for token in _TOKEN.findall(text):
        match = None if token.startswith('"') else _FIELD.match(token)
        if match is None:
            found["text"].append(_unquote(token))
            continue
        name, value = match.group(1).lower(), _unquote(match.group(2))
        if name not in FIELDS:
            raise _problem("q", f'"{match.group(1)}:" is not something you can search by. Use name:, owner:, '
                                'type: or status:, or put text that contains a colon in double quotes.')
        if not value.strip():
            raise _problem("q", f'"{name}:" needs a value, for example {name}:{_EXAMPLES[name]}.')
        if name == "name":
            found["names"].append(value)
        elif name == "owner":
            found["owners"].append(value)
        elif name == "type":
            if value.lower() not in TYPE_WORDS:
                raise _problem("q", f'"{value}" is not a key type. Use type:personal, type:cross-cluster or '
                                    'type:managed.')
            found["types"].append(TYPE_WORDS[value.lower()])
        else:
            if value.lower() not in STATUSES:
                raise _problem("q", f'"{value}" is not a status. Use status:active, status:expiring, '
                                    'status:expiring-30d, status:expired or status:invalidated.')
            found["statuses"].append(value.lower())
    return SearchTerms(**{k: tuple(dict.fromkeys(v)) for k, v in found.items()})


_EXAMPLES = {"name": "deploy", "owner": "alice", "type": "personal", "status": "expired"}


def parse_owner(value: str | None) -> tuple[str, str] | None:
    """("alice", "native") from "alice@native"; None when it has no realm."""
    username, at, realm = (value or "").rpartition("@")
    return (username, realm) if at and username and realm else None


def build_criteria(subject: Subject, q: str | None = "", type: str | None = "", status: str | None = "",
                   owners: Iterable[str] | None = (), sort: str | None = "", direction: str | None = "",
                   size: int | str | None = None, unused: str | None = "") -> KeyCriteria:
    """KeyCriteria from the list's query parameters; ValidationFailed naming each control that is wrong."""
    problems = {}
    try:
        terms = parse_search(q)
    except ValidationFailed as error:
        problems.update(error.fields)
        terms = SearchTerms()
    if type and type not in TYPES:
        problems["type"] = "Choose Personal, Cross-cluster or Managed."
    sees_all = visibility.sees_all_keys(subject)
    if status and status not in STATUSES:
        problems["status"] = "Choose Active, Expiring within 7 days, Expiring within 30 days or Expired."
    if "invalidated" in (status, *terms.statuses) and not sees_all:
        problems["status"] = ("Invalidated keys are listed only for those who can see every key "
                              "(read_security, manage_api_key or manage_security).")
    pairs = []
    for value in owners or ():
        pair = parse_owner(value)
        if pair is None or any(ord(c) < 32 for c in value):
            problems["owner"] = f'"{value}" is not an owner; owners are written username@realm.'
        elif pair not in pairs:
            pairs.append(pair)
    if len(pairs) > MAX_OWNERS:
        problems["owner"] = f"Choose at most {MAX_OWNERS} owners."
    sort = sort or "created"
    if sort not in SORTS:
        problems["sort"] = "The list can't be sorted that way."
    direction = direction or ("desc" if sort == "created" else "asc")
    if direction not in ("asc", "desc"):
        problems["sort"] = "The list can be sorted ascending (asc) or descending (desc) only."
    if size in (None, ""):
        size = PAGE_SIZES[0]
    elif str(size) not in {str(n) for n in PAGE_SIZES}:
        problems["size"] = "Show 25, 50 or 100 keys per page."
    if unused not in (None, "", "1"):
        problems["unused"] = "The Not used for 90 days filter is either on (1) or off."
    if problems:
        raise ValidationFailed(list(problems.values()), fields=problems)
    return KeyCriteria(terms=terms, type=type or "", status=status or "", owners=tuple(pairs), sort=sort,
                       direction=direction, size=int(size), unused=unused == "1")
