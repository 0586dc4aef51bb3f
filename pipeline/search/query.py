"""The search query language, parsed into a small tree (pure: no index needed).

    rafah                       the whole word, any case: "Rafah", "RAFAH", "Rafah's"; not "Rafahs"
    "white house"               consecutive words
    gaza AND aid, gaza aid      both (AND is implied between terms)
    gaza OR rafah               either
    gaza NOT hamas, gaza -hamas the first without the second
    (gaza OR rafah) AND aid     parentheses group
    negotiat*                   words starting with "negotiat"
    title:ceasefire, title:"peace talks", title:(gaza OR rafah)
    entity:"antony blinken"     a canonical entity key (entities.canonical_key), folded as the lake folds them
    speaker:"clara hoffmann"    a quoted speaker (quotes.speaker_canonical, else speaker)
    lang:en                     the document's language (documents.language)

A word is a run of letters and digits: "Rafah's" holds the words "rafah" and "s", "covid-19" is the phrase
"covid 19". NOT binds tightest, then AND, then OR. AND, OR and NOT are operators only in capitals.
"""

from __future__ import annotations

from dataclasses import dataclass

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from pipeline.errors import UserError

FIELDS = ("title", "entity", "speaker", "lang")  # besides the default: the document's text
TEXT = "text"

GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: unary (_AND? unary)*
?unary: NOT unary -> negation
      | atom
?atom: "(" or_expr ")"
     | FIELD atom -> field
     | PHRASE -> phrase
     | PREFIX -> prefix
     | WORD -> word

_OR.3: /OR(?=[\s()"]|$)/
_AND.3: /AND(?=[\s()"]|$)/
NOT.3: /NOT(?=[\s()"]|$)/ | /-(?=[^\s\-])/
FIELD.2: /(title|entity|speaker|lang):/
PHRASE: /"[^"]*"/
PREFIX.1: /[^\s()"*\-][^\s()"*]*\*/
WORD: /[^\s()"*\-][^\s()"*]*/

%ignore /\s+/
"""

# The basic lexer: AND, OR and NOT are operators wherever they stand ("OR a" is an error, not the word "or").
PARSER = Lark(GRAMMAR, parser="lalr", lexer="basic", propagate_positions=True, maybe_placeholders=False)
UNKNOWN_FIELD_CHARS = set("abcdefghijklmnopqrstuvwxyz_")

# What each token is called in an error message.
NAMES = {
    "WORD": "a word",
    "PREFIX": "a prefix*",
    "PHRASE": 'a "phrase"',
    "LPAR": "(",
    "RPAR": ")",
    "_AND": "AND",
    "_OR": "OR",
    "NOT": "NOT",
    "FIELD": "a field:",
    "$END": "the end of the query",
}


class QueryError(UserError):
    """A malformed query: one line, with the column (1-based) where it goes wrong."""

    def __init__(self, query: str, column: int, what: str) -> None:
        super().__init__(f"query {query!r}, column {column}: {what}")
        self.column = column


@dataclass(frozen=True)
class Term:
    """A word (kind "word"), a "phrase" or a prefix*, in a field (TEXT unless title:, entity:...)."""

    kind: str  # word, phrase, prefix
    text: str  # without quotes or the trailing *
    field: str = TEXT
    column: int = 0  # where it starts in the query, for error messages


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Term | And | Or | Not


class _Tree(Transformer):
    def __init__(self, query: str) -> None:
        super().__init__()
        self.query = query

    def word(self, items: list[Token]) -> Term:
        token = items[0]
        head = str(token).split(":", 1)[0]
        if ":" in token and set(head) <= UNKNOWN_FIELD_CHARS and head:  # author:smith: a field we do not have
            raise QueryError(self.query, token.column, f"unknown field {head}: (fields: {', '.join(FIELDS)})")
        return Term("word", str(token), column=token.column)

    def phrase(self, items: list[Token]) -> Term:
        return Term("phrase", str(items[0])[1:-1], column=items[0].column)

    def prefix(self, items: list[Token]) -> Term:
        return Term("prefix", str(items[0])[:-1], column=items[0].column)

    def negation(self, items: list) -> Not:
        return Not(items[1])

    def and_expr(self, items: list[Node]) -> And:
        return And(tuple(items))

    def or_expr(self, items: list[Node]) -> Or:
        return Or(tuple(items))

    def field(self, items: list) -> Node:
        return in_field(items[1], str(items[0])[:-1], self.query, items[0].column)


def in_field(node: Node, field: str, query: str, column: int) -> Node:
    """title:(a OR b) is (title:a OR title:b); a field inside another field is an error."""
    if isinstance(node, Term):
        if node.field != TEXT:
            raise QueryError(query, node.column, f"{node.field}: inside {field}:")
        return Term(node.kind, node.text, field, node.column)
    if isinstance(node, Not):
        return Not(in_field(node.item, field, query, column))
    return type(node)(tuple(in_field(item, field, query, column) for item in node.items))


def parse(query: str) -> Node:
    """The query's tree; QueryError (one line, with the column) when it is malformed."""
    if not query.strip():
        raise QueryError(query, 1, "empty query")
    try:
        return _Tree(query).transform(PARSER.parse(query))
    except UnexpectedInput as error:
        raise QueryError(query, *explain(query, error)) from None
    except Exception as error:  # lark wraps errors raised in the transformer
        cause = getattr(error, "orig_exc", None)
        if isinstance(cause, QueryError):
            raise cause from None
        raise


def explain(query: str, error: UnexpectedInput) -> tuple[int, str]:
    """Where the query goes wrong and why, in words a user knows."""
    if isinstance(error, UnexpectedCharacters):
        char = query[error.pos_in_stream]
        if char == '"':
            return error.column, 'a quote that is never closed (a phrase is "two words")'
        if char == "-":
            return error.column, "- goes right before the word it excludes (-hamas)"
        if char == "*":
            return error.column, "* only ends a word (negotiat*)"
        return error.column, f"unexpected {char!r}"
    if isinstance(error, UnexpectedEOF) or (isinstance(error, UnexpectedToken) and error.token.type == "$END"):
        last = query.rstrip()
        unclosed = _unclosed(query, len(query))
        if unclosed is not None and not last.endswith(("AND", "OR", "NOT", "-", "(", ":")):
            return unclosed + 1, "this ( is never closed"
        return len(last), f'nothing after {last.split()[-1]!r}: expected a word, a "phrase" or ('
    if isinstance(error, UnexpectedToken):
        token = error.token
        found = NAMES.get(token.type, repr(str(token)))
        if token.type == "RPAR":
            return error.column, ") without a ( before it" if _unclosed(query, token.start_pos) is None else "empty ()"
        if token.type in ("_AND", "_OR"):
            return error.column, f"{token} needs a term before it"
        return error.column, f"unexpected {found}"
    return getattr(error, "column", 1), str(error).splitlines()[0]


def _unclosed(query: str, pos: int) -> int | None:
    """Where the innermost ( still open at pos is, if one is."""
    opened: list[int] = []
    for i, char in enumerate(query[:pos]):
        if char == "(":
            opened.append(i)
        elif char == ")" and opened:
            opened.pop()
    return opened[-1] if opened else None


def terms(node: Node) -> list[Term]:
    """Every term of the tree, in order (negated ones included)."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return terms(node.item)
    return [t for item in node.items for t in terms(item)]
