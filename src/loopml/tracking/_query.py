"""The run filter language, parsed into the store's query tree.

Grammar (keywords are case-insensitive)::

    filter     := or ("or" and)*            and := not ("and" not)*
    not        := "not" not | "(" filter ")" | comparison
    comparison := name op value | name "is" ["not"] "null"
                | name ["not"] "in" "(" value ("," value)* ")"
    name       := [scope "."] key           scope := metrics | params | tags | attributes
    op         := = | == | != | <> | < | <= | > | >= | like | ilike
    value      := 'text' | "text" | number | inf | -inf

A key with spaces or operators in it is quoted with backticks: ``metrics.`val loss` < 1``.
Without a scope, a name is a run attribute (``status``, ``name``, ``created_at_ms``...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from loopml.entities import BoolOp, Comparison, Not, OrderBy, RunStatus
from loopml.entities.run_query import ATTRIBUTES
from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from loopml.entities import Condition
    from loopml.entities.run_query import Operator, Scope, Value

_SCOPES: dict[str, Scope] = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
    "run": "attributes",
}
_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "like", "ilike"}
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<quoted>`[^`]*`)
  | (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<punct>[(),])
  | (?P<word>[-+]?[A-Za-z_][\w./:-]*)
    """,
    re.VERBOSE,
)
_NUMERIC_ATTRIBUTES = {k for k, v in ATTRIBUTES.items() if v == "num"}


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _fail(text: str, pos: int, problem: str) -> InvalidInput:
    caret = " " * pos + "^"
    return InvalidInput(
        f"malformed run filter at column {pos + 1}: {problem}",
        hint=f"{text}\n  {caret}\n"
        "Write conditions like: metrics.auc > 0.9 and params.model = 'rf' and "
        "tags.team = 'risk' (strings in quotes; combine with and/or/not and parentheses).",
        position=pos,
        filter=text,
    )


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _fail(text, pos, f"unexpected character {text[pos]!r}")
        kind = match.lastgroup or ""
        if kind != "ws":
            token = match.group()
            if kind == "word" and token.lower() in _KEYWORDS:
                kind = "kw"
            out.append(_Tok(kind, token, pos))
        pos = match.end()
    out.append(_Tok("end", "", len(text)))
    return out


def _unquote(token: str) -> str:
    quote = token[0]
    body = token[1:-1].replace(quote * 2, quote)
    if quote == "`":
        return body
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "kw" and self.tok.text.lower() in words

    def expect(self, kind: str, text: str | None, what: str) -> _Tok:
        tok = self.tok
        if tok.kind != kind or (text is not None and tok.text.lower() != text):
            found = "the end of the filter" if tok.kind == "end" else repr(tok.text)
            raise _fail(self.text, tok.pos, f"expected {what}, found {found}")
        return self.take()

    def parse(self) -> Condition:
        cond = self.or_()
        if self.tok.kind != "end":
            raise _fail(self.text, self.tok.pos, f"unexpected {self.tok.text!r}; expected and/or")
        return cond

    def or_(self) -> Condition:
        items = [self.and_()]
        while self.is_kw("or"):
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_(self) -> Condition:
        items = [self.not_()]
        while self.is_kw("and"):
            self.take()
            items.append(self.not_())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def not_(self) -> Condition:
        if self.is_kw("not"):
            self.take()
            return Not(self.not_())
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.take()
            inner = self.or_()
            self.expect("punct", ")", "')'")
            return inner
        return self.comparison()

    def name(self) -> tuple[Scope, str, _Tok]:
        tok = self.tok
        if tok.kind not in ("word", "quoted"):
            found = "the end of the filter" if tok.kind == "end" else repr(tok.text)
            raise _fail(self.text, tok.pos, f"expected a name like metrics.auc, found {found}")
        self.take()
        if tok.kind == "quoted":
            return "attributes", _unquote(tok.text), tok
        head, dot, rest = tok.text.partition(".")
        scope = _SCOPES.get(head.lower()) if dot else None
        if scope is None:
            return "attributes", tok.text, tok
        if not rest:
            if self.tok.kind != "quoted" or self.tok.pos != tok.pos + len(tok.text):
                raise _fail(self.text, tok.pos + len(tok.text), "expected a key after the '.'")
            rest = _unquote(self.take().text)
        return scope, rest, tok

    def value(self) -> str | float:
        tok = self.take()
        if tok.kind == "str":
            return _unquote(tok.text)
        if tok.kind == "num":
            return float(tok.text)
        if tok.kind == "word" and tok.text.lower().lstrip("+-") in ("inf", "infinity"):
            return float("-inf") if tok.text.startswith("-") else float("inf")
        found = "the end of the filter" if tok.kind == "end" else repr(tok.text)
        raise _fail(self.text, tok.pos, f"expected a value ('text' or a number), found {found}")

    def comparison(self) -> Comparison:
        scope, key, at = self.name()
        op_tok = self.tok
        value: Value
        if self.is_kw("is"):
            self.take()
            negate = self.is_kw("not")
            if negate:
                self.take()
            self.expect("kw", "null", "'null'")
            op: Operator = "!=" if negate else "="
            value = None
        elif self.is_kw("in", "not"):
            negate = self.take().text.lower() == "not"
            if negate:
                self.expect("kw", "in", "'in' after 'not'")
            self.expect("punct", "(", "'(' to open the list")
            items = [self.value()]
            while self.tok.kind == "punct" and self.tok.text == ",":
                self.take()
                items.append(self.value())
            self.expect("punct", ")", "')' or ',' in the list")
            op, value = ("not in" if negate else "in"), tuple(items)
        elif self.tok.kind == "op" or self.is_kw("like", "ilike"):
            text = self.take().text.lower()
            op = cast("Operator", _OPS.get(text, text))
            value = self.value()
        else:
            found = "the end of the filter" if op_tok.kind == "end" else repr(op_tok.text)
            raise _fail(
                self.text,
                op_tok.pos,
                f"expected an operator (=, !=, <, >, like, in...) after {key!r}, found {found}",
            )
        return self.checked(Comparison(scope, key, op, value), at, op_tok)

    def checked(self, cond: Comparison, at: _Tok, op_tok: _Tok) -> Comparison:
        items = cond.value if isinstance(cond.value, tuple) else (cond.value,)
        numeric = all(isinstance(v, float) for v in items if v is not None)
        textual = all(isinstance(v, str) for v in items if v is not None)
        if cond.scope == "attributes":
            if cond.key not in ATTRIBUTES:
                raise _fail(
                    self.text,
                    at.pos,
                    f"unknown name {cond.key!r}: use metrics.KEY, params.KEY, tags.KEY or one "
                    f"of the run attributes {', '.join(sorted(ATTRIBUTES))}",
                )
            want_num = cond.key in _NUMERIC_ATTRIBUTES
            if (want_num and not numeric) or (not want_num and not textual):
                kind = "a number" if want_num else "a quoted string"
                raise _fail(self.text, op_tok.pos, f"{cond.key} compares with {kind}")
            if cond.key == "status":
                known = {s.value for s in RunStatus}
                for v in items:
                    if (
                        isinstance(v, str)
                        and v.upper() not in known
                        and cond.op in ("=", "!=", "in", "not in")
                    ):
                        raise _fail(
                            self.text,
                            op_tok.pos,
                            f"unknown status {v!r}; use one of {', '.join(sorted(known))}",
                        )
                if cond.op in ("=", "!=", "in", "not in"):
                    upper = tuple(v.upper() if isinstance(v, str) else v for v in items)
                    value = cast("Value", upper if isinstance(cond.value, tuple) else upper[0])
                    cond = Comparison(cond.scope, cond.key, cond.op, value)
        elif cond.scope == "metrics" and not numeric:
            raise _fail(
                self.text, op_tok.pos, f"metrics.{cond.key} compares with a number, not a string"
            )
        if cond.op in ("like", "ilike") and not textual:
            raise _fail(self.text, op_tok.pos, f"{cond.op} needs a quoted pattern such as 'rf%'")
        return cond


def parse_filter(text: str) -> Condition | None:
    """Parse a run filter; an empty filter is ``None`` (every run).

    Args:
        text: The filter, e.g. ``"metrics.auc > 0.9 and params.model = 'rf'"``.

    Returns:
        The query tree the store compiles.

    Raises:
        InvalidInput: The filter is malformed; the message names the column and the hint
            points at the bad token.

    Example:
        >>> parse_filter("metrics.auc > 0.9")
        Comparison(scope='metrics', key='auc', op='>', value=0.9)
    """
    if not text or not text.strip():
        return None
    return _Parser(text).parse()


def parse_order_by(text: str | None) -> tuple[OrderBy, ...]:
    """Parse ``"metrics.auc desc, params.C"`` into sort keys (``asc`` is the default).

    Raises:
        InvalidInput: A part is not ``NAME [asc|desc]`` or names an unknown attribute.
    """
    if not text or not text.strip():
        return ()
    out: list[OrderBy] = []
    for part in text.split(","):
        parser = _Parser(part)
        scope, key, at = parser.name()
        descending = False
        if parser.tok.kind == "word" and parser.tok.text.lower() in ("asc", "desc"):
            descending = parser.take().text.lower() == "desc"
        if parser.tok.kind != "end":
            raise _fail(part, parser.tok.pos, "expected NAME [asc|desc] in the sort order")
        if scope == "attributes" and key not in ATTRIBUTES:
            raise _fail(part, at.pos, f"cannot sort by unknown attribute {key!r}")
        out.append(OrderBy(scope, key, descending))
    return tuple(out)
