"""Trino's math functions (functions/math.md) through sqlglot (read="athena") -> rewrite() ->
DuckDB + install(), as the sandbox's Athena runs them.

Each case: the SQL, the result Trino gives (its documentation, its MathFunctions /
WilsonInterval source, or the exact mathematical value) and the result's Trino type. An
irrational result carries a relative tolerance: Trino computes it with Apache Commons Math,
the sandbox in DuckDB, and the two may differ in the last binary digit. The error cases are
Trino's INVALID_FUNCTION_ARGUMENT messages.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from test_trino_functions import run_case

# (sql, printed result, Trino type[, relative tolerance])
CASES: list[tuple[Any, ...]] = [
    # floating point constants and tests
    ("SELECT nan()", "NaN", "double"),
    ("SELECT infinity()", "Infinity", "double"),
    ("SELECT -infinity()", "-Infinity", "double"),
    ("SELECT e()", "2.718281828459045", "double"),
    ("SELECT is_nan(nan())", "true", "boolean"),
    ("SELECT is_nan(1.5)", "false", "boolean"),
    ("SELECT is_nan(CAST(NULL AS DOUBLE))", "NULL", "boolean"),
    ("SELECT is_finite(2.5e0)", "true", "boolean"),
    ("SELECT is_finite(infinity())", "false", "boolean"),
    ("SELECT is_finite(nan())", "false", "boolean"),
    ("SELECT is_finite(7)", "true", "boolean"),
    ("SELECT is_infinite(-infinity())", "true", "boolean"),
    ("SELECT is_infinite(nan())", "false", "boolean"),
    ("SELECT is_infinite(1.5)", "false", "boolean"),
    # cube root: Java's Math.cbrt is exact for exact cubes
    ("SELECT cbrt(27.0)", "3.0", "double"),
    ("SELECT cbrt(27)", "3.0", "double"),
    ("SELECT cbrt(-8e0)", "-2.0", "double"),
    ("SELECT cbrt(1000)", "10.0", "double"),
    ("SELECT cbrt(-0.125)", "-0.5", "double"),
    ("SELECT cbrt(2)", "1.2599210498948732", "double"),
    ("SELECT cbrt(0e0)", "0.0", "double"),
    ("SELECT cbrt(infinity())", "Infinity", "double"),
    ("SELECT cbrt(CAST(NULL AS DOUBLE))", "NULL", "double"),
    # sign: the argument's type (decimal(1,0) for any decimal)
    ("SELECT sign(-2.5)", "-1", "decimal(1,0)"),
    ("SELECT sign(DECIMAL '0.00')", "0", "decimal(1,0)"),
    ("SELECT sign(-2)", "-1", "integer"),
    ("SELECT sign(BIGINT '42')", "1", "bigint"),
    ("SELECT sign(SMALLINT '-3')", "-1", "smallint"),
    ("SELECT sign(TINYINT '0')", "0", "tinyint"),
    ("SELECT sign(-2.5e0)", "-1.0", "double"),
    ("SELECT sign(REAL '3.5')", "1.0", "real"),
    ("SELECT sign(-0e0)", "-0.0", "double"),
    ("SELECT sign(nan())", "NaN", "double"),
    ("SELECT sign(-infinity())", "-1.0", "double"),
    ("SELECT sign(CAST(NULL AS DOUBLE))", "NULL", "double"),
    # width_bucket(x, bound1, bound2, n)
    ("SELECT width_bucket(3.14, 0, 4, 3)", "3", "bigint"),
    ("SELECT width_bucket(-1, 0, 4, 3)", "0", "bigint"),
    ("SELECT width_bucket(4, 0, 4, 3)", "4", "bigint"),
    ("SELECT width_bucket(0, 0, 4, 3)", "1", "bigint"),
    ("SELECT width_bucket(3.14, 4, 0, 3)", "1", "bigint"),
    ("SELECT width_bucket(5, 4, 0, 3)", "0", "bigint"),
    ("SELECT width_bucket(-infinity(), 0, 4, 3)", "0", "bigint"),
    ("SELECT width_bucket(99.5e0, 90, 110, 20)", "10", "bigint"),
    ("SELECT width_bucket(NULL, 0, 4, 3)", "NULL", "bigint"),
    # width_bucket(x, bins)
    ("SELECT width_bucket(2.5, ARRAY[1.0, 2.0, 3.0])", "2", "bigint"),
    ("SELECT width_bucket(0.5, ARRAY[1.0, 2.0, 3.0])", "0", "bigint"),
    ("SELECT width_bucket(2.0, ARRAY[1.0, 2.0, 3.0])", "2", "bigint"),
    ("SELECT width_bucket(3, ARRAY[1.0, 2.0, 3.0])", "3", "bigint"),
    ("SELECT width_bucket(7, ARRAY[1, 5, 5, 10, 20])", "3", "bigint"),
    ("SELECT width_bucket(infinity(), ARRAY[1.0])", "1", "bigint"),
    ("SELECT width_bucket(1.5, CAST(NULL AS ARRAY(DOUBLE)))", "NULL", "bigint"),
    # from_base
    ("SELECT from_base('ff', 16)", "255", "bigint"),
    ("SELECT from_base('FF', 16)", "255", "bigint"),
    ("SELECT from_base('-101', 2)", "-5", "bigint"),
    ("SELECT from_base('+zz', 36)", "1295", "bigint"),
    ("SELECT from_base('7fffffffffffffff', 16)", "9223372036854775807", "bigint"),
    ("SELECT from_base('-8000000000000000', 16)", "-9223372036854775808", "bigint"),
    (
        "SELECT from_base('" + "0" * 68 + "11', 2)",
        "3",
        "bigint",
    ),
    ("SELECT from_base(NULL, 16)", "NULL", "bigint"),
    # normal_cdf / inverse_normal_cdf
    ("SELECT normal_cdf(0, 1, 0)", "0.5", "double"),
    ("SELECT normal_cdf(10, 2, 10)", "0.5", "double"),
    ("SELECT normal_cdf(0, 1, 1.96)", 0.97500210485177952, "double", 2e-16),
    ("SELECT normal_cdf(0, 1, -1)", 0.15865525393145705, "double", 1e-15),
    ("SELECT normal_cdf(100, 15, 130)", 0.97724986805182079, "double", 1e-15),
    ("SELECT normal_cdf(0, 1, 40)", "1.0", "double"),
    ("SELECT normal_cdf(0, 1, -40)", "0.0", "double"),
    ("SELECT normal_cdf(0, 1, NULL)", "NULL", "double"),
    ("SELECT inverse_normal_cdf(0, 1, 0.5)", "0.0", "double"),
    ("SELECT inverse_normal_cdf(0, 1, 0.975)", 1.9599639845400542, "double", 1e-15),
    ("SELECT inverse_normal_cdf(100, 15, 0.025)", 70.600540231899187, "double", 1e-15),
    ("SELECT inverse_normal_cdf(0, 1, 1e-10)", -6.3613409024040557, "double", 1e-7),
    ("SELECT inverse_normal_cdf(0, 1, NULL)", "NULL", "double"),
    # Wilson score interval (Trino's own test values)
    ("SELECT wilson_interval_lower(1250, 1310, 1.96e0)", "0.9414883725395894", "double"),
    ("SELECT wilson_interval_upper(1250, 1310, 1.96e0)", "0.9642524717143908", "double"),
    ("SELECT wilson_interval_lower(0, 1, 0)", "0.0", "double"),
    ("SELECT wilson_interval_upper(5, 5, 0)", "1.0", "double"),
    ("SELECT wilson_interval_upper(NULL, 5, 1.96)", "NULL", "double"),
]

# (sql, Trino's error message)
ERRORS: list[tuple[str, str]] = [
    ("SELECT width_bucket(1, 2, 2, 3)", "bounds cannot equal each other"),
    ("SELECT width_bucket(1, 0, 4, 0)", "bucketCount must be greater than 0"),
    ("SELECT width_bucket(1, 0, 4, -2)", "bucketCount must be greater than 0"),
    ("SELECT width_bucket(nan(), 0, 4, 3)", "operand must not be NaN"),
    ("SELECT width_bucket(1, -infinity(), 4, 3)", "first bound must be finite"),
    ("SELECT width_bucket(1, 0, nan(), 3)", "second bound must be finite"),
    ("SELECT width_bucket(1, CAST(ARRAY[] AS ARRAY(DOUBLE)))", "Bins cannot be an empty array"),
    ("SELECT width_bucket(nan(), ARRAY[1.0])", "Operand cannot be NaN"),
    ("SELECT width_bucket(2, ARRAY[3.0, 1.0])", "Bin values are not sorted in ascending order"),
    ("SELECT width_bucket(2, ARRAY[1.0, infinity()])", "Bin value must be finite, got Infinity"),
    ("SELECT from_base('xyz', 16)", "Not a valid base-16 number: xyz"),
    ("SELECT from_base('12', 2)", "Not a valid base-2 number: 12"),
    ("SELECT from_base('', 10)", "Not a valid base-10 number: "),
    ("SELECT from_base('-', 10)", "Not a valid base-10 number: -"),
    ("SELECT from_base('8000000000000000', 16)", "Not a valid base-16 number: 8000000000000000"),
    ("SELECT from_base('10', 37)", "Radix must be between 2 and 36"),
    ("SELECT from_base('10', 1)", "Radix must be between 2 and 36"),
    ("SELECT normal_cdf(0, 0, 1)", "standardDeviation must be > 0"),
    ("SELECT inverse_normal_cdf(0, 1, 0)", "p must be 0 > p > 1"),
    ("SELECT inverse_normal_cdf(0, 1, 1)", "p must be 0 > p > 1"),
    ("SELECT inverse_normal_cdf(0, -1, 0.5)", "sd must be > 0"),
    ("SELECT wilson_interval_lower(-1, 10, 1.96)", "number of successes must not be negative"),
    ("SELECT wilson_interval_lower(0, 0, 1.96)", "number of trials must be positive"),
    (
        "SELECT wilson_interval_upper(11, 10, 1.96)",
        "number of successes must not be larger than number of trials",
    ),
    ("SELECT wilson_interval_upper(1, 10, -1)", "z-score must not be negative"),
]


def _id(case: tuple[Any, ...]) -> str:
    return case[0][7:70]


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_math_function(case: tuple[Any, ...]) -> None:
    sql, want, kind = case[:3]
    rows, types = run_case({"sql": sql})
    got = rows[0][0]
    if len(case) > 3:  # irrational: within the tolerance of the exact value
        assert math.isclose(float(got), want, rel_tol=case[3], abs_tol=0.0), (got, want)
    else:
        assert got == want
    assert types[0] == kind


@pytest.mark.parametrize("case", ERRORS, ids=[_id(c) for c in ERRORS])
def test_math_error(case: tuple[str, str]) -> None:
    sql, message = case
    with pytest.raises(Exception) as info:
        run_case({"sql": sql})
    assert str(info.value).splitlines()[0].endswith(f"Error: {message}"), str(info.value)


def test_over_a_column_of_rows() -> None:
    """Row by row: a NULL row gives NULL, an error fires only for the row that earns it."""
    sql = (
        "SELECT width_bucket(x, 0, 10, 5), sign(x), from_base(h, 16), is_nan(x)"
        " FROM (VALUES (1.5e0, 'a'), (NULL, NULL), (12e0, '10'), (-0.5e0, 'FF')) AS t(x, h)"
    )
    rows, types = run_case({"sql": sql})
    assert rows == [
        ["1", "1.0", "10", "false"],
        ["NULL", "NULL", "NULL", "NULL"],
        ["6", "1.0", "16", "false"],
        ["0", "-1.0", "255", "false"],
    ]
    assert types == ["bigint", "double", "bigint", "boolean"]
