"""A table's files handed to DuckDB as a stream of Arrow batches, parsed ahead on a pool.

Trino streams splits and stops reading once a ``LIMIT`` is satisfied; a
:class:`pyarrow.RecordBatchReader` does the same for DuckDB: its batches are parsed when
DuckDB asks for them (a few tasks ahead, on a bounded thread pool), so ``SELECT * ... LIMIT 10``
opens the first files only (the others never count as scanned) and a full scan never holds
more than the tasks in flight. A reader can be scanned once: :mod:`.executor` streams a table
only when the statement scans it once (see ``executor._streamable``).

Examples
--------
>>> import pyarrow as pa
>>> schema = pa.schema([("n", pa.int64())])
>>> failures = []
>>> batches = reader(schema, [1, 2], lambda n: pa.table({"n": [n]}), 2, failures)
>>> batches.read_all().column("n").to_pylist()
[1, 2]
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from typing import Any

#: a file group in flight per thread, and one more being consumed
AHEAD_PER_THREAD = 2


def reader(
    schema: Any,
    tasks: list[Any],
    parse: Callable[[Any], Any],
    threads: int,
    failures: list[BaseException],
) -> Any:
    """A one-shot reader yielding ``parse(task)``'s batches, task after task, in order.

    Parameters
    ----------
    schema : pyarrow.Schema
        What every parsed table conforms to (cast when it differs).
    tasks : list
        The units of work (groups of files), in the order their rows are yielded.
    parse : callable
        Reads one task into a :class:`pyarrow.Table`; it meters the files it opens, so a task
        never started counts nothing.
    threads : int
        Pool size; 1 parses in the consuming thread. At most ``2 * threads`` tasks are in
        flight, starting with one and doubling as DuckDB consumes (a ``LIMIT`` met by the
        first task starts few others).
    failures : list
        The exception that ended the stream is appended here: DuckDB reports it as text only,
        and the executor raises the original (``QueryError``, ``QueryCancelled``, a CSV parse
        error that triggers the lenient retry).
    """
    import pyarrow as pa

    return pa.RecordBatchReader.from_batches(
        schema, _batches(schema, tasks, parse, threads, failures)
    )


def _batches(
    schema: Any,
    tasks: list[Any],
    parse: Callable[[Any], Any],
    threads: int,
    failures: list[BaseException],
) -> Iterator[Any]:
    from concurrent.futures import Future, ThreadPoolExecutor

    pool = None
    pending: collections.deque[Future] = collections.deque()
    todo = iter(tasks)
    limit = max(1, AHEAD_PER_THREAD * threads)
    window = 1

    def submit() -> None:
        while len(pending) < window:
            task = next(todo, _END)
            if task is _END:
                return
            if pool is None:
                done: Future = Future()
                done.set_result(task)  # parsed when taken: the consuming thread does the work
                pending.append(done)
            else:
                pending.append(pool.submit(parse, task))

    try:
        if threads > 1 and len(tasks) > 1:
            pool = ThreadPoolExecutor(
                max_workers=min(threads, len(tasks)), thread_name_prefix="athena-stream"
            )
        submit()
        while pending:
            got = pending.popleft().result()
            data = parse(got) if pool is None else got
            if data.schema != schema:
                data = data.cast(schema)
            window = min(limit, window * 2)
            batches = data.to_batches()
            if not batches:
                submit()
                continue
            for i, batch in enumerate(batches):
                yield batch
                if i == 0:  # DuckDB wants more: parse ahead while it consumes this task
                    submit()
    except Exception as exc:
        failures.append(exc)
        raise
    finally:
        # DuckDB stopped early (LIMIT, error, interrupt) or the stream ended: no task left
        for future in pending:
            future.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


_END = object()
