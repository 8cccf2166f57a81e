"""AionDB's SQL dialect: PostgreSQL's, as a short list of differences from
sqlglot's Postgres dialect.

- Functions stay plain named calls (exp.Anonymous) instead of being mapped
  to sqlglot's transpiler classes: the binder resolves names against our
  own function registry, exactly as PostgreSQL resolves them.
- Array subscripts stay 1-based as written (sqlglot would shift them to 0).
- pgvector's distance operators `<->` (L2), `<=>` (cosine; stock sqlglot reads
  it as null-safe equality) and `<#>` (negative inner product), and the JSON
  arrows `-> ->> #> #>>`, parse as PgOperator at PostgreSQL's "any other
  operator" precedence (tighter than comparison, looser than + and -).

Statements sqlglot does not know (CHECKPOINT, BACKUP/RESTORE TENANT, SET,
SHOW, DISCARD, ...) never reach it: statements.py classifies them first.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.generator import Generator
from sqlglot.tokens import TokenType


class PgOperator(exp.Expression, exp.Binary):
    """A binary operator kept by its PostgreSQL spelling (`op`)."""

    arg_types = {"this": True, "expression": True, "op": True}


class CteSearch(exp.Expression):
    """SEARCH {DEPTH | BREADTH} FIRST BY columns SET sequence_column."""

    arg_types = {"kind": True, "expressions": True, "this": True}


class CteCycle(exp.Expression):
    """CYCLE columns SET mark_column [TO value DEFAULT value] USING path_column."""

    arg_types = {"expressions": True, "this": True, "to": False, "default": False,
                 "using": True}


def _operator(text: str):
    def build(parser, this: exp.Expr, rhs: exp.Expr) -> exp.Expr:
        return parser.expression(PgOperator(this=this, expression=rhs, op=text))
    return build


# sqlglot has no token type for `<#>`; borrow one the Postgres grammar never uses.
_NEG_INNER_PRODUCT = TokenType.DOTCARET

# Functions with special argument syntax that must keep sqlglot's parsers.
_KEEP_FUNCTIONS = ("CAST", "TRY_CAST", "EXTRACT", "SUBSTRING", "POSITION", "TRIM", "OVERLAY")


_INTERVAL_FIELDS = frozenset(("YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "TO"))


class AionDB(Postgres):
    INDEX_OFFSET = 0  # keep subscripts exactly as written (PostgreSQL arrays are 1-based)
    # E'' strings know \b \f \n \r \t only: any other escaped letter is itself
    UNESCAPED_SEQUENCES = {"\\a": "a", "\\v": "v"}

    class Tokenizer(Postgres.Tokenizer):
        KEYWORDS = {**Postgres.Tokenizer.KEYWORDS, "<#>": _NEG_INNER_PRODUCT}

    class Parser(Postgres.Parser):
        FUNCTIONS: dict = {}
        # PostgreSQL's constraint attribute NOT DEFERRABLE (the default)
        KEY_CONSTRAINT_OPTIONS = {**Postgres.Parser.KEY_CONSTRAINT_OPTIONS,
                                  "NOT": ("ENFORCED", "DEFERRABLE")}
        FUNCTION_PARSERS = {k: v for k, v in Postgres.Parser.FUNCTION_PARSERS.items()
                            if k in _KEEP_FUNCTIONS}
        FACTOR = {k: v for k, v in Postgres.Parser.FACTOR.items()
                  if k not in (TokenType.LR_ARROW, TokenType.LLRR_ARROW)}
        EQUALITY = {k: v for k, v in Postgres.Parser.EQUALITY.items()
                    if k is not TokenType.NULLSAFE_EQ}
        # `x -> y` is the JSON operator, never a lambda; `=>` stays (named arguments)
        LAMBDAS = {k: v for k, v in Postgres.Parser.LAMBDAS.items() if k is not TokenType.ARROW}
        JSON_OPERATORS = {
            **Postgres.Parser.JSON_OPERATORS,
            TokenType.ARROW: _operator("->"),
            TokenType.DARROW: _operator("->>"),
            TokenType.HASH_ARROW: _operator("#>"),
            TokenType.DHASH_ARROW: _operator("#>>"),
            TokenType.LR_ARROW: _operator("<->"),
            TokenType.NULLSAFE_EQ: _operator("<=>"),
            _NEG_INNER_PRODUCT: _operator("<#>"),
        }

        def _parse_interval(self, require_interval: bool = True,
                            parse_function_unit: bool = True) -> exp.Expr | None:
            # sqlglot splits INTERVAL '1 day 02:03:04' into '1' DAY and drops the
            # rest; PostgreSQL reads the whole string, then optional field
            # qualifiers: YEAR | MONTH | DAY | HOUR | MINUTE | SECOND [TO ...]
            index = self._index
            if not self._match(TokenType.INTERVAL):
                return super()._parse_interval(require_interval, parse_function_unit)
            if self._curr is None or self._curr.token_type != TokenType.STRING:
                self._retreat(index)
                return super()._parse_interval(require_interval, parse_function_unit)
            literal = self._parse_primary()
            fields = []
            while self._curr is not None and self._curr.text.upper() in _INTERVAL_FIELDS and (
                    not fields or fields[-1] == "TO" or self._curr.text.upper() == "TO"):
                fields.append(self._curr.text.upper())
                self._advance()
            if fields and fields[-1] == "TO":
                self.raise_error("Expecting an interval field after TO")
            unit = exp.Var(this=" ".join(fields)) if fields else None
            return self.expression(exp.Interval(this=literal, unit=unit))

        def _parse_cte(self) -> exp.Expr | None:
            # a recursive CTE's SEARCH and CYCLE clauses follow its body (sqlglot
            # reads one, single-column, after the last CTE only)
            cte = super()._parse_cte()
            if isinstance(cte, exp.CTE):
                if self._match_text_seq("SEARCH"):
                    cte.set("search", self._parse_cte_search())
                if self._match_text_seq("CYCLE"):
                    cte.set("cycle", self._parse_cte_cycle())
            return cte

        def _parse_cte_search(self) -> CteSearch:
            if not self._match_texts(("DEPTH", "BREADTH")):
                self.raise_error("Expecting DEPTH or BREADTH")
            kind = self._prev.text.upper()
            if not self._match_text_seq("FIRST", "BY"):
                self.raise_error("Expecting FIRST BY")
            cols = self._parse_csv(self._parse_id_var)
            if not self._match_text_seq("SET"):
                self.raise_error("Expecting SET")
            return self.expression(CteSearch(kind=kind, expressions=cols,
                                             this=self._parse_id_var()))

        def _parse_cte_cycle(self) -> CteCycle:
            cols = self._parse_csv(self._parse_id_var)
            if not self._match_text_seq("SET"):
                self.raise_error("Expecting SET")
            mark = self._parse_id_var()
            to = default = None
            if self._match_text_seq("TO"):
                # PostgreSQL's grammar takes constants only here
                to = self._parse_primary()
                if not self._match(TokenType.DEFAULT):
                    self.raise_error("Expecting DEFAULT")
                default = self._parse_primary()
                if to is None or default is None:
                    self.raise_error("Expecting a constant")
            if not self._match_text_seq("USING"):
                self.raise_error("Expecting USING")
            return self.expression(CteCycle(expressions=cols, this=mark, to=to,
                                            default=default, using=self._parse_id_var()))

        def _parse_on_property(self) -> exp.Expr | None:
            # CREATE TEMP TABLE ... ON COMMIT DROP (sqlglot knows PRESERVE / DELETE ROWS)
            if self._match_text_seq("COMMIT", "DROP"):
                node = exp.OnCommitProperty()
                node.set("drop", True)
                return node
            return super()._parse_on_property()

        def _parse_insert(self) -> exp.Expr:
            # INSERT ... OVERRIDING {SYSTEM | USER} VALUE: sqlglot has no such
            # clause; take its tokens out and record it on the Insert node
            toks = self._tokens
            overriding = None
            depth = 0
            for i in range(self._index + 2, len(toks) - 2):
                tt = toks[i].token_type
                if tt == TokenType.L_PAREN:
                    depth += 1
                elif tt == TokenType.R_PAREN:
                    depth -= 1
                elif depth == 0 and toks[i].text.upper() == "OVERRIDING" and \
                        toks[i + 1].text.upper() in ("SYSTEM", "USER") and \
                        toks[i + 2].text.upper() == "VALUE":
                    overriding = toks[i + 1].text.lower()
                    del toks[i:i + 3]
                    self._tokens_size = len(toks)
                    break
                elif depth == 0 and tt in (TokenType.VALUES, TokenType.SELECT,
                                           TokenType.WITH, TokenType.DEFAULT):
                    break
            node = super()._parse_insert()
            if overriding is not None and isinstance(node, exp.Insert):
                node.set("overriding", overriding)
            return node

        def _parse_unary(self) -> exp.Expr | None:
            # a prefix operator keeps where it is written, so an error about it
            # (`- true`: no such operator) can point at it as PostgreSQL does
            tok = self._curr
            node = super()._parse_unary()
            if isinstance(node, (exp.Neg, exp.BitwiseNot)) and tok is not None and \
                    "start" not in node.meta:
                node.meta.update(line=tok.line, col=tok.col, start=tok.start, end=tok.end)
            return node

        # CREATE TABLE's table constraints take NOT VALID after CHECK (...) and
        # FOREIGN KEY ... REFERENCES, as in PostgreSQL, which marks them valid
        # (a new table has no rows); column constraints do not
        _table_constraint = 0

        def _parse_constraint(self) -> exp.Expr | None:
            self._table_constraint += 1
            try:
                return super()._parse_constraint()
            finally:
                self._table_constraint -= 1

        def _parse_check_constraint(self) -> exp.CheckColumnConstraint | None:
            node = super()._parse_check_constraint()
            if node is not None and self._table_constraint:
                self._match_text_seq("NOT", "VALID")
            return node

        def _parse_foreign_key(self) -> exp.ForeignKey:
            node = super()._parse_foreign_key()
            if self._table_constraint and self._match_text_seq("NOT", "VALID"):
                more = self._parse_key_constraint_options()     # DEFERRABLE ... after it
                ref = node.args.get("reference")
                if more and ref is not None:
                    ref.set("options", [*(ref.args.get("options") or []), *more])
            return node

        def _parse_type(self, parse_interval: bool = True,
                        fallback_to_identifier: bool = False) -> exp.Expr | None:
            # sqlglot reads `timestamptz '...'::date` as timestamptz('...'::date);
            # PostgreSQL's typed literal binds first: ('...'::timestamptz)::date.
            first = self._curr
            node = super()._parse_type(parse_interval, fallback_to_identifier)
            if first is None or first.token_type not in self.TYPE_TOKENS or \
                    not isinstance(node, exp.Cast) or isinstance(node.this, exp.Literal):
                return node
            chain = node.this
            parent, cur = None, chain
            while isinstance(cur, (exp.Cast, exp.Bracket)):
                parent, cur = cur, cur.this
            if parent is None or not isinstance(cur, exp.Literal) or not cur.is_string:
                return node
            parent.set("this", exp.Cast(this=cur, to=node.args["to"]))
            return chain

    class Generator(Postgres.Generator):
        TRANSFORMS = {
            **Postgres.Generator.TRANSFORMS,
            PgOperator: lambda self, e: (
                f"{self.sql(e, 'this')} {e.args['op']} {self.sql(e, 'expression')}"),
        }

        def cte_sql(self, expression: exp.CTE) -> str:
            text = super().cte_sql(expression)
            search = expression.args.get("search")
            if search is not None:
                text += (f" SEARCH {search.args['kind']} FIRST BY "
                         f"{self.expressions(search, flat=True)} SET {self.sql(search, 'this')}")
            cycle = expression.args.get("cycle")
            if cycle is not None:
                text += f" CYCLE {self.expressions(cycle, flat=True)} SET {self.sql(cycle, 'this')}"
                if cycle.args.get("to") is not None:
                    text += f" TO {self.sql(cycle, 'to')} DEFAULT {self.sql(cycle, 'default')}"
                text += f" USING {self.sql(cycle, 'using')}"
            return text


assert issubclass(AionDB.Generator, Generator)
