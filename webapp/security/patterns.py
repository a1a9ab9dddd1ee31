"""Name patterns as Elasticsearch writes them: `*` and `?` wildcards, or a `/regex/` matched whole.

Used for index names, run-as users, application resources and action names. Besides matching a name,
two questions about patterns come up when checking privileges: does one pattern cover everything another
matches (`covers`), and can two patterns match a common name (`intersects`). Both are answered by a
symbolic walk over the wildcard patterns; the answers are sound (never claim coverage that isn't there)
and exact for the patterns people actually write (`logs-*`, `*`, `metrics-?-*`).
"""

import re
from collections.abc import Iterable
from functools import lru_cache


def is_regex(pattern: str) -> bool:
    """A `/.../` pattern: a Lucene-style regular expression that must match the whole name."""
    return len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/")


def has_wildcard(pattern: str) -> bool:
    """True when the pattern can match more than one name."""
    return is_regex(pattern) or "*" in pattern or "?" in pattern


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """The compiled regular expression for a pattern, or None when a `/regex/` doesn't compile."""
    if is_regex(pattern):
        try:
            return re.compile(pattern[1:-1], re.DOTALL)
        except re.error:
            return None
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def matches(pattern: object, name: object) -> bool:
    """True when `name` is matched by `pattern` (whole-name match)."""
    if not isinstance(pattern, str) or not isinstance(name, str):
        return False
    if not has_wildcard(pattern):
        return pattern == name
    compiled = compile_pattern(pattern)
    return compiled is not None and compiled.fullmatch(name) is not None


def matches_any(patterns: Iterable[str], name: object) -> bool:
    return any(matches(pattern, name) for pattern in patterns)


@lru_cache(maxsize=8192)
def _wildcard_covers(general, specific):
    """Every name matched by wildcard pattern `specific` is matched by wildcard pattern `general`.

    `specific` is read as a sequence of tokens (a literal character, `?` = one unknown character,
    `*` = any run of characters). A literal in `general` covers only the same literal, `?` covers one
    literal or `?`, and `*` covers any run of tokens, including `*`.
    """
    memo = {}

    def covered(i, j):
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(general):
            result = j == len(specific)
        elif general[i] == "*":
            result = covered(i + 1, j) or (j < len(specific) and covered(i, j + 1))
        elif j == len(specific) or specific[j] == "*":
            result = False
        elif general[i] == "?":
            result = covered(i + 1, j + 1)
        else:
            result = general[i] == specific[j] and covered(i + 1, j + 1)
        memo[key] = result
        return result

    return covered(0, 0)


@lru_cache(maxsize=8192)
def _wildcard_intersects(first, second):
    """Some name is matched by both wildcard patterns."""
    memo = {}

    def meet(i, j):
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(first) and j == len(second):
            result = True
        elif i < len(first) and first[i] == "*":
            result = meet(i + 1, j) or (j < len(second) and meet(i, j + 1))
        elif j < len(second) and second[j] == "*":
            result = meet(i, j + 1) or (i < len(first) and meet(i + 1, j))
        elif i == len(first) or j == len(second):
            result = False
        else:
            a, b = first[i], second[j]
            result = (a == "?" or b == "?" or a == b) and meet(i + 1, j + 1)
        memo[key] = result
        return result

    return meet(0, 0)


def _matches_everything(pattern):
    return not is_regex(pattern) and pattern != "" and set(pattern) == {"*"}


def covers(general: object, specific: object) -> bool:
    """True when every name `specific` matches is also matched by `general` (sound, not always complete)."""
    if not isinstance(general, str) or not isinstance(specific, str):
        return False
    if general == specific or _matches_everything(general):
        return True
    if not has_wildcard(specific):
        return matches(general, specific)
    if is_regex(general) or is_regex(specific):
        return False  # two different regular expressions (or a regex against wildcards): can't tell
    return _wildcard_covers(general, specific)


def covered_by_any(generals: Iterable[str], specific: object) -> bool:
    return any(covers(general, specific) for general in generals)


def intersects(first: object, second: object) -> bool:
    """True when some name could match both patterns; answers True when it can't tell (regexes)."""
    if not isinstance(first, str) or not isinstance(second, str):
        return False
    if not has_wildcard(first):
        return matches(second, first)
    if not has_wildcard(second):
        return matches(first, second)
    if is_regex(first) or is_regex(second):
        return True
    return _wildcard_intersects(first, second)
