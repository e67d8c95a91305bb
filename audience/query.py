"""A small audience query language for campaigns, parsed and evaluated without ``eval``.

    segment in (at_risk, cant_lose) and clv > 100
    churn_risk >= 0.5 and not (cluster_label == "bargain hunters" or frequency < 2)
    next_purchase_date <= 2026-12-01

Grammar (keywords are case-insensitive)::

    query      := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" or_expr ")" | comparison
    comparison := FIELD OP value | FIELD ["not"] "in" "(" value ("," value)* ")"
    OP         := "==" | "=" | "!=" | "<" | "<=" | ">" | ">="
    value      := NUMBER (1.5, 1e5) | DATE (YYYY-MM-DD, quoted or not) | "quoted text" | bare_word

Fields are profile columns, matched case-insensitively (``segment`` is an alias of ``rfm_segment``), and a
customer's attributes (the extra columns of a customers import) as ``attributes.NAME``, or by ``NAME`` alone
when no profile field has that name: ``country = Germany``, ``attributes.segment = wholesale``; an attribute's
name matches in any case too, unless two differ only in case (`Tier`, `TIER`), which are each read by their own
spelling alone.
Fields with a known list of values are checked against it, so that a misspelt value is an error rather than
an empty audience: segments against ``segments.yaml`` (and ``no_orders``, the segment of a customer without an
order) when the query is read, cluster labels against the
profiles' own labels when it is evaluated. Their values match ignoring case, spaces, hyphens and apostrophes
(``"Can't lose"`` is ``cant_lose``). A number outside a bounded field's range (``churn_risk > 50``; see
``BOUNDED_FIELDS``) is an error too. Errors name the position. A query is at most MAX_LENGTH characters, with
brackets and "not"s at most MAX_NESTING deep: the parser recurses, and no audience needs more.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from audience.errors import QueryError
from audience.rfm import NO_ORDERS, segment_names

ALIASES = {"segment": "rfm_segment"}
ATTRIBUTE = "attributes."  # the prefix of the columns that hold a customer's attributes
LABEL_FIELDS = {"cluster_label": "cluster label"}  # values differ by shop, so checked against the profiles' own
# Profile fields whose values lie in a known range: a number outside it is a mistake (`churn_risk > 50` meant 50%),
# refused rather than read as an audience of nobody (or of everybody).
BOUNDED_FIELDS = {
    "churn_risk": (0, 1, "a probability from 0 to 1 (for 50% write 0.5)"),
    "p_alive": (0, 1, "a probability from 0 to 1 (for 50% write 0.5)"),
    "r_score": (1, 5, "a score from 1 to 5"),
    "f_score": (1, 5, "a score from 1 to 5"),
    "m_score": (1, 5, "a score from 1 to 5"),
}
EQUALITY = ("==", "!=", "in", "not in")
ORDERING = ("<", "<=", ">", ">=")
COMPARISONS = ("==", "=", "!=", "<=", ">=", "<", ">")
KEYWORDS = ("and", "or", "not", "in")
MAX_LENGTH = 10_000  # characters
MAX_NESTING = 50  # brackets and "not"s within each other; far deeper, the parser's recursion would run out of stack
# A bare word begins with any letter (or _), not only an ASCII one: `country = Österreich` as `country = Zürich`.
TOKEN = re.compile(
    r"""\s*(?:
    (?P<date>\d{4}-\d{2}-\d{2}(?![\w-]))
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w-]))
  | (?P<string>"[^"]*"|'[^']*')
  | (?P<word>[^\W\d][\w-]*(?:\.[^\W\d][\w-]*)?)
  | (?P<op>==|!=|<=|>=|=|<|>)
  | (?P<punct>[(),])
  )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # number, date, string, word, keyword, op, punct, end
    text: str
    position: int
    value: object = None


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str  # one of COMPARISONS, "in" or "not in"
    values: tuple
    position: int


@dataclass(frozen=True)
class Not:
    operand: object


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" or "or"
    operands: tuple


Node = Comparison | Not | BoolOp


def tokenize(query: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(query):
        if query[position:].strip() == "":
            break
        match = TOKEN.match(query, position)
        if match is None or match.end() == position:
            start = len(query) - len(query[position:].lstrip())
            raise QueryError(f"unexpected character '{query[start]}'", query=query, position=start)
        kind = match.lastgroup
        text = match.group(kind)
        start = match.start(kind)
        if kind == "number":
            tokens.append(Token("number", text, start, float(text)))
        elif kind == "string":
            tokens.append(Token("string", text, start, text[1:-1]))
        elif kind == "word" and text.lower() in KEYWORDS:
            tokens.append(Token("keyword", text.lower(), start))
        else:
            tokens.append(Token(kind, text, start, text))  # word or date
        position = match.end()
    tokens.append(Token("end", "", len(query)))
    return tokens


class _Parser:
    def __init__(self, query: str) -> None:
        if len(query) > MAX_LENGTH:
            raise QueryError(f"the query is {len(query):,} characters long; at most {MAX_LENGTH:,}", query=query)
        self.query = query
        self.tokens = tokenize(query)
        self.index = 0
        self.depth = 0  # brackets and "not"s open around the current token

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def fail(self, message: str, token: Token | None = None) -> QueryError:
        return QueryError(message, query=self.query, position=(token or self.current).position)

    def take(self, kind: str, text: str | None = None) -> Token | None:
        token = self.current
        if token.kind == kind and (text is None or token.text == text):
            self.index += 1
            return token
        return None

    def expect(self, kind: str, text: str, what: str) -> Token:
        token = self.take(kind, text)
        if token is None:
            found = f"'{self.current.text}'" if self.current.kind != "end" else "the end of the query"
            raise self.fail(f"expected {what}, found {found}")
        return token

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise self.fail("the query is empty")
        node = self.or_expr()
        if self.current.kind != "end":
            raise self.fail(f"unexpected '{self.current.text}'; join conditions with 'and' or 'or'")
        return node

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while self.take("keyword", "or"):
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.not_expr()]
        while self.take("keyword", "and"):
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def not_expr(self) -> Node:
        if self.take("keyword", "not"):
            return Not(self.nested(self.not_expr))
        if self.take("punct", "("):
            node = self.nested(self.or_expr)
            self.expect("punct", ")", "')'")
            return node
        return self.comparison()

    def nested(self, parse: Callable[[], Node]) -> Node:
        """``parse()`` one level deeper, inside the bracket or "not" just taken; refused past MAX_NESTING."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            message = f"nested more than {MAX_NESTING} levels deep (brackets and 'not'); write it flatter"
            raise self.fail(message, self.tokens[self.index - 1])
        node = parse()
        self.depth -= 1
        return node

    def comparison(self) -> Comparison:
        field = self.current
        if field.kind != "word":
            found = f"'{field.text}'" if field.kind != "end" else "the end of the query"
            raise self.fail(f"expected a field name such as segment, clv or churn_risk, found {found}")
        self.index += 1
        if self.current.kind == "op":
            op = self.take("op").text
            return Comparison(field.text, "==" if op == "=" else op, (self.value(),), field.position)
        negated = self.take("keyword", "not") is not None
        if self.take("keyword", "in"):
            self.expect("punct", "(", "'(' after 'in'")
            values = [self.value()]
            while self.take("punct", ","):
                values.append(self.value())
            self.expect("punct", ")", "',' or ')' to close the list")
            return Comparison(field.text, "not in" if negated else "in", tuple(values), field.position)
        found = f"'{self.current.text}'" if self.current.kind != "end" else "the end of the query"
        raise self.fail(f"expected a comparison (==, !=, <, <=, >, >=, in, not in) after '{field.text}', found {found}")

    def value(self) -> Token:
        token = self.current
        if token.kind in ("number", "date", "string", "word"):
            self.index += 1
            return token
        found = f"'{token.text}'" if token.kind != "end" else "the end of the query"
        raise self.fail(f"expected a value (a number, a word or quoted text), found {found}")


def spelling_key(text: str) -> str:
    """A value as compared whatever its spelling: "At Risk" and "Can't lose" are at_risk and cant_lose."""
    return re.sub(r"[\s_-]+", "_", text.strip().lower().replace("'", ""))


def _known_values(comparison: Comparison, known: list[str], what: str, query: str) -> Comparison:
    """The comparison with its values spelled as in ``known``; raises naming a value that is not among them."""
    if comparison.op not in EQUALITY:
        raise QueryError(f"compare {what}s with ==, !=, in or not in", query=query, position=comparison.position)
    by_key = {spelling_key(value): value for value in known}
    values = []
    for token in comparison.values:
        match = by_key.get(spelling_key(str(token.value)))
        if match is None:
            shown = token.value if token.kind == "string" else token.text
            close = difflib.get_close_matches(spelling_key(str(token.value)), list(by_key), n=1)
            hint = f"did you mean '{by_key[close[0]]}'? " if close else ""
            # Quoted when a value holds a comma ("big-basket, wide-basket buyers"): else one could not tell them apart.
            listed = ", ".join(f'"{value}"' for value in known) if any("," in v for v in known) else ", ".join(known)
            raise QueryError(f"'{shown}' is not a {what}; {hint}{what}s: {listed}", query=query,
                             position=token.position)  # fmt: skip
        values.append(Token(token.kind, match, token.position, match))
    return Comparison(comparison.field, comparison.op, tuple(values), comparison.position)


def _with_known_segments(node: Node, query: str) -> Node:
    if isinstance(node, BoolOp):
        return BoolOp(node.op, tuple(_with_known_segments(operand, query) for operand in node.operands))
    if isinstance(node, Not):
        return Not(_with_known_segments(node.operand, query))
    if ALIASES.get(node.field.lower(), node.field.lower()) == "rfm_segment":
        return _known_values(node, [*segment_names(), NO_ORDERS], "segment", query)
    return node


def parse_query(query: str) -> Node:
    """The query's syntax tree, segments spelled as in ``segments.yaml``; raises :class:`QueryError` (a
    ``ValueError``) naming the position of a mistake or of a segment that does not exist."""
    return _with_known_segments(_Parser(query).parse(), query)


def query_fields(query: str | Node) -> set[str]:
    """The field names a query compares, as it spells them."""
    node = parse_query(query) if isinstance(query, str) else query
    if isinstance(node, BoolOp):
        return set().union(*(query_fields(operand) for operand in node.operands))
    if isinstance(node, Not):
        return query_fields(node.operand)
    return {node.field}


def field_column(field: str, columns: Collection[str]) -> str | None:
    """The one of ``columns`` a query's ``field`` reads: its own name, else in lower case, else the column its
    alias stands for, else the attribute of that name (``attributes.NAME``; a profile field of the same name
    comes first), else the one column of its name in another case (an attribute imported as `Tier`); None when
    there is none, or several differ only in case (``named_in_any_case``)."""
    for name in (field, field.lower(), ALIASES.get(field.lower()), ATTRIBUTE + field, ATTRIBUTE + field.lower()):
        if name is not None and name in columns:
            return name
    found = named_in_any_case(field, columns)
    return found[0] if len(found) == 1 else None


def named_in_any_case(field: str, columns: Collection[str]) -> list[str]:
    """The columns named ``field`` in any case, else its attribute's in any case (`attributes.Tier` for `tier`):
    an import keeps its columns' names as written, and a query names them as a marketer recalls them."""
    for wanted in (field.lower(), (ATTRIBUTE + field).lower()):
        if found := sorted(str(column) for column in columns if str(column).lower() == wanted):
            return found
    return []


def _holds_several(column: pd.Series) -> bool:
    """Whether ``column`` holds several values for each customer (a stored profile's ``reasons``, a sentence for each
    figure): no value compares with such a field, which a query refuses, naming it."""
    return column.dtype == object and column.map(lambda value: isinstance(value, dict | list)).any()


def _column(profiles: pd.DataFrame, comparison: Comparison, query: str) -> pd.Series:
    name = field_column(comparison.field, profiles.columns)
    if name is not None and _holds_several(profiles[name]):
        raise QueryError(f"'{comparison.field}' holds several values for each customer, which no value compares "
                         "with; compare one of the figures they explain (segment, churn_risk, clv...)", query=query,
                         position=comparison.position)  # fmt: skip
    if name is None and len(spellings := named_in_any_case(comparison.field, profiles.columns)) > 1:
        raise QueryError(f"'{comparison.field}' may be {' or '.join(spellings)}, which differ only in case: name the "
                         "one meant as it is spelled", query=query, position=comparison.position)  # fmt: skip
    if name is None:
        comparable = [column for column in profiles.columns if not _holds_several(profiles[column])]
        fields = set(comparable) | {alias for alias, column in ALIASES.items() if column in comparable}
        known = ", ".join(sorted(field for field in fields if not field.startswith(ATTRIBUTE)))
        attributes = ", ".join(sorted(field for field in fields if field.startswith(ATTRIBUTE)))
        also = f"; customer attributes: {attributes}" if attributes else ""
        raise QueryError(f"unknown field '{comparison.field}'; known fields: {known}{also}", query=query,
                         position=comparison.position)  # fmt: skip
    if name == "rfm_segment":  # a customer without orders is in no RFM segment: "no_orders", as the API names it
        return profiles[name].fillna(NO_ORDERS)
    return profiles[name]


def _operand(column: pd.Series, token: Token, query: str):
    """The literal converted to the column's kind: numbers for numeric columns, timestamps for dates."""
    if pd.api.types.is_bool_dtype(column):
        if str(token.value).lower() in ("true", "1", "1.0", "yes"):
            return True
        if str(token.value).lower() in ("false", "0", "0.0", "no"):
            return False
        raise QueryError(f"'{token.text}' is not true or false", query=query, position=token.position)
    if pd.api.types.is_numeric_dtype(column):
        if token.kind != "number":
            raise QueryError(f"'{token.text}' is not a number", query=query, position=token.position)
        bounds = BOUNDED_FIELDS.get(str(column.name))
        if bounds is not None and not bounds[0] <= token.value <= bounds[1]:
            raise QueryError(f"{token.text} is out of range: {column.name} is {bounds[2]}", query=query,
                             position=token.position)  # fmt: skip
        return token.value
    if pd.api.types.is_datetime64_any_dtype(column) or (
        column.name is not None and str(column.name).endswith("_date")  # a date column: any literal must be one
    ):
        stamp = pd.to_datetime(token.value, errors="coerce") if token.kind != "number" else pd.NaT
        if pd.isna(stamp):
            raise QueryError(f"'{token.text}' is not a date (YYYY-MM-DD)", query=query, position=token.position)
        return stamp
    return token.text if token.kind == "number" else str(token.value)


def _check_spelling(column: pd.Series, comparison: Comparison, operands: list, query: str) -> None:
    """Attributes are compared as imported, but a value no customer has that one has in another case or spacing
    (`country = germany` for Germany) is a mistake, not an audience of nobody (or, with !=, of everybody): refused
    naming the value it may be, as a misspelt segment is."""
    imported = column.dropna().astype(str)
    present = set(imported)
    by_key = dict(zip(imported.map(spelling_key), imported, strict=True))
    for token, operand in zip(comparison.values, operands, strict=True):
        if not isinstance(operand, str) or operand in present:
            continue
        match = by_key.get(spelling_key(operand))
        if match is not None:
            name = str(column.name).removeprefix(ATTRIBUTE)
            raise QueryError(f"'{operand}' is no customer's {name}; did you mean '{match}'? (attributes are compared "
                             "as imported)", query=query, position=token.position)  # fmt: skip


def _prepare(column: pd.Series, operand) -> pd.Series:
    if isinstance(operand, pd.Timestamp) and not pd.api.types.is_datetime64_any_dtype(column):
        return pd.to_datetime(column, errors="coerce")
    if isinstance(operand, str) and pd.api.types.is_numeric_dtype(column):
        return column.astype(str)
    return column


def _mask(node: Node, profiles: pd.DataFrame, query: str) -> pd.Series:
    if isinstance(node, BoolOp):
        masks = [_mask(operand, profiles, query) for operand in node.operands]
        combine = np.logical_and if node.op == "and" else np.logical_or
        return pd.Series(combine.reduce([m.to_numpy() for m in masks]), index=profiles.index)
    if isinstance(node, Not):
        return ~_mask(node.operand, profiles, query)
    column = _column(profiles, node, query)
    if column.name in LABEL_FIELDS and column.notna().any():
        labels = sorted(column.dropna().astype(str).unique())
        node = _known_values(node, labels, LABEL_FIELDS[column.name], query)
    if node.op in ORDERING and str(column.name).startswith(ATTRIBUTE) and node.values[0].kind == "number":
        # An attribute is the text imported, and as text "5" >= "100": by order with a number, it is read as one
        # (one that is no number matches nothing, as a missing value does).
        column = pd.to_numeric(column, errors="coerce")
    operands = [_operand(column, token, query) for token in node.values]
    if node.op in EQUALITY and str(column.name).startswith(ATTRIBUTE):
        _check_spelling(column, node, operands, query)
    if column.name == "email":  # an address is one in any case, as Tailor compares addresses everywhere else
        column = column.str.strip().str.lower()
        operands = [str(operand).strip().lower() for operand in operands]
    column = _prepare(column, operands[0])
    if node.op in ("in", "not in"):
        hit = column.isin(operands)
        return ~hit if node.op == "not in" else hit
    operand = operands[0]
    result = {
        "==": lambda: column == operand,
        "!=": lambda: column != operand,
        "<": lambda: column < operand,
        "<=": lambda: column <= operand,
        ">": lambda: column > operand,
        ">=": lambda: column >= operand,
    }[node.op]()
    # A missing value (no CLV yet, no expected next purchase) matches no comparison but "!=".
    return result.fillna(node.op == "!=").astype(bool)


def evaluate(query: str | Node, profiles: pd.DataFrame, *, text: str | None = None) -> pd.Series:
    """A boolean mask over ``profiles`` (same index) of the rows that satisfy the query."""
    node = parse_query(query) if isinstance(query, str) else query
    source = query if isinstance(query, str) else (text or "")
    if profiles.empty:
        return pd.Series(False, index=profiles.index, dtype=bool)
    return _mask(node, profiles, source).astype(bool)


def filter_profiles(profiles: pd.DataFrame, query: str) -> pd.DataFrame:
    """The rows of ``profiles`` that satisfy ``query``."""
    return profiles[evaluate(query, profiles).to_numpy()]
