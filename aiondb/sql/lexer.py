"""A small PostgreSQL lexer: splitting a query string into statements and
tokenizing the utility statements we parse by hand (SET, SHOW, BEGIN,
CHECKPOINT, BACKUP ...). sqlglot parses everything else."""

from __future__ import annotations

import re
from typing import NamedTuple

from aiondb import errors

# One alternative per token kind; order matters (longest/most specific first).
_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<line_comment>--[^\n]*)
  | (?P<block_comment>/\*)
  | (?P<estring>[eE]'(?:[^'\\]|\\.|'')*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<dollar>\$(?P<tag>[A-Za-z_][A-Za-z_0-9]*)?\$)
  | (?P<qident>"(?:[^"]|"")*")
  | (?P<param>\$[0-9]+)
  | (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)
  | (?P<word>[A-Za-z_\u0080-\U0010ffff][A-Za-z_0-9$\u0080-\U0010ffff]*)
  | (?P<op>[-+*/<>=~!@#%^&|`?:]+|[(),;\[\].])
""", re.VERBOSE | re.DOTALL)


class Token(NamedTuple):
    """A lexer token (a NamedTuple: tokens are made per statement on the hot
    path of the simple query protocol, and tuples are cheap to build)."""

    kind: str      # word, qident, string, number, param, op
    text: str      # raw text
    value: str     # identifier folded to lower case / string contents
    pos: int       # 0-based offset in the source


def _skip_block_comment(sql: str, start: int) -> int:
    """Offset after a (nestable) block comment starting at `start`."""
    depth = 0
    i = start
    n = len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise errors.SyntaxError("unterminated /* comment", position=start + 1)


def _unescape_e(body: str) -> str:
    out = []
    i = 0
    n = len(body)
    while i < n:
        c = body[i]
        if c == "'" and i + 1 < n and body[i + 1] == "'":
            out.append("'")
            i += 2
            continue
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        simple = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif nxt in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            assert m
            out.append(chr(int(m.group(), 8)))
            i += 1 + len(m.group())
        elif nxt == "x":
            m = re.match(r"[0-9A-Fa-f]{1,2}", body[i + 2:])
            if m:
                out.append(chr(int(m.group(), 16)))
                i += 2 + len(m.group())
            else:
                out.append("x")
                i += 2
        elif nxt in "uU":
            width = 4 if nxt == "u" else 8
            hexd = body[i + 2:i + 2 + width]
            if len(hexd) != width or not re.fullmatch(r"[0-9A-Fa-f]+", hexd):
                raise errors.SyntaxError("invalid Unicode escape")
            out.append(chr(int(hexd, 16)))
            i += 2 + width
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


def tokenize(sql: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Tokens of sql[start:end], comments and whitespace dropped."""
    end = len(sql) if end is None else end
    out: list[Token] = []
    i = start
    while i < end:
        m = _TOKEN_RE.match(sql, i, end)
        if m is None:
            raise errors.SyntaxError(f'syntax error at or near "{sql[i]}"', position=i + 1)
        kind = m.lastgroup
        if kind == "tag":
            kind = "dollar"
        text = m.group()
        if kind == "ws" or kind == "line_comment":
            i = m.end()
            continue
        if kind == "block_comment":
            i = _skip_block_comment(sql, i)
            continue
        if kind == "dollar":
            close = sql.find(text, m.end(), end)
            if close < 0:
                raise errors.SyntaxError("unterminated dollar-quoted string", position=i + 1)
            out.append(Token("string", sql[i:close + len(text)], sql[m.end():close], i))
            i = close + len(text)
            continue
        if kind == "string":
            out.append(Token("string", text, text[1:-1].replace("''", "'"), i))
        elif kind == "estring":
            out.append(Token("string", text, _unescape_e(text[2:-1]), i))
        elif kind == "qident":
            out.append(Token("qident", text, text[1:-1].replace('""', '"'), i))
        elif kind == "word":
            out.append(Token("word", text, text.lower(), i))
        else:
            if kind == "number" and m.end() < end:
                junk = _WORD_RE.match(sql, m.end(), end)
                if junk is not None:
                    # PostgreSQL 15: "1_000", "0x1f", "1and" are not a number
                    # followed by a name
                    raise errors.SyntaxError(
                        f'trailing junk after numeric literal at or near '
                        f'"{sql[i:junk.end()]}"', position=i + 1)
            out.append(Token(kind, text, text, i))
        i = m.end()
    return out


_WORD_RE = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z_0-9$\u0080-\U0010ffff]*")


_SPLIT_RE = re.compile(r"""
    [eE]'(?:[^'\\]|\\.|'')*'?
  | '(?:[^']|'')*'?
  | "(?:[^"]|"")*"?
  | --[^\n]*
  | /\*
  | \$(?:[A-Za-z_][A-Za-z_0-9]*)?\$
  | ;
  | [^'"eE$;/-]+
  | .
""", re.VERBOSE | re.DOTALL)


def split_statements(sql: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each non-empty statement, split at top-level
    semicolons (outside quotes, dollar quotes and comments)."""
    # fast path: one statement, at most a final ';' and no comments
    semi = sql.find(";")
    if "--" not in sql and "/*" not in sql and (
            semi < 0 or (semi == len(sql.rstrip()) - 1 and sql.count(";") == 1)):
        end = semi if semi >= 0 else len(sql)
        return [(0, end)] if sql[:end].strip() else []
    spans = []
    start = 0
    i = 0
    n = len(sql)
    begin_depth = 0  # BEGIN ATOMIC ... END bodies are not split (not supported anyway)
    while i < n:
        m = _SPLIT_RE.match(sql, i)
        assert m is not None
        tok = m.group()
        if tok == ";" and begin_depth == 0:
            if sql[start:i].strip() and not _only_comments(sql, start, i):
                spans.append((start, i))
            start = i + 1
            i += 1
            continue
        if tok == "/*":
            i = _skip_block_comment(sql, i)
            continue
        if tok.startswith("$") and tok.endswith("$") and len(tok) >= 2 and tok[1:2] != "$" \
                and not tok[1:-1].isdigit():
            close = sql.find(tok, m.end())
            i = n if close < 0 else close + len(tok)
            continue
        if tok == "$$":
            close = sql.find("$$", m.end())
            i = n if close < 0 else close + 2
            continue
        i = m.end()
    if sql[start:].strip() and not _only_comments(sql, start, n):
        spans.append((start, n))
    return spans


def _only_comments(sql: str, start: int, end: int) -> bool:
    try:
        return not tokenize(sql, start, end)
    except errors.DatabaseError:
        return False


class TokenReader:
    """Recursive-descent reading over one statement's tokens: the shared base
    of the hand-written parsers (utility statements, DDL the dialect leaves
    to us). Errors carry PostgreSQL's 42601 message and 1-based position."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.toks = tokens
        self.i = 0

    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def at_end(self) -> bool:
        return self.i >= len(self.toks)

    def error(self, tok: Token | None = None) -> errors.DatabaseError:
        tok = tok or self.peek()
        if tok is None:
            return errors.SyntaxError("syntax error at end of input", position=len(self.text) + 1)
        return errors.SyntaxError(f'syntax error at or near "{tok.text}"', position=tok.pos + 1)

    def word(self, *options: str) -> str | None:
        """Consume a keyword if it is one of options (any word if none given)."""
        tok = self.peek()
        if tok is not None and tok.kind == "word" and (not options or tok.value in options):
            self.i += 1
            return tok.value
        return None

    def expect(self, *options: str) -> str:
        w = self.word(*options)
        if w is None:
            raise self.error()
        return w

    def words(self, *seq: str) -> bool:
        """Consume an exact keyword sequence, or nothing."""
        for k, w in enumerate(seq):
            tok = self.peek(k)
            if tok is None or tok.kind != "word" or tok.value != w:
                return False
        self.i += len(seq)
        return True

    def op(self, text: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text == text:
            self.i += 1
            return True
        return False

    def run_until(self, *stops: str) -> str:
        """Advance to the next operator in `stops` outside nested parentheses
        (left unconsumed) and return the source text passed over, e.g. a
        parenthesized query or one type in a list. Error at end of input."""
        start = self.peek()
        depth = 0
        while True:
            tok = self.peek()
            if tok is None:
                raise self.error()
            if tok.kind == "op":
                if depth == 0 and tok.text in stops:
                    assert start is not None
                    return self.text[start.pos:tok.pos]
                if tok.text == "(":
                    depth += 1
                elif tok.text == ")":
                    depth -= 1
            self.i += 1

    def ident(self) -> str:
        tok = self.peek()
        if tok is None or tok.kind not in ("word", "qident"):
            raise self.error()
        self.i += 1
        return tok.value

    def end(self) -> None:
        if not self.at_end():
            raise self.error()
