"""Errors a query can end with, worded like Athena's StateChangeReason."""

from __future__ import annotations

import re

from flovtrain.sandbox.engines.athena.results import TRINO_TYPES


class QueryError(Exception):
    """The query FAILED; ``str(exc)`` is Athena's StateChangeReason.

    Attributes
    ----------
    category : int
        Athena's ErrorCategory: 1 system, 2 user, 3 other.
    error_type : int
        Athena's ErrorType code (e.g. 1006 for a semantic error).
    """

    def __init__(self, reason: str, category: int = 2, error_type: int = 1006) -> None:
        super().__init__(reason)
        self.reason = reason
        self.category = category
        self.error_type = error_type


class QueryCancelled(Exception):
    """The query was CANCELLED (stopped by the user or over the workgroup's byte limit)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def syntax_error(line: int, col: int, description: str) -> QueryError:
    return QueryError(f"line {line}:{col}: {description}", 2, 1004)


def table_not_found(
    catalog: str, database: str, table: str, line: int = 1, col: int = 1
) -> QueryError:
    return QueryError(
        f"TABLE_NOT_FOUND: line {line}:{col}: Table '{catalog}.{database}.{table}' does not exist",
        2,
        1006,
    )


def schema_not_found(database: str) -> QueryError:
    return QueryError(f"SCHEMA_NOT_FOUND: Schema '{database}' does not exist", 2, 1006)


def column_not_found(column: str, line: int = 1, col: int = 1) -> QueryError:
    return QueryError(
        f"COLUMN_NOT_FOUND: line {line}:{col}: Column '{column}' cannot be resolved or requester "
        "is not authorized to access requested resources",
        2,
        1006,
    )


_DUCK_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Division by zero", re.I), "DIVISION_BY_ZERO: Division by zero"),
    (
        re.compile(r'Referenced column "([^"]+)" not found', re.I),
        "COLUMN_NOT_FOUND: line 1:1: Column '{0}' cannot be resolved or requester is not "
        "authorized to access requested resources",
    ),
    (
        re.compile(r'Could not convert string "([^"]*)" to DECIMAL\((\d+),(\d+)\)', re.I),
        "INVALID_CAST_ARGUMENT: Cannot cast VARCHAR '{0}' to DECIMAL({1}, {2}). "
        "Value is not a number.",
    ),
    (
        re.compile(r'(date|timestamp) field (?:format|value out of range): "([^"]*)"', re.I),
        "INVALID_CAST_ARGUMENT: Value cannot be cast to {0}: {1}",
    ),
    (
        re.compile(r"Scalar Function with name (\w+) does not exist", re.I),
        "FUNCTION_NOT_FOUND: line 1:1: Function '{0}' not registered",
    ),
    # a function refusing its argument (the macros' error() calls word Trino's messages)
    (re.compile(r"Invalid Input Error: (.*)"), "INVALID_FUNCTION_ARGUMENT: {0}"),
]


_CALL = re.compile(
    r"(?:No function matches the given name and argument types|Could not choose a best "
    r"candidate function for the function call) ['\"]([^(]+)\((.*?)\)['\"]",
    re.I,
)
_OPERATORS = {"+", "-", "*", "/", "//", "%", "||", "=", "<>", "!=", "<", ">", "<=", ">="}
#: DuckDB argument types in a binder error -> the Trino type names Athena prints.
_TRINO_TYPES = {
    **TRINO_TYPES,
    "STRING_LITERAL": "varchar",
    "INTEGER_LITERAL": "integer",
    "TIMESTAMP": "timestamp(3)",
    "TIMESTAMP WITH TIME ZONE": "timestamp(3) with time zone",
}


def _trino_type(duck: str) -> str:
    duck = duck.strip()
    if duck.endswith("[]"):
        return f"array({_trino_type(duck[:-2])})"
    if duck.startswith("DECIMAL"):
        return duck.lower()
    return _TRINO_TYPES.get(duck, duck.lower())


def _mismatch(name: str, args: str) -> QueryError:
    """A call DuckDB cannot bind: Trino's TYPE_MISMATCH for an operator, FUNCTION_NOT_FOUND
    (unexpected parameters) for a function."""
    types = [_trino_type(a) for a in re.split(r",\s*(?![^(]*\))", args) if a.strip()]
    if name in _OPERATORS and len(types) == 2:
        return QueryError(
            f"TYPE_MISMATCH: line 1:1: Cannot apply operator: {types[0]} {name} {types[1]}",
            2,
            1006,
        )
    return QueryError(
        f"FUNCTION_NOT_FOUND: line 1:1: Unexpected parameters ({', '.join(types)}) for "
        f"function {name.lower()}",
        2,
        1006,
    )


def position(sql: str, offset: int) -> tuple[int, int]:
    """The 1-based (line, column) of a character offset in ``sql``.

    Examples
    --------
    >>> position("SELECT\n  x", 9)
    (2, 3)
    """
    line = sql.count("\n", 0, offset) + 1
    return line, offset - (sql.rfind("\n", 0, offset) + 1) + 1


def positioned(exc: QueryError, sql: str) -> QueryError:
    """Give an error raised without a position (``line 1:1:``) the line:column Trino reports:
    where the function, table or operand it names first appears in the query text."""
    reason = exc.reason
    if ": line 1:1: " not in reason:
        return exc
    name = re.search(r"Function '([^']+)'|for function (\w+)", reason)
    table = re.search(r"Table '(?:[^'.]+\.)*([^'.]+)' does not exist", reason)
    operator = re.search(r"Cannot apply operator: \S+ (\S+) ", reason)
    if operator:  # Trino points at the operator; string literals may hold the same characters
        blanked = re.sub(r"'(?:[^']|'')*'", lambda m: " " * len(m.group()), sql)
        found = re.search(r"(" + re.escape(operator.group(1)) + r")", blanked)
        table = found  # offset taken from group 1
        name = None
    elif name:
        found = re.search(r"\b" + re.escape(name.group(1) or name.group(2)) + r"\s*\(", sql, re.I)
    elif table:
        found = re.search(
            r"\b(?:FROM|JOIN)\s+((?:[\w\"`]+\.)*[\"`]?" + re.escape(table.group(1)) + r"\b)",
            sql,
            re.I,
        )
    else:
        found = None
    if found is None:
        return exc
    offset = found.start(1) if table and not name else found.start()
    line, col = position(sql, offset)
    fixed = QueryError(
        reason.replace(": line 1:1: ", f": line {line}:{col}: ", 1), exc.category, exc.error_type
    )
    return fixed


#: DuckDB's physical type in a failed cast -> the name Trino's message gives.
_CAST_NAMES = {
    "INT8": "TINYINT",
    "INT16": "SMALLINT",
    "INT32": "INT",
    "INT64": "BIGINT",
    "FLOAT": "REAL",
    "BOOL": "BOOLEAN",
}
_CAST = re.compile(r"Could not convert string '([^']*)' to (\w+)", re.I)


def from_duckdb(exc: Exception) -> QueryError:
    """Translate a DuckDB error into Athena's words where we know them."""
    text = str(exc)
    call = _CALL.search(text)
    if call:
        return _mismatch(call.group(1), call.group(2))
    cast = _CAST.search(text)
    if cast:
        target = _CAST_NAMES.get(cast.group(2).upper(), cast.group(2).upper())
        return QueryError(f"INVALID_CAST_ARGUMENT: Cannot cast '{cast.group(1)}' to {target}")
    for pattern, template in _DUCK_PATTERNS:
        match = pattern.search(text)
        if match:
            return QueryError(template.format(*match.groups()))
    first = text.splitlines()[0] if text else type(exc).__name__
    return QueryError(f"GENERIC_USER_ERROR: {first}", 2, 1006)
