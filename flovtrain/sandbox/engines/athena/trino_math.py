"""Trino's math functions that DuckDB lacks, names differently or computes another way.

Bitwise shifts and cosine similarity / distance of maps, as before: ``bitwise_left_shift`` /
``bitwise_right_shift`` (logical) / ``bitwise_right_shift_arithmetic`` become macros over
DuckDB's ``<<`` / ``>>`` (a shift by 64 or more bits gives 0, or -1 for an arithmetic shift of a
negative value, as Trino's bitwise.md says); ``cosine_similarity`` and ``cosine_distance`` of two
maps (sparse vectors) sum over the keys both maps share.

From math.md: ``nan()``, ``infinity()``, ``e()``, ``is_finite``, ``is_infinite``, ``cbrt``
(Java's ``Math.cbrt`` is exact for an exact cube; DuckDB's may be an ulp off, so one Newton step
corrects it), ``sign`` (of the argument's type, ``decimal(1,0)`` for a decimal), both forms of
``width_bucket``, ``from_base``, ``normal_cdf`` / ``inverse_normal_cdf`` and
``wilson_interval_lower`` / ``_upper``, with Trino's INVALID_FUNCTION_ARGUMENT messages raised
by DuckDB's ``error()``. ``normal_cdf`` and ``inverse_normal_cdf`` follow what Trino calls in
Apache Commons Math step by step (``Erf.erf`` through the regularized gamma function's series or
continued fraction, ``Erf.erfInv`` by Giles' polynomials), so the digits printed are Trino's.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

from flovtrain.sandbox.engines.athena.trino_tree import _cast, _fn

__all__ = ["MACROS", "rewrite_math"]

_RENAMED = {
    "bitwise_left_shift": "_trino_shift_left",
    "bitwise_right_shift": "_trino_shift_right",
    "bitwise_right_shift_arithmetic": "_trino_shift_right_arithmetic",
}


def _is_map(node: Any) -> bool:
    if isinstance(node, (exp.Map, exp.VarMap, exp.MapFromEntries, exp.ToMap)):
        return True
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("map", "map_from_entries"):
        return True
    return node.type is not None and node.type.this == exp.DataType.Type.MAP


def _cosine(node: Any, distance: bool) -> None:
    left, right = node.this, node.expression
    if _is_map(left) or _is_map(right):
        similarity = _fn("_trino_map_cosine_similarity", left.copy(), right.copy())
    else:
        similarity = _fn(
            "list_cosine_similarity",
            _cast(left.copy(), "DOUBLE[]"),
            _cast(right.copy(), "DOUBLE[]"),
        )
    if distance:
        node.replace(exp.Paren(this=exp.Sub(this=exp.Literal.number(1), expression=similarity)))
    else:
        node.replace(similarity)


_INTEGRAL = ("TINYINT", "SMALLINT", "INT", "BIGINT")
_FLOATING = ("FLOAT", "DOUBLE")


def _static_type(node: Any) -> str | None:
    """The DuckDB type Trino gives ``node`` where the tree says it for sure (a literal, a cast, a
    typed column), else None. sqlglot types ``2.5`` as a double; Trino (and DuckDB) a decimal."""
    while isinstance(node, (exp.Neg, exp.Paren)):
        node = node.this
    if isinstance(node, exp.Literal) and not node.is_string:
        if "e" in node.name.lower():
            return "DOUBLE"
        if "." in node.name:
            return "DECIMAL"
        return "INT" if abs(int(node.name)) < 2**31 else "BIGINT"
    kind = node.to if isinstance(node, (exp.Cast, exp.TryCast)) else None
    if kind is None and isinstance(node, exp.Column):
        kind = node.type
    if kind is None or not isinstance(kind, exp.DataType):
        return None
    name = kind.this.name
    if name == "DECIMAL":
        return "DECIMAL"
    return name if name in _INTEGRAL + _FLOATING else None


def _sign(node: Any) -> None:
    kind = _static_type(node.this)
    signed = _fn("_trino_sign", node.this.copy())
    if kind is not None:
        signed = _cast(signed, "DECIMAL(1,0)" if kind == "DECIMAL" else kind)
    node.replace(signed)


def _double(node: Any) -> Any:
    return _cast(node.copy(), "DOUBLE")


def _bigint(node: Any) -> Any:
    return _cast(node.copy(), "BIGINT")


def _width_bucket(node: Any) -> None:
    x, low = node.this, node.args.get("min_value")
    high, count = node.args.get("max_value"), node.args.get("num_buckets")
    if low is not None and high is None and count is None:  # width_bucket(x, bins)
        node.replace(_fn("_trino_width_bucket_bins", _double(x), _cast(low.copy(), "DOUBLE[]")))
    elif low is not None and high is not None and count is not None:
        node.replace(
            _fn("_trino_width_bucket", _double(x), _double(low), _double(high), _bigint(count))
        )


#: Trino name -> (macro, how each argument is cast: D double, B bigint, V varchar, - as is)
_CALLS = {
    "is_finite": ("isfinite", "D"),
    "is_infinite": ("isinf", "D"),
    "normal_cdf": ("_trino_normal_cdf", "DDD"),
    "inverse_normal_cdf": ("_trino_inverse_normal_cdf", "DDD"),
    "wilson_interval_lower": ("_trino_wilson_lower", "BBD"),
    "wilson_interval_upper": ("_trino_wilson_upper", "BBD"),
}
_CASTS = {"D": "DOUBLE", "B": "BIGINT", "V": "VARCHAR"}
_CONSTANTS = {"nan": "'NaN'", "infinity": "'Infinity'", "e": "2.718281828459045e0"}


def _constant(name: str) -> Any:
    text = _CONSTANTS[name]
    value = exp.Literal.string(text[1:-1]) if text[0] == "'" else exp.Literal.number(text)
    return _cast(value, "DOUBLE")


def _call(node: Any, name: str) -> None:
    macro, casts = _CALLS[name]
    if len(node.expressions) != len(casts):
        return  # a wrong number of arguments: left for DuckDB to reject
    args = [
        a.copy() if c == "-" else _cast(a.copy(), _CASTS[c])
        for a, c in zip(node.expressions, casts, strict=True)
    ]
    node.replace(_fn(macro, *args))


def rewrite_math(tree: Any) -> None:
    """Apply the rules above to a parsed statement (in place)."""
    for node in reversed(list(tree.walk(bfs=False))):
        if node.parent is None and node is not tree:
            continue
        name = node.name.lower() if isinstance(node, exp.Anonymous) else ""
        if name in _RENAMED:
            node.replace(_fn(_RENAMED[name], *(a.copy() for a in node.expressions)))
        elif name in _CONSTANTS and not node.expressions:
            node.replace(_constant(name))
        elif name in _CALLS:
            _call(node, name)
        elif name == "cosine_similarity" and len(node.expressions) == 2:
            pair = exp.CosineDistance(this=node.expressions[0], expression=node.expressions[1])
            node.replace(pair)
            _cosine(pair, distance=False)
        elif isinstance(node, exp.CosineDistance):
            _cosine(node, distance=True)
        elif isinstance(node, exp.Cbrt):
            node.replace(_fn("_trino_cbrt", _double(node.this)))
        elif isinstance(node, exp.Sign):
            _sign(node)
        elif isinstance(node, exp.WidthBucket):
            _width_bucket(node)
        elif isinstance(node, exp.FromBase):
            node.replace(
                _fn(
                    "_trino_from_base", _cast(node.this.copy(), "VARCHAR"), _bigint(node.expression)
                )
            )


def _entries_sum(body: str) -> str:
    return f"coalesce(list_sum(list_transform(map_keys(a), lambda k: {body})), 0)"


#: (name, parameters, body) of the DuckDB macros the rules call.
MACROS: list[tuple[str, str, str]] = [
    ("_trino_shift_left", "x, s", "CASE WHEN s >= 64 THEN 0 ELSE x << s END"),
    (
        "_trino_shift_right",
        "x, s",
        "CASE WHEN s >= 64 THEN 0 WHEN s = 0 OR x >= 0 THEN x >> s"
        " ELSE (x >> s) & ((CAST(1 AS BIGINT) << (64 - s)) - 1) END",
    ),
    (
        "_trino_shift_right_arithmetic",
        "x, s",
        "CASE WHEN s >= 64 THEN CASE WHEN x < 0 THEN -1 ELSE 0 END ELSE x >> s END",
    ),
    (
        "_trino_map_norm",
        "m",
        "sqrt(list_sum(list_transform(map_values(m),"
        " lambda v: CAST(v AS DOUBLE) * CAST(v AS DOUBLE))))",
    ),
    (
        "_trino_map_cosine_similarity",
        "a, b",
        _entries_sum(
            "coalesce(CAST(map_extract_value(a, k) AS DOUBLE)"
            " * CAST(map_extract_value(b, k) AS DOUBLE), 0)"
        )
        + " / (_trino_map_norm(a) * _trino_map_norm(b))",
    ),
]


# ------------------------------------------------------------------------ math.md functions
def _d(value: float) -> str:
    """A DuckDB double literal (a plain ``0.25`` would be a DECIMAL)."""
    text = repr(value)
    return text if "e" in text or "n" in text else text + "e0"


def _horner(coefficients: list[float], var: str = "w") -> str:
    """Commons Math's ``p = c0; p = c1 + p * w; ...`` as one expression."""
    body = _d(coefficients[0])
    for c in coefficients[1:]:
        body = f"({_d(c)} + {body} * {var})"
    return body


# Erf.erfInv (Apache Commons Math 3, after M. Giles), highest power first
_ERFINV_CENTRE = [
    -3.6444120640178196996e-21, -1.685059138182016589e-19, 1.2858480715256400167e-18,
    1.115787767802518096e-17, -1.333171662854620906e-16, 2.0972767875968561637e-17,
    6.6376381343583238325e-15, -4.0545662729752068639e-14, -8.1519341976054721522e-14,
    2.6335093153082322977e-12, -1.2975133253453532498e-11, -5.4154120542946279317e-11,
    1.051212273321532285e-09, -4.1126339803469836976e-09, -2.9070369957882005086e-08,
    4.2347877827932403518e-07, -1.3654692000834678645e-06, -1.3882523362786468719e-05,
    0.0001867342080340571352, -0.00074070253416626697512, -0.0060336708714301490533,
    0.24015818242558961693, 1.6536545626831027356,
]  # fmt: skip
_ERFINV_MIDDLE = [
    2.2137376921775787049e-09, 9.0756561938885390979e-08, -2.7517406297064545428e-07,
    1.8239629214389227755e-08, 1.5027403968909827627e-06, -4.013867526981545969e-06,
    2.9234449089955446044e-06, 1.2475304481671778723e-05, -4.7318229009055733981e-05,
    6.8284851459573175448e-05, 2.4031110387097893999e-05, -0.0003550375203628474796,
    0.00095328937973738049703, -0.0016882755560235047313, 0.0024914420961078508066,
    -0.0037512085075692412107, 0.005370914553590063617, 1.0052589676941592334,
    3.0838856104922207635,
]  # fmt: skip
_ERFINV_TAIL = [
    -2.7109920616438573243e-11, -2.5556418169965252055e-10, 1.5076572693500548083e-09,
    -3.7894654401267369937e-09, 7.6157012080783393804e-09, -1.4960026627149240478e-08,
    2.9147953450901080826e-08, -6.7711997758452339498e-08, 2.2900482228026654717e-07,
    -9.9298272942317002539e-07, 4.5260625972231537039e-06, -1.9681778105531670567e-05,
    7.5995277030017761139e-05, -0.00021503011930044477347, -0.00013871931833623122026,
    1.0103004648645343977, 4.8499064014085844221,
]  # fmt: skip

#: log Gamma(1/2) = log(sqrt(pi)), the constant in Erf.erf's regularized gamma function
_LOG_GAMMA_HALF = _d(0.5723649429247001)
_DIGITS = "'0123456789abcdefghijklmnopqrstuvwxyz'"
_MAX_LONG = "9223372036854775807"


def _fail(message: str) -> str:
    return f"error('{message}')"


def _wilson(bound: int) -> tuple[str, str, str]:
    """WilsonInterval.wilsonInterval: checks, then the score interval's bound."""
    return (
        f"_trino_wilson_{'lower' if bound < 0 else 'upper'}",
        "s, n, z",
        "CASE WHEN s < 0 THEN " + _fail("number of successes must not be negative")
        + " WHEN n <= 0 THEN " + _fail("number of trials must be positive")
        + " WHEN s > n THEN "
        + _fail("number of successes must not be larger than number of trials")
        + " WHEN NOT (z >= 0) OR isnan(z) THEN " + _fail("z-score must not be negative")
        + f" ELSE _trino_wilson(CAST(s AS DOUBLE) / n, CAST(n AS DOUBLE), z, {bound}) END",
    )  # fmt: skip


MACROS += [
    # cbrt: one Newton step puts DuckDB's cube root on Java's (3.0000000000000004 -> 3.0)
    ("_trino_cbrt", "x", "_trino_cbrt_step(x, cbrt(x))"),
    (
        "_trino_cbrt_step",
        "x, y",
        "CASE WHEN y = 0 OR NOT isfinite(y) THEN y ELSE y - (y * y * y - x) / (3 * y * y) END",
    ),
    # Math.signum: 0, -0.0 and NaN are returned as they are (DuckDB's NaN is > 0)
    (
        "_trino_sign",
        "x",
        "trunc(CASE WHEN isnan(x) THEN x WHEN x > 0 THEN 1 WHEN x < 0 THEN -1 ELSE x END)",
    ),
    (
        "_trino_width_bucket",
        "x, b1, b2, n",
        "CASE WHEN x IS NULL OR b1 IS NULL OR b2 IS NULL OR n IS NULL THEN NULL"
        " WHEN n <= 0 THEN "
        + _fail("bucketCount must be greater than 0")
        + " WHEN isnan(x) THEN "
        + _fail("operand must not be NaN")
        + " WHEN NOT isfinite(b1) THEN "
        + _fail("first bound must be finite")
        + " WHEN NOT isfinite(b2) THEN "
        + _fail("second bound must be finite")
        + " WHEN b1 = b2 THEN "
        + _fail("bounds cannot equal each other")
        + f" WHEN x >= greatest(b1, b2) AND n = {_MAX_LONG} THEN "
        + _fail("Bucket for value ' || x || ' is out of range")
        + " WHEN b1 < b2 THEN _trino_width_bucket_up(x, b1, b2, n)"
        " ELSE n - _trino_width_bucket_up(x, b2, b1, n) + 1 END",
    ),  # fmt: skip
    (
        "_trino_width_bucket_up",
        "x, lower, upper, n",
        "CASE WHEN x < lower THEN 0 WHEN x >= upper THEN n + 1"
        " ELSE CAST(trunc(n * (x - lower) / (upper - lower) + 1) AS BIGINT) END",
    ),
    # width_bucket(x, bins): Trino's binary search, with its checks on the path it takes
    (
        "_trino_width_bucket_bins",
        "x, b",
        "CASE WHEN x IS NULL OR b IS NULL THEN NULL"
        " WHEN len(b) = 0 THEN "
        + _fail("Bins cannot be an empty array")
        + " WHEN isnan(x) THEN "
        + _fail("Operand cannot be NaN")
        + " ELSE _trino_bins_found(list_reduce("
        "range(0, 2 + CAST(ceil(log2(len(b) + 1)) AS BIGINT)),"
        " lambda s, i: _trino_bins_step(s, x, b),"
        " {'lo': CAST(0 AS BIGINT), 'hi': CAST(len(b) AS BIGINT), 'err': 0, 'bad': 0e0})) END",
    ),  # fmt: skip
    (
        "_trino_bins_step",
        "s, x, b",
        "CASE WHEN s.err > 0 OR s.lo >= s.hi THEN s"
        " WHEN b[s.lo + 1] > b[s.hi] THEN {'lo': s.lo, 'hi': s.hi, 'err': 1, 'bad': 0e0}"
        " ELSE _trino_bins_probe(s, x, (s.lo + s.hi) // 2, b[(s.lo + s.hi) // 2 + 1]) END",
    ),
    (
        "_trino_bins_probe",
        "s, x, i, bin",
        "CASE WHEN NOT isfinite(bin) THEN {'lo': s.lo, 'hi': s.hi, 'err': 2, 'bad': bin}"
        " WHEN x < bin THEN {'lo': s.lo, 'hi': i, 'err': 0, 'bad': 0e0}"
        " ELSE {'lo': i + 1, 'hi': s.hi, 'err': 0, 'bad': 0e0} END",
    ),
    (
        "_trino_bins_found",
        "s",
        "CASE s.err WHEN 1 THEN "
        + _fail("Bin values are not sorted in ascending order")
        + " WHEN 2 THEN "
        + _fail(
            "Bin value must be finite, got ' || CASE WHEN isnan(s.bad)"
            " THEN 'NaN' WHEN s.bad > 0 THEN 'Infinity' ELSE '-Infinity' END || '"
        )
        + " ELSE s.lo END",
    ),  # fmt: skip
    # from_base: Long.parseLong (an optional sign, then digits below the radix, in range)
    (
        "_trino_from_base",
        "s, r",
        "CASE WHEN s IS NULL OR r IS NULL THEN NULL"
        " WHEN r < 2 OR r > 36 THEN "
        + _fail("Radix must be between 2 and 36")
        + " WHEN NOT regexp_full_match(lower(s), '[+-]?[' || left("
        + _DIGITS
        + ", CAST(r AS INT))"
        " || ']+') THEN _trino_not_base(s, r)"
        " ELSE _trino_from_base_signed(s, r, list_reduce(string_split(lower(ltrim(s, '+-')), ''),"
        f" lambda v, c: CASE WHEN v > {_MAX_LONG} THEN v"
        f" ELSE v * r + instr({_DIGITS}, c) - 1 END, CAST(0 AS HUGEINT))) END",
    ),  # fmt: skip
    ("_trino_not_base", "s, r", _fail("Not a valid base-' || r || ' number: ' || s || '")),
    (
        "_trino_from_base_signed",
        "s, r, v",
        f"CASE WHEN starts_with(s, '-') AND v <= 9223372036854775808 THEN CAST(-v AS BIGINT)"
        f" WHEN NOT starts_with(s, '-') AND v <= {_MAX_LONG} THEN CAST(v AS BIGINT)"
        " ELSE _trino_not_base(s, r) END",
    ),
    # normal_cdf: 0.5 * (1 + Erf.erf((v - mean) / (sd * sqrt(2))))
    (
        "_trino_normal_cdf",
        "m, sd, v",
        "CASE WHEN NOT (sd > 0) OR isnan(sd) THEN "
        + _fail("standardDeviation must be > 0")
        + " ELSE 0.5e0 * (1 + _trino_erf((v - m) / (sd * sqrt(2e0)))) END",
    ),  # fmt: skip
    (
        "_trino_erf",
        "x",
        "CASE WHEN isnan(x) THEN x WHEN abs(x) > 40 THEN CASE WHEN x > 0 THEN 1e0 ELSE -1e0 END"
        " WHEN x < 0 THEN -_trino_gamma_p_half(x * x) ELSE _trino_gamma_p_half(x * x) END",
    ),
    # Gamma.regularizedGammaP(0.5, t, 1e-15, 10000): the series below a + 1, else 1 - Q
    (
        "_trino_gamma_p_half",
        "t",
        "CASE WHEN t = 0 THEN 0e0 WHEN t >= 1.5 THEN 1e0 - _trino_gamma_q_half(t)"
        f" ELSE exp(-t + (0.5e0 * ln(t)) - {_LOG_GAMMA_HALF}) * list_reduce(range(1, 60),"
        " lambda s, n: CASE WHEN abs(s.an / s.sum) > 1e-15"
        " THEN _trino_gamma_series_next(s, s.an * (t / (0.5e0 + n))) ELSE s END,"
        " {'an': 2e0, 'sum': 2e0}).sum END",
    ),
    ("_trino_gamma_series_next", "s, an", "{'an': an, 'sum': s.sum + an}"),
    # Gamma.regularizedGammaQ(0.5, t): ContinuedFraction.evaluate (modified Lentz) of
    # a_n = (2n + 1) - 0.5 + t, b_n = n (0.5 - n)
    (
        "_trino_gamma_q_half",
        "t",
        f"exp(-t + (0.5e0 * ln(t)) - {_LOG_GAMMA_HALF}) * (1e0 / list_reduce(range(1, 150),"
        " lambda s, n: CASE WHEN s.done THEN s ELSE _trino_lentz_step(s, ((2e0 * n) + 1e0)"
        " - 0.5e0 + t, n * (0.5e0 - n)) END,"
        " {'d': 0e0, 'c': 0.5e0 + t, 'h': 0.5e0 + t, 'done': false}).h)",
    ),
    (
        "_trino_lentz_step",
        "s, a, b",
        "_trino_lentz_next(s, 1e0 / (a + b * s.d), a + b / s.c)",
    ),
    (
        "_trino_lentz_next",
        "s, d, c",
        "{'d': d, 'c': c, 'h': s.h * (c * d), 'done': abs(c * d - 1e0) < 1e-15}",
    ),
    # inverse_normal_cdf: mean + sd * sqrt(2) * Erf.erfInv(2p - 1)
    (
        "_trino_inverse_normal_cdf",
        "m, sd, p",
        "CASE WHEN NOT (p > 0 AND p < 1) OR isnan(p) THEN "
        + _fail("p must be 0 > p > 1")
        + " WHEN NOT (sd > 0) OR isnan(sd) THEN "
        + _fail("sd must be > 0")
        + " ELSE m + sd * 1.4142135623730951e0 * _trino_erfinv(2 * p - 1) END",
    ),  # fmt: skip
    ("_trino_erfinv", "x", "_trino_erfinv_of(x, (1e0 - x) * (1e0 + x))"),
    (
        "_trino_erfinv_of",
        "x, y",
        "CASE WHEN y <= 0 THEN CAST('Infinity' AS DOUBLE) * x ELSE _trino_erfinv_w(x, -ln(y)) END",
    ),
    (
        "_trino_erfinv_w",
        "x, w",
        "CASE WHEN w < 6.25 THEN _trino_erfinv_centre(w - 3.125e0)"
        " WHEN w < 16 THEN _trino_erfinv_middle(sqrt(w) - 3.25e0)"
        " WHEN NOT isinf(w) THEN _trino_erfinv_tail(sqrt(w) - 5e0)"
        " ELSE CAST('Infinity' AS DOUBLE) END * x",
    ),
    ("_trino_erfinv_centre", "w", _horner(_ERFINV_CENTRE)),
    ("_trino_erfinv_middle", "w", _horner(_ERFINV_MIDDLE)),
    ("_trino_erfinv_tail", "w", _horner(_ERFINV_TAIL)),
    _wilson(-1),
    _wilson(1),
    (
        "_trino_wilson",
        "p, n, z, bound",
        "(p + (z * z) / (2 * n) + bound * z * sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n)))"
        " / (1 + (z * z) / n)",
    ),
]


def _callees_first(macros: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The macros in an order DuckDB can create them: each after the macros it calls."""
    names = {m[0] for m in macros}
    done: dict[str, tuple[str, str, str]] = {}
    todo = list(macros)
    while todo:
        ready = [
            m
            for m in todo
            if all(c in done or c == m[0] for c in set(re.findall(r"_trino_\w+", m[2])) & names)
        ]
        if not ready:
            raise ValueError(f"macros that call each other: {[m[0] for m in todo]}")
        done.update((m[0], m) for m in ready)
        todo = [m for m in todo if m[0] not in done]
    return list(done.values())


MACROS[:] = _callees_first(MACROS)
