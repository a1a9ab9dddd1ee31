"""Search words of one or two characters: they match any part of a key's name or owner, ignoring case, like
longer words, whether they are rare (looked up in an index on PostgreSQL) or common (tested while walking)."""

import pytest

from webapp.model import Setting, User
from webapp.model.db import database, is_sqlite
from webapp.services.api_keys import commands as api_keys
from webapp.services.api_keys import listing as key_search
from webapp.services.schema import upgrade as schema

NAMES = ["Deploy-prod", "deploy-ci", "ingest-EU-1", "metrics-x9", "billing", "zq", "Q", "backup-7", "sync-07",
         "alpha", "alpine", "ALP-3", "étoile", "under_score", "per%cent"]


@pytest.fixture
def keys(db, make_user, subject_of):
    owners = {"alice": subject_of(make_user("alice", ["api_key_user"])),
              "bob": subject_of(make_user("bob", ["api_key_user"]))}
    made = []
    for i, name in enumerate(NAMES):
        owner = "alice" if i % 2 else "bob"
        api_keys.create_api_key(owners[owner], name=name)
        made.append((name, owner))
    elastic = subject_of(User.get((User.username == "elastic") & (User.realm == "reserved")))
    return elastic, made


def _found(subject, q):
    page = key_search.search_keys(subject, key_search.build_criteria(subject, q=q, size=100))
    total = key_search.count_keys(subject, key_search.build_criteria(subject, q=q))
    names = sorted(key.name for key in page.keys)
    assert total.exact and total.n == len(names), (q, total, names)
    return names


def _expected(made, word, with_owner=True):
    word = word.lower()
    return sorted(name for name, owner in made if word in name.lower() or (with_owner and word in owner))


@pytest.mark.parametrize("word", ["q", "Q", "zq", "ZQ", "x9", "de", "DE", "e", "p", "-", "07", "7", "eu", "al",
                                  "bo", "li", "ce", "_", "%", "é", "zz", "k"])
def test_short_word_matches_name_or_owner_ignoring_case(keys, word):
    elastic, made = keys
    assert _found(elastic, word) == _expected(made, word)


def test_case_of_letters_beyond_ascii(keys):
    """PostgreSQL folds every letter's case; SQLite's LIKE folds ASCII letters only (README, Known limits)."""
    elastic, _ = keys
    assert _found(elastic, "É") == ([] if is_sqlite() else ["étoile"])
    assert _found(elastic, "é") == ["étoile"]


@pytest.mark.parametrize("word", ["q", "al", "e", "x9", "7"])
def test_short_word_in_name_term(keys, word):
    elastic, made = keys
    assert _found(elastic, f"name:{word}") == _expected(made, word, with_owner=False)


def test_short_words_combine_with_long_words_and_each_other(keys):
    elastic, made = keys
    for words in (["deploy", "ci"], ["al", "p"], ["al", "3"], ["zq", "q"], ["ingest", "x9"], ["bo", "-"]):
        every = set.intersection(*(set(_expected(made, word)) for word in words))
        assert _found(elastic, " ".join(words)) == sorted(every), words
    assert _found(elastic, "deploy ci") == ["deploy-ci"] and _found(elastic, "name:al name:3") == ["ALP-3"]
    assert _found(elastic, "type:personal -C") == ["deploy-ci"]


def test_own_keys_only(keys, make_user, subject_of):
    _, made = keys
    alice = subject_of(User.get(User.username == "alice"))
    page = key_search.search_keys(alice, key_search.build_criteria(alice, q="p", size=100))
    assert sorted(k.name for k in page.keys) == sorted(n for n, o in made if o == "alice" and "p" in n.lower())


def test_a_word_common_among_many_keys_still_pages(db, make_user, subject_of):
    carol = subject_of(make_user("carol", ["api_key_user"]))
    for i in range(30):
        api_keys.create_api_key(carol, name=f"job-{i:02d}")
    criteria = key_search.build_criteria(carol, q="b-", size=25)
    first = key_search.search_keys(carol, criteria)
    assert len(first.keys) == 25 and first.total.n == 30 and first.next_cursor
    rest = key_search.search_keys(carol, criteria, after=first.next_cursor)
    assert {k.name for k in first.keys} | {k.name for k in rest.keys} == {f"job-{i:02d}" for i in range(30)}


def test_upgrade_from_version_4_adds_what_short_words_need(keys):
    elastic, made = keys
    if not is_sqlite():
        database.execute_sql("DROP INDEX api_key_name_short")
        database.execute_sql("DROP FUNCTION api_key_short_grams(text)")
    Setting.update(value=4).where(Setting.name == "schema.version").execute()
    assert schema.upgrade_schema() == (4, schema.SCHEMA_VERSION)
    if not is_sqlite():
        assert database.execute_sql("SELECT to_regclass('api_key_name_short') IS NOT NULL").fetchone()[0]
    assert _found(elastic, "zq") == ["zq"] and _found(elastic, "x9") == ["metrics-x9"]
