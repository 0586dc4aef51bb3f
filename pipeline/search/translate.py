"""A parsed query (query.py) as a tantivy query over the index's schema (schema.py). Pure."""

from __future__ import annotations

from datetime import date

import tantivy
from tantivy import Occur, Query

from pipeline.search.query import TEXT, Node, Not, Or, QueryError, Term, parse
from pipeline.search.schema import SCHEMA, day_number, key, words

KEY_FIELDS = {"entity", "speaker", "lang"}
REGEX_SPECIAL = set(r"\.+*?()|[]{}^$#&-~")


def to_query(text: str, since: date | None = None, until: date | None = None) -> Query:
    """The tantivy query for a query string, limited to the dates in [since, until]."""
    query = translate(parse(text), text)
    if since is None and until is None:
        return query
    days = Query.range_query(
        SCHEMA,
        "day",
        tantivy.FieldType.Unsigned,
        day_number(since) if since else None,
        day_number(until) if until else None,
    )
    return Query.boolean_query([(Occur.Must, query), (Occur.Must, Query.const_score_query(days, 0.0))])


def translate(node: Node, text: str) -> Query:
    if isinstance(node, Term):
        return term_query(node, text)
    if isinstance(node, Not):
        return Query.boolean_query([(Occur.Must, Query.all_query()), (Occur.MustNot, translate(node.item, text))])
    if isinstance(node, Or):
        return Query.boolean_query([(Occur.Should, translate(item, text)) for item in node.items])
    clauses = [
        (Occur.MustNot, translate(item.item, text)) if isinstance(item, Not) else (Occur.Must, translate(item, text))
        for item in node.items
    ]
    if all(occur == Occur.MustNot for occur, _ in clauses):  # only exclusions: from every document
        clauses.append((Occur.Must, Query.all_query()))
    return Query.boolean_query(clauses)


def term_query(term: Term, text: str) -> Query:
    field = "text" if term.field == TEXT else term.field
    if field in KEY_FIELDS:
        value = term.text.lower() if field == "lang" else key(term.text)
        if not value:
            raise QueryError(text, term.column, f"{term.field}: needs a name")
        if term.kind == "prefix":
            return Query.regex_query(SCHEMA, field, escape(value) + ".*")
        return Query.term_query(SCHEMA, field, value)
    tokens = words(term.text)
    if not tokens:
        raise QueryError(text, term.column, f"no word in {term.text!r} (a word is letters and digits)")
    if term.kind == "prefix":
        if len(tokens) == 1:
            return Query.regex_query(SCHEMA, field, escape(tokens[0]) + ".*")
        return Query.phrase_prefix_query(SCHEMA, field, tokens)
    if len(tokens) == 1:
        return Query.term_query(SCHEMA, field, tokens[0])
    return Query.phrase_query(SCHEMA, field, tokens)


def escape(value: str) -> str:
    """A literal in tantivy's regular expressions (Rust's regex syntax)."""
    return "".join(f"\\{char}" if char in REGEX_SPECIAL else char for char in value)
