"""Athena (Trino) SQL to DuckDB SQL: sqlglot's transpiler plus the fixes it needs.

Plain transpiling is silently wrong for: integer division (Trino truncates ``7/2`` to 3),
division by zero (an error in Trino), ``regexp_extract`` without a match (NULL in Trino, ''
in DuckDB), ``format`` (Java format strings) and ``format_datetime`` (Joda patterns).
"""

from __future__ import annotations

import re
from typing import Any

from flovtrain.sandbox.engines.athena import trino_functions
from flovtrain.sandbox.engines.athena.errors import QueryError, column_not_found, syntax_error

_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INT", "BIGINT", "INTEGER"}
_JODA = [
    ("yyyy", "%Y"),
    ("YYYY", "%Y"),
    ("yy", "%y"),
    ("MMMM", "%B"),
    ("MMM", "%b"),
    ("MM", "%m"),
    ("M", "%-m"),
    ("dd", "%d"),
    ("d", "%-d"),
    ("HH", "%H"),
    ("H", "%-H"),
    ("hh", "%I"),
    ("h", "%-I"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("SSS", "%g"),
    ("EEEE", "%A"),
    ("EEE", "%a"),
    ("a", "%p"),
    ("ZZ", "%z"),
    ("Z", "%z"),
    ("z", "%Z"),
]


def joda_to_strftime(pattern: str) -> str:
    """Convert a Joda-Time pattern (Trino's ``format_datetime``) to strftime."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            end = len(pattern) if end < 0 else end
            out.append(pattern[i + 1 : end].replace("%", "%%") or "'")
            i = end + 1
            continue
        for joda, strf in _JODA:
            if pattern.startswith(joda, i):
                out.append(strf)
                i += len(joda)
                break
        else:
            out.append("%%" if ch == "%" else ch)
            i += 1
    return "".join(out)


def parse(sql: str) -> Any:
    """Parse one Athena statement, raising Athena-worded syntax errors."""
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    text = sql.strip().rstrip(";").strip()
    if not text:
        raise syntax_error(
            1,
            1,
            "mismatched input '<EOF>'. Expecting: 'ALTER', 'CREATE', "
            "'DESCRIBE', 'DROP', 'INSERT', 'MSCK', 'SELECT', 'SHOW', 'WITH'",
        )
    try:
        statements = [s for s in sqlglot.parse(text, read="athena") if s is not None]
    except ParseError as exc:
        blanked = re.sub(r"'(?:[^']|'')*'", lambda m: " " * len(m.group()), text)
        if "`" in blanked:  # Trino: backticks quote names in DDL (Hive) only, never in queries
            at = blanked.index("`")
            raise syntax_error(
                text.count("\n", 0, at) + 1,
                at - (text.rfind("\n", 0, at) + 1) + 1,
                "backquoted identifiers are not supported; use double quotes to quote identifiers",
            ) from None
        first = exc.errors[0] if exc.errors else {}
        token = (first.get("highlight") or "").strip() or "<EOF>"
        # sqlglot gives the column where the token ends; Trino the one where it starts
        col = first.get("col", 1) - (len(token) - 1 if token != "<EOF>" else 0)
        raise syntax_error(
            first.get("line", 1),
            max(1, col),
            f"mismatched input '{token}'. {first.get('description', '')}".strip(),
        ) from None
    except TokenError as exc:
        raise syntax_error(1, 1, str(exc)) from None
    if len(statements) != 1:
        raise QueryError("Only one sql statement is allowed. Got: " + str(len(statements)), 2, 1004)
    statement = statements[0]
    inner = statement.args.get("expression")
    if isinstance(inner, sqlglot.exp.Query):  # CTAS, INSERT, CREATE VIEW: the rows are stored
        inner.meta[trino_functions.WRITTEN] = True  # so their values are not made printable
    return statement


def to_duckdb(tree: Any, schema: dict[str, dict[str, dict[str, str]]], default_db: str) -> str:
    """Transpile a parsed SELECT (or WITH) to DuckDB SQL with the fixes applied.

    Parameters
    ----------
    schema : dict
        ``{database: {table: {column: athena type}}}`` of the tables the query reads.
    default_db : str
        The QueryExecutionContext database (unqualified tables live there).
    """
    from sqlglot import exp
    from sqlglot.errors import OptimizeError
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    tree = tree.copy()
    # Athena names unnamed result columns _col0, _col1, ... by position; a set operation
    # takes its names from its first SELECT
    first = tree
    while isinstance(first, (exp.SetOperation, exp.Subquery)):
        first = first.this
    if isinstance(first, exp.Select):
        for i, node in enumerate(list(first.expressions)):
            if not isinstance(node, (exp.Alias, exp.Column, exp.Star)):
                node.replace(exp.alias_(node.copy(), f"_col{i}", quoted=True))
    try:
        tree = qualify(
            tree,
            schema=schema,
            db=default_db,
            dialect="athena",
            validate_qualify_columns=True,
            quote_identifiers=True,
        )
        tree = annotate_types(tree, schema=schema, dialect="athena")
    except OptimizeError as exc:
        match = re.search(
            r"Column '([^']+)' could not be resolved(?:.*?Line: (\d+), Col: (\d+))?", str(exc), re.S
        )
        if match:
            line, col = int(match.group(2) or 1), int(match.group(3) or 1)
            raise column_not_found(
                match.group(1), line, max(1, col - len(match.group(1)) + 1)
            ) from None
        # qualify does not understand every query: transpile it as written
    # Trino functions sqlglot mistranslates or DuckDB lacks (after typing: sum(int) needs it)
    tree = trino_functions.rewrite(tree)
    for div in list(tree.find_all(exp.Div)):
        left, right = div.this.type, div.expression.type
        if (
            left is not None
            and right is not None
            and left.this.name in _INTEGER_TYPES
            and right.this.name in _INTEGER_TYPES
        ):
            div.replace(exp.IntDiv(this=div.this, expression=div.expression))
    for node in list(tree.find_all(exp.RegexpExtract)):
        subject, pattern = node.this, node.expression
        guard = exp.Anonymous(this="regexp_matches", expressions=[subject.copy(), pattern.copy()])
        node.replace(exp.If(this=guard, true=node.copy(), false=exp.Null()))
    for node in list(tree.find_all(exp.Format)):
        # Trino's format() takes Java format strings, which DuckDB's printf understands
        node.replace(exp.Anonymous(this="printf", expressions=[node.this, *node.expressions]))
    _fix_format_datetime(tree)
    return tree.sql(dialect="duckdb")


def _fix_format_datetime(tree: Any) -> None:
    from sqlglot import exp

    for node in list(tree.find_all(exp.Anonymous, exp.TimeToStr)):
        if isinstance(node, exp.Anonymous) and node.name.lower() == "format_datetime":
            args = node.expressions
        elif isinstance(node, exp.TimeToStr) and node.meta.get("joda"):
            args = [node.this, node.args.get("format")]
        else:
            continue
        if len(args) == 2 and isinstance(args[1], exp.Literal):
            fmt = exp.Literal.string(joda_to_strftime(args[1].this))
            node.replace(exp.Anonymous(this="strftime", expressions=[args[0], fmt]))


def mark_joda(sql: str) -> str:
    """No-op hook kept for symmetry; format_datetime is handled on the tree."""
    return sql
