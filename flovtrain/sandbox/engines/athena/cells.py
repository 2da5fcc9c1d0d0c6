"""Values as Athena prints them: one at a time (:func:`cell`), a column at a time from Python
values (:func:`column_cells`) or from Arrow arrays (:func:`arrow_texts`, vectorized), and the
lines of the results CSV (:func:`csv_line`, :func:`csv_lines`, :func:`parse_csv_lines`)."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from typing import Any


def interval_text(value: dt.timedelta) -> str:
    """An ``interval day to second`` as Trino prints it.

    Examples
    --------
    >>> interval_text(dt.timedelta(days=2, hours=3))
    '2 03:00:00.000'
    >>> interval_text(-dt.timedelta(seconds=1.5))
    '-0 00:00:01.500'
    """
    sign = "-" if value < dt.timedelta(0) else ""
    millis = abs(value) // dt.timedelta(milliseconds=1)
    seconds, ms = divmod(millis, 1000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    return f"{sign}{days} {hour:02d}:{minute:02d}:{sec:02d}.{ms:03d}"


def cell(value: Any) -> str | None:
    """Format one value as Athena's VarCharValue (None stays NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):  # Java's Double.toString, as Athena prints a double
        from flovtrain.sandbox.engines.athena.trino_java_format import _java_double

        return _java_double(value)
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
        return text + (" UTC" if value.tzinfo is not None else "")
    if isinstance(value, dt.timedelta):
        return interval_text(value)
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, (dt.date, decimal.Decimal, int)):
        return str(value)
    if isinstance(value, tuple):  # an unnamed struct: Athena names the fields field0, field1...
        return "{" + ", ".join(f"field{i}={_nested(v)}" for i, v in enumerate(value)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    if isinstance(value, dict):
        from flovtrain.sandbox.engines.athena.trino_zones import marker_text

        if (text := marker_text(value)) is not None:
            return text
        return "{" + ", ".join(f"{_field_name(k)}={_nested(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes):
        return value.hex(" ")
    return str(value)


def _field_name(key: Any) -> str:
    """A row field's name as Athena prints it: an anonymous field (sqlglot names the fields of
    ``ROW(a, b)`` ``_0``, ``_1``) is ``field0``, ``field1``."""
    text = _nested(key)
    return "field" + text[1:] if text[:1] == "_" and text[1:].isdigit() else text


def _nested(value: Any) -> str:
    """A value inside an array, map or row: NULL prints as ``null``."""
    return "null" if value is None else str(cell(value))


#: DuckDB types whose columns :func:`arrow_texts` formats from Arrow arrays, vectorized (the
#: cast to string writes what :func:`cell` writes; FLOAT is not here: Arrow prints a float32's
#: own shortest digits where Athena prints the double it widens to).
ARROW_TEXT_TYPES = frozenset(
    {"VARCHAR", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "DOUBLE", "BOOLEAN", "DATE"}
)


def arrow_texts(array: Any, duck_type: str) -> Any:
    """A column of one of :data:`ARROW_TEXT_TYPES` as an Arrow string array of Athena's text
    (NULL stays null).

    Examples
    --------
    >>> import pyarrow as pa
    >>> arrow_texts(pa.array([1.0, None, 2e7]), "DOUBLE").to_pylist()
    ['1.0', None, '2.0E7']
    >>> arrow_texts(pa.array([True, None]), "BOOLEAN").to_pylist()
    ['true', None]
    """
    import pyarrow as pa

    if duck_type.upper() == "DOUBLE":
        return _double_texts(array)
    return array.cast(pa.string())


def _double_texts(numbers: Any) -> Any:
    """Java's ``Double.toString`` of a float64 array, vectorized where it can be.

    Arrow's cast to string writes the same shortest digits as Java: for 0 and magnitudes in
    [1e-3, 1e7) the same text, less the ``.0`` of a whole number (added here); outside that
    range Arrow's plain ``12345678.9`` or exponent ``4.63e+12`` become Java's ``1.23456789E7``
    and ``4.63E12`` with string kernels; the rest (NaN, infinities, a plain ``0.0001``; found
    with numpy) go through :func:`_java_double` one by one."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from flovtrain.sandbox.engines.athena.trino_java_format import _java_double

    text = numbers.cast(pa.string())
    whole_number = pc.invert(pc.match_substring(text, "."))
    java = pc.if_else(whole_number, pc.binary_join_element_wise(text, "", ".0"), text)
    size = np.abs(numbers.to_numpy(zero_copy_only=False))  # NULL is NaN here
    valid = numbers.is_valid().to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        plain = (size == 0) | ((size >= 1e-3) & (size < 1e7))
        outside = np.isfinite(size) & ((size >= 1e7) | (size < 1e-3))
    candidates = np.flatnonzero(valid & ~plain & outside)
    if candidates.size:  # only those rows through the regular expressions
        some = text.take(pa.array(candidates))
        scientific = pc.coalesce(_from_exponent(some), _from_plain(some))
        converted = scientific.is_valid().to_numpy(zero_copy_only=False)
        mask = np.zeros(len(numbers), dtype=bool)
        mask[candidates[converted]] = True
        java = pc.replace_with_mask(java, pa.array(mask), scientific.filter(pa.array(converted)))
        plain |= mask
    odd = np.flatnonzero(~plain & valid)
    if odd.size:
        fixed = [_java_double(v) for v in numbers.take(pa.array(odd)).to_pylist()]
        mask = np.zeros(len(numbers), dtype=bool)
        mask[odd] = True
        java = pc.replace_with_mask(java, pa.array(mask), pa.array(fixed, pa.string()))
    return java


def _from_plain(text: Any) -> Any:
    """Java's text of Arrow's plain ``-12345678.9`` (a magnitude from 1e7): ``-1.23456789E7``;
    null where the text is not plain."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pattern = r"^(?P<sign>-?)(?P<whole>[1-9]\d*)\.?(?P<fraction>\d*)$"
    sign, whole, fraction = pc.extract_regex(text, pattern).flatten()
    digits = pc.utf8_rtrim(pc.binary_join_element_wise(whole, fraction, ""), "0")
    rest = pc.utf8_slice_codeunits(digits, 1)
    rest = pc.if_else(pc.equal(pc.utf8_length(rest), 0), "0", rest)
    exponent = pc.cast(pc.subtract(pc.utf8_length(whole), 1), pa.string())
    first = pc.utf8_slice_codeunits(digits, 0, 1)
    return pc.binary_join_element_wise(sign, first, ".", rest, "E", exponent, "")


def _from_exponent(text: Any) -> Any:
    """Java's text of Arrow's ``4.63e+12`` / ``1.5e-07``: ``4.63E12`` / ``1.5E-7`` (the same
    shortest digits); null where the text has no exponent."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pattern = r"^(?P<sign>-?)(?P<first>\d)\.?(?P<rest>\d*)e(?P<esign>[+-])(?P<power>\d+)$"
    sign, first, rest, esign, power = pc.extract_regex(text, pattern).flatten()
    rest = pc.if_else(pc.equal(pc.utf8_length(rest), 0), "0", rest)
    power = pc.cast(pc.cast(power, pa.int64()), pa.string())  # no leading zeros
    negative = pc.if_else(pc.equal(esign, "-"), "-", "")
    return pc.binary_join_element_wise(sign, first, ".", rest, "E", negative, power, "")


_INTEGERS = {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"}


def column_cells(duck_type: str) -> Any:
    """A function formatting a whole column of one DuckDB type as :func:`cell` would.

    A query's values are formatted a column at a time: one type decision per column instead
    of one per value (a 7,000-row daily OHLC has 49,000 values).

    Examples
    --------
    >>> column_cells("BIGINT")((1, None, 3))
    ['1', None, '3']
    >>> column_cells("DOUBLE")((0.5, 12345678.0))
    ['0.5', '1.2345678E7']
    """
    kind = duck_type.upper()
    if kind == "VARCHAR":
        return list
    if kind in _INTEGERS or kind == "DATE" or re.fullmatch(r"DECIMAL\(\d+, ?\d+\)", kind):
        return lambda values: [None if v is None else str(v) for v in values]
    if kind in ("DOUBLE", "FLOAT"):
        return _doubles
    return lambda values: [cell(v) for v in values]


def _doubles(values: Any) -> list[str | None]:
    import pyarrow as pa

    return _double_texts(pa.array(values, type=pa.float64())).to_pylist()


def rows_of_batch(batch: list[tuple[Any, ...]], formatters: list[Any]) -> list[tuple[Any, ...]]:
    """Format a batch of fetched rows column by column (see :func:`column_cells`)."""
    if not batch:
        return []
    by_column = zip(*batch, strict=True)
    columns = [fmt(values) for fmt, values in zip(formatters, by_column, strict=True)]
    return list(zip(*columns, strict=True))


# One field of a results-CSV line as :func:`csv_line` writes it: a quoted value, or nothing
# (NULL), then the separator.
_FIELD = re.compile(r'(?:"((?:[^"]|"")*)"|)(,|\n)', re.S)


def csv_line(row: Any) -> str:
    r'''One row of Athena's results CSV: every value quoted, NULL an empty unquoted field.

    Examples
    --------
    >>> csv_line(('a', None, 'say "hi"'))
    '"a",,"say ""hi"""\n'
    '''
    return ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in row) + "\n"


def parse_csv_lines(text: str) -> list[list[str | None]]:
    r"""Rows written by :func:`csv_line` back as cells (quoted newlines included).

    Examples
    --------
    >>> parse_csv_lines('"a",,"x""y"\n"b\nc",""\n')
    [['a', None, 'x"y'], ['b\nc', '']]
    """
    rows: list[list[str | None]] = []
    row: list[str | None] = []
    for match in _FIELD.finditer(text):
        value, separator = match.groups()
        row.append(None if value is None else value.replace('""', '"'))
        if separator == "\n":
            rows.append(row)
            row = []
    return rows


def csv_lines(texts: list[Any]) -> Any:
    r"""The results-CSV lines of Arrow string columns (as :func:`csv_line` writes each row),
    one Arrow string per row.

    Examples
    --------
    >>> import pyarrow as pa
    >>> csv_lines([pa.array(["a", None]), pa.array(['x"y', ""])]).to_pylist()
    ['"a","x""y"\n', ',""\n']
    """
    import pyarrow.compute as pc

    quoted = [
        pc.fill_null(
            pc.binary_join_element_wise('"', pc.replace_substring(t, '"', '""'), '"', ""), ""
        )
        for t in texts
    ]
    return pc.binary_join_element_wise(pc.binary_join_element_wise(*quoted, ","), "\n", "")
