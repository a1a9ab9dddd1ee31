"""Finding the keys whose name holds a word of one or two characters (which has no trigram) from an index."""

from peewee import SQL, Expression, fn

from webapp.model import ApiKey
from webapp.model.db import database, is_sqlite


def has_index() -> bool:
    """Whether the database has the index (PostgreSQL: schema v5; SQLite: the trigram index's terms, v9)."""
    if is_sqlite():
        return database.execute_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'api_key_fts_terms'").fetchone() is not None
    return database.execute_sql("SELECT to_regclass('api_key_name_short') IS NOT NULL").fetchone()[0]


def keys_holding(term: str, limit: int) -> list:
    """Ids of keys whose name holds the one- or two-character `term` in any case (`limit` + 1 at most)."""
    word = term.lower()
    if is_sqlite():
        # Each name is indexed padded (schema v9), so such a part of it begins one of its trigrams: the
        # index's terms from `word` up to the next string of that length (U+10FFFF, a non-character, aside).
        end = word[:-1] + chr(min(ord(word[-1]) + 1, 0x10FFFF))
        seqs = [row[0] for row in database.execute_sql(
            "SELECT DISTINCT doc FROM api_key_fts_terms WHERE term >= ? AND term < ? AND col = 'name' LIMIT ?",
            (word, end, limit + 1))]
        if len(seqs) > limit or not seqs:
            return seqs
        marks = ", ".join("?" * len(seqs))
        return [row[0] for row in database.execute_sql(
            f"SELECT key_id FROM api_key_search WHERE seq IN ({marks})", seqs)]
    grams = Expression(fn.api_key_short_grams(ApiKey.name), "@>", fn.array_append(SQL("ARRAY[]::text[]"), word))
    return [row[0] for row in ApiKey.select(ApiKey.id).where(grams).limit(limit + 1).tuples()]
