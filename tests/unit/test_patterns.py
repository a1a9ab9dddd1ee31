"""Index-name patterns: matching, one pattern covering another, two patterns meeting."""

import pytest

from webapp.security.patterns import covered_by_any, covers, has_wildcard, intersects, is_regex, matches


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("logs-*", "logs-1", True),
    ("logs-*", "logs-", True),
    ("logs-*", "metrics-1", False),
    ("logs-?", "logs-1", True),
    ("logs-?", "logs-12", False),
    ("*", "", True),
    ("*", ".security-7", True),
    ("exact", "exact", True),
    ("exact", "exactly", False),
    ("a.b", "axb", False),  # dots are literal in wildcard patterns
    ("/logs-[0-9]+/", "logs-42", True),
    ("/logs-[0-9]+/", "logs-42x", False),  # whole-name match, like Lucene
    ("/logs-[0-9]+/", "xlogs-4", False),
    ("/(/", "(", False),  # a regex that doesn't compile matches nothing
    ("/", "/", True),  # a single slash is a plain name
])
def test_matches(pattern, name, expected):
    assert matches(pattern, name) is expected


@pytest.mark.parametrize("garbage", [None, 1, ["a"], {"a": 1}])
def test_matches_rejects_non_strings_quietly(garbage):
    assert matches(garbage, "a") is False
    assert matches("a", garbage) is False


def test_wildcard_and_regex_detection():
    assert has_wildcard("a*") and has_wildcard("a?") and has_wildcard("/a/")
    assert not has_wildcard("plain-name")
    assert is_regex("/a+/") and not is_regex("/") and not is_regex("a/")


@pytest.mark.parametrize(("general", "specific", "expected"), [
    ("logs-*", "logs-*", True),
    ("*", "logs-*", True),
    ("log*", "logs-*", True),
    ("logs-a*", "logs-*", False),
    ("logs-*", "log*", False),
    ("logs-*", "logs-?", True),
    ("logs-?", "logs-*", False),
    ("logs-?", "logs-a", True),
    ("l?gs-*", "logs-*", True),
    ("*-*", "logs-*", True),
    ("*-1", "logs-*", False),
    ("a*b*c", "a*bxb*c", True),
    ("logs-*", "logs-1", True),
    ("logs-*", "metrics-1", False),
    ("/logs-.*/", "logs-1", True),
    ("/logs-.*/", "logs-*", False),  # can't compare a regex with wildcards: not covered (sound)
    ("*", "/anything/", True),
    ("/a/", "/a/", True),
])
def test_covers(general, specific, expected):
    assert covers(general, specific) is expected


def test_covered_by_any_needs_one_pattern_covering_the_whole():
    assert covered_by_any(["metrics-*", "logs-*"], "logs-2024*")
    assert not covered_by_any(["logs-a*", "logs-b*"], "logs-*")


@pytest.mark.parametrize(("first", "second", "expected"), [
    ("logs-*", ".security*", False),
    ("*", ".security*", True),
    (".sec*", ".security*", True),
    ("?security-7", ".security*", True),
    ("a*", "b*", False),
    ("*a", "b*", True),
    ("a?c", "abc", True),
    ("a?c", "abd", False),
    ("/x/", ".security*", True),  # regex against wildcards: assumed to meet
])
def test_intersects(first, second, expected):
    assert intersects(first, second) is expected
    assert intersects(second, first) is expected
