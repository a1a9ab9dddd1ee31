"""Elasticsearch's simple_query_string over a FieldSet's fields, which are all keywords, dates or booleans.

Syntax: terms separated by spaces (joined with `default_operator`, OR unless told otherwise), `+` for
AND, `|` for OR, a leading `-` for NOT, `"a phrase"` for an exact value, a trailing `*` for a prefix,
parentheses for grouping, `\\` to escape, `~N` accepted and ignored. Operators are applied left to right,
as Lucene's simple query parser does. A term is matched against every listed field (a keyword field
matches only its whole value, as in Elasticsearch); fields that can't hold the term are skipped.
"""

import functools
import operator
import re
from collections.abc import Mapping

from peewee import ColumnBase

from webapp.errors import DomainError
from webapp.services.api_keys.es_query import fields as f

MAX_GROUPS = 20
OPTIONS = ("query", "fields", "default_operator", "analyzer", "analyze_wildcard", "flags", "lenient",
           "minimum_should_match", "quote_field_suffix", "auto_generate_synonyms_phrase_query",
           "fuzzy_prefix_length", "fuzzy_max_expansions", "fuzzy_transpositions", "boost", "_name")


def _tokens(text):
    """(kind, value) tokens: term, phrase, and, or, not, open, close."""
    tokens, position = [], 0
    while position < len(text):
        char = text[position]
        if char.isspace():
            position += 1
        elif char in "+|-()":
            kind = {"+": "and", "|": "or", "-": "not", "(": "open", ")": "close"}[char]
            tokens.append((kind, char))
            position += 1
        elif char == '"':
            end = text.find('"', position + 1)
            end = len(text) if end < 0 else end
            tokens.append(("phrase", text[position + 1:end]))
            position = end + 1
            position = _skip_fuzzy(text, position)
        else:
            value = []
            while position < len(text) and not text[position].isspace() and text[position] not in '|()"':
                if text[position] == "\\" and position + 1 < len(text):
                    value.append(("lit", text[position + 1]))
                    position += 2
                    continue
                if text[position] == "~":
                    position = _skip_fuzzy(text, position)
                    break
                value.append(("lit" if text[position] != "*" else "star", text[position]))
                position += 1
            if value:
                tokens.append(("term", value))
    return tokens


def _skip_fuzzy(text, position):
    match = re.compile(r"~\d*").match(text, position)
    return match.end() if match else position


class _Parser:
    def __init__(self, tokens, fields, default_and, lenient):
        self.tokens, self.fields, self.default_and, self.lenient = tokens, fields, default_and, lenient
        self.position = 0

    def peek(self):
        """The next token, without taking it."""
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self):
        """The next token (None at the end)."""
        token = self.peek()
        self.position += 1
        return token

    def expression(self, inside=False, depth=0):
        """Clauses joined left to right until the end (or the closing parenthesis of a group)."""
        if depth > MAX_GROUPS:
            raise f.parsing_error(f"[simple_query_string] groups are nested more than {MAX_GROUPS} levels deep")
        current = None
        pending = None
        while (token := self.peek()) is not None:
            if token[0] == "close":
                if inside:
                    self.take()
                    break
                self.take()  # a stray ")" is ignored, as Lucene's simple parser does
                continue
            if token[0] in ("and", "or"):
                self.take()
                pending = token[0]
                continue
            clause = self.clause(depth)
            if clause is None:
                continue
            if current is None:
                current = clause
            else:
                joined_with_and = pending == "and" or (pending is None and self.default_and)
                current = (current & clause) if joined_with_and else (current | clause)
            pending = None
        return current

    def clause(self, depth=0):
        """One term, phrase, negation or group; None for a stray operator."""
        token = self.take()
        while token is not None and token[0] == "not" and self.peek() is not None and self.peek()[0] == "not":
            self.take()  # "--x" is "x": each pair of negations cancels out
            token = self.take()
        if token is None:
            return None
        if token[0] == "not":
            inner = self.clause(depth) if self.peek() is not None else None
            return None if inner is None else ~inner
        if token[0] == "open":
            return self.expression(inside=True, depth=depth + 1)
        if token[0] not in ("term", "phrase"):
            return None  # an operator with nothing to apply to is ignored, as Lucene's simple parser does
        if token[0] == "phrase":
            return self.match([("lit", char) for char in token[1]], prefix=False)
        parts = token[1]
        prefix = parts[-1][0] == "star"
        if prefix:
            parts = parts[:-1]
        return self.match([("lit", value) for _, value in parts], prefix=prefix)

    def match(self, chars, prefix):
        """The text (a prefix when `prefix`) on any of the fields that can hold it."""
        text = "".join(value for _, value in chars)
        conditions = []
        for field in self.fields:
            try:
                if prefix:
                    if field.kind in (f.DATE, f.BOOLEAN):
                        continue
                    tokens = [*chars, ("any",)]
                    pattern = f.like_pattern(tokens, False)
                    conditions.append(f.metadata_like(field, pattern, False) if field.kind == f.FLATTENED
                                      else f.column_like(field.column, pattern, False))
                else:
                    conditions.append(f.equals(field, [text]))
            except DomainError:
                if not self.lenient:
                    raise
        return functools.reduce(operator.or_, conditions) if conditions else f.FALSE


def simple_query_string(body: Mapping[str, object], field_set: f.FieldSet = f.API_KEYS) -> ColumnBase:
    """The SQL condition for a simple_query_string query body, over the fields of `field_set`."""
    for key in body:
        if key not in OPTIONS:
            raise f.parsing_error(f"[simple_query_string] unsupported field [{key}]")
    query = body.get("query")
    if not isinstance(query, str):
        raise f.parsing_error("[simple_query_string] query text missing")
    names = body.get("fields") or ["*"]
    if not isinstance(names, list) or any(not isinstance(name, str) for name in names):
        raise f.parsing_error("[simple_query_string] [fields] must be an array of strings")
    fields, seen = [], set()
    for name in names:
        for field in field_set.pattern_fields(name.split("^")[0]):
            if field.name not in seen:
                seen.add(field.name)
                fields.append(field)
    if not fields:
        return f.FALSE  # only fields it may not search: matches nothing, as in Elasticsearch
    operator_name = str(body.get("default_operator", "or")).lower()
    if operator_name not in ("or", "and"):
        raise f.parsing_error(f"[simple_query_string] default operator [{operator_name}] is not allowed")
    lenient = body.get("lenient") is True or any("*" in name for name in names)
    parsed = _Parser(_tokens(query), fields, operator_name == "and", lenient).expression()
    return f.FALSE if parsed is None else parsed
