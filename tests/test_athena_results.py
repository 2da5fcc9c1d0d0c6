"""The results file and pages: column-wise formatting equals the value-by-value rules, and a
result spilled to disk (kept there as the CSV's own lines) reads back cell for cell."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import random
import string
from typing import Any

import pytest

from flovtrain.sandbox.engines.athena import cells
from flovtrain.sandbox.engines.athena.cells import cell, column_cells, csv_line, parse_csv_lines
from flovtrain.sandbox.engines.athena.results import IN_MEMORY_ROWS, Result
from flovtrain.sandbox.engines.athena.trino_java_format import _java_double

HOSTILE = string.ascii_letters + " ,\"\n\r\t'\\é"


def _doubles(count: int, seed: int) -> list[float | None]:
    rng = random.Random(seed)
    special = [0.0, -0.0, 1e-3, 9.99e-4, 1e7, 9999999.999, 2.5e20, 1e-9, 100.0, -3.0]
    special += [float("nan"), float("inf"), float("-inf"), None]
    out: list[float | None] = [rng.choice(special) for _ in range(count // 10)]
    out += [math.copysign(10 ** rng.uniform(-5, 18), rng.random() - 0.5) for _ in range(count)]
    out += [float(rng.randint(-(10**8), 10**8)) for _ in range(count // 4)]
    out += [rng.randint(-(10**9), 10**9) / 10 ** rng.randint(0, 9) for _ in range(count // 4)]
    rng.shuffle(out)
    return out


def test_a_double_column_reads_as_java_prints_each_value():
    values = _doubles(40_000, seed=7)
    want = [None if v is None else _java_double(v) for v in values]
    assert column_cells("DOUBLE")(tuple(values)) == want
    # and Java's rules themselves, on the values that decide them
    assert [_java_double(v) for v in (1e7, 12345678.9, 1e-3, 9.99e-4, 100.0, 1.5e16)] == [
        "1.0E7",
        "1.23456789E7",
        "0.001",
        "9.99E-4",
        "100.0",
        "1.5E16",
    ]


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("BIGINT", (1, None, -(2**63))),
        ("DECIMAL(10,2)", (None,)),
        ("VARCHAR", ("a", None, "")),
        ("DATE", (dt.date(2025, 1, 2), None)),
        ("TIMESTAMP", (dt.datetime(2025, 1, 2, 3, 4, 5, 321000), None)),
        ("BOOLEAN", (True, False, None)),
        ("INTEGER[]", ([1, None], None)),
        ("DECIMAL(2,1)[]", ([decimal.Decimal("1.0"), decimal.Decimal("1.2")], None)),
        ("DECIMAL(2,1)", (decimal.Decimal("1.0"), None)),
        ("STRUCT(a INTEGER)", ({"a": 1}, None)),
    ],
)
def test_every_column_type_reads_as_cell_does(kind, values):
    assert column_cells(kind)(values) == [cell(v) for v in values]


def test_the_results_lines_read_back_cell_for_cell():
    rng = random.Random(11)
    rows = [
        tuple(
            None if rng.random() < 0.2 else "".join(rng.choices(HOSTILE, k=rng.randint(0, 9)))
            for _ in range(4)
        )
        for _ in range(3000)
    ]
    text = "".join(csv_line(row) for row in rows)
    assert parse_csv_lines(text) == [list(row) for row in rows]


def test_a_spilled_result_writes_the_same_file_and_pages_as_one_in_memory():
    rng = random.Random(3)
    columns = [("s", "VARCHAR"), ("n", "BIGINT")]
    rows = [
        ("".join(rng.choices(HOSTILE, k=5)) if i % 4 else None, str(i))
        for i in range(IN_MEMORY_ROWS + 700)
    ]
    spilled = Result(columns=columns)
    for start in range(0, len(rows), 500):
        spilled.add_rows(rows[start : start + 500])
    assert spilled.spill is not None and spilled.rows == []

    kept = Result(columns=columns)
    kept.rows = list(rows)  # the same rows, held in memory
    assert spilled.csv_bytes() == kept.csv_bytes()
    for start, limit in ((0, 1000), (1, 7), (IN_MEMORY_ROWS, 1000), (len(rows), 5)):
        assert spilled.page(start, limit) == kept.page(start, limit)
    assert list(spilled.iter_rows()) == [list(r) for r in rows]


def test_a_spilled_text_result_keeps_its_tab_lines():
    lines = Result(columns=[("partition", "VARCHAR")], header_row=False)
    names = [(f"symbol=X/date=2025-01-{i:04d}",) for i in range(IN_MEMORY_ROWS + 10)]
    lines.add_rows(names)
    assert lines.spill is not None
    assert lines.csv_bytes().decode().splitlines() == [n for (n,) in names]


def test_rows_of_a_batch_are_formatted_by_column():
    batch = [(1, 0.5, "a"), (None, 1e7, None)]
    formatters = [column_cells(k) for k in ("BIGINT", "DOUBLE", "VARCHAR")]
    assert cells.rows_of_batch(batch, formatters) == [("1", "0.5", "a"), (None, "1.0E7", None)]
    assert cells.rows_of_batch([], formatters) == []


def _arrow_columns(rng: random.Random, count: int) -> dict[str, Any]:
    import pyarrow as pa

    def maybe(value: Any) -> Any:
        return None if rng.random() < 0.15 else value

    return {
        "VARCHAR": pa.array([maybe("".join(rng.choices(HOSTILE, k=4))) for _ in range(count)]),
        "BIGINT": pa.array([maybe(rng.randint(-(2**63), 2**63 - 1)) for _ in range(count)]),
        "INTEGER": pa.array([maybe(rng.randint(-(2**31), 2**31 - 1)) for _ in range(count)]),
        "SMALLINT": pa.array(
            [maybe(rng.randint(-(2**15), 2**15 - 1)) for _ in range(count)], pa.int16()
        ),
        "TINYINT": pa.array([maybe(rng.randint(-128, 127)) for _ in range(count)], pa.int8()),
        "DOUBLE": pa.array(_doubles(count, seed=rng.randint(0, 99))[:count], pa.float64()),
        "BOOLEAN": pa.array([maybe(rng.random() < 0.5) for _ in range(count)]),
        "DATE": pa.array(
            [
                maybe(dt.date(1970, 1, 1) + dt.timedelta(days=rng.randint(-9999, 99999)))
                for _ in range(count)
            ]
        ),
    }


def test_arrow_columns_read_as_the_python_values_do():
    from flovtrain.sandbox.engines.athena.cells import ARROW_TEXT_TYPES, arrow_texts

    columns = _arrow_columns(random.Random(21), 20_000)
    assert set(columns) == set(ARROW_TEXT_TYPES)
    for kind, column in columns.items():
        want = column_cells(kind)(tuple(column.to_pylist()))
        assert arrow_texts(column, kind).to_pylist() == want, kind
        part = column.slice(777, 1000)  # an array that starts inside its buffers
        assert arrow_texts(part, kind).to_pylist() == want[777:1777], kind


def test_a_result_written_from_arrow_equals_one_written_row_by_row():
    from flovtrain.sandbox.engines.athena.cells import arrow_texts

    columns = _arrow_columns(random.Random(5), IN_MEMORY_ROWS + 3000)
    kinds = list(columns)
    texts = [arrow_texts(columns[k], k) for k in kinds]
    by_arrow = Result(columns=[(k, k) for k in kinds])
    by_rows = Result(columns=[(k, k) for k in kinds])
    for start in range(0, IN_MEMORY_ROWS + 3000, 1500):  # the first batch stays in memory
        by_arrow.add_texts([t.slice(start, 1500) for t in texts])
        rows = list(zip(*(t.slice(start, 1500).to_pylist() for t in texts), strict=True))
        by_rows.add_rows(rows)
    assert by_arrow.spill is not None and by_arrow.row_count == IN_MEMORY_ROWS + 3000
    assert by_arrow.csv_bytes() == by_rows.csv_bytes()
    for start, limit in ((0, 1000), (1499, 3), (IN_MEMORY_ROWS + 2990, 50)):
        assert by_arrow.page(start, limit) == by_rows.page(start, limit)
