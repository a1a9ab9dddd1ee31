"""Search words of one or two characters: they match any part of a key's name or owner, ignoring case, like
longer words, whether they are rare (looked up in an index on PostgreSQL) or common (tested while walking)."""

import pytest

from webapp.clock import now_ms
from webapp.errors import ValidationFailed
from webapp.model import ApiKey, Setting, User
from webapp.model.db import database, is_sqlite
from webapp.services.api_keys import commands as api_keys
from webapp.services.api_keys import listing as key_search
from webapp.services.api_keys import short_words
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
    assert short_words.has_index()


def _index_finds(word):
    return sorted(ApiKey.get_by_id(key_id).name for key_id in short_words.keys_holding(word, 1000))


def test_the_index_finds_every_key_holding_a_short_word_after_renames_and_deletes(keys):
    """What the index lists, against every one- and two-character part of every name (first, last, whole
    names of one and two characters), after keys were renamed and deleted (the triggers keep it in step)."""
    ApiKey.update(name="renamed-kw").where(ApiKey.name == "billing").execute()
    ApiKey.update(name="Zy").where(ApiKey.name == "alpine").execute()
    ApiKey.delete().where(ApiKey.name.in_(["zq", "sync-07"])).execute()
    names = [key.name for key in ApiKey.select(ApiKey.name)]
    words = {name[i:i + n].lower() for name in names for n in (1, 2) for i in range(len(name) - n + 1)}
    assert {"r", "kw", "zy", "y", "z"} <= words and "zq" not in words
    for word in sorted(words | {"zq", "bi", "0x"}):
        expected = sorted(name for name in names if word in name.lower())
        assert _index_finds(word) == expected, word
    # The padding can't be searched for (the search refuses control characters); long words match as before.
    elastic, _ = keys
    with pytest.raises(ValidationFailed, match="control characters"):
        _found(elastic, "w\x01")
    assert _found(elastic, "lling") == [] and _found(elastic, "med-kw") == ["renamed-kw"]


def test_a_rare_short_word_is_found_through_the_index(keys):
    """A word the newest keys (almost) lack is looked up in the index (the plan holds its candidates); a common
    one is tested while walking the sort order."""
    elastic, _ = keys
    rare = key_search._plan(elastic, key_search.build_criteria(elastic, q="x9"), now_ms())
    common = key_search._plan(elastic, key_search.build_criteria(elastic, q="e"), now_ms())
    assert rare.candidates and not rare.impossible
    assert not common.candidates
    nowhere = key_search._plan(elastic, key_search.build_criteria(elastic, q="qx"), now_ms())
    assert nowhere.impossible  # found in no key: nothing to read at all
