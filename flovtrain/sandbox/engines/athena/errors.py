"""Errors a query can end with, worded like Athena's StateChangeReason."""

from __future__ import annotations

import re


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
        re.compile(r"Could not convert string '([^']*)' to (\w+)", re.I),
        "INVALID_CAST_ARGUMENT: Cannot cast '{0}' to {1}",
    ),
    (
        re.compile(r"No function matches the given name and argument types '([^(]+)\(", re.I),
        "FUNCTION_NOT_FOUND: line 1:1: Function '{0}' not registered",
    ),
    (
        re.compile(r"Scalar Function with name (\w+) does not exist", re.I),
        "FUNCTION_NOT_FOUND: line 1:1: Function '{0}' not registered",
    ),
]


def from_duckdb(exc: Exception) -> QueryError:
    """Translate a DuckDB error into Athena's words where we know them."""
    text = str(exc)
    for pattern, template in _DUCK_PATTERNS:
        match = pattern.search(text)
        if match:
            return QueryError(
                template.format(*[g.lower() if i == 1 else g for i, g in enumerate(match.groups())])
            )
    first = text.splitlines()[0] if text else type(exc).__name__
    return QueryError(f"GENERIC_USER_ERROR: {first}", 2, 1006)
