"""A learner's working folders are never deleted: an older clone is moved aside, with a time."""

from __future__ import annotations

import time
from pathlib import Path


def set_aside(folder: Path, now: float | None = None) -> Path | None:
    """Move ``folder`` to ``<name>.old-YYYYmmdd-HHMMSS`` next to it and say so; None if absent.

    Parameters
    ----------
    folder : Path
        E.g. ``~/.flovtrain/environment/flovtrain-webapp``, a clone from an earlier run.
    now : float, optional
        Seconds since the epoch for the suffix (default: the current time).

    Returns
    -------
    Path or None
        Where the folder went (untracked files included), or None when there was none.

    Examples
    --------
    >>> set_aside(Path("environment/flovtrain-webapp"))  # doctest: +SKIP
    your earlier clone is kept as environment/flovtrain-webapp.old-20261205-101500
    PosixPath('environment/flovtrain-webapp.old-20261205-101500')
    """
    folder = Path(folder)
    if not folder.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    target = folder.with_name(f"{folder.name}.old-{stamp}")
    serial = 1
    while target.exists():  # two re-runs within one second
        serial += 1
        target = folder.with_name(f"{folder.name}.old-{stamp}-{serial}")
    folder.rename(target)
    print(f"your earlier clone is kept as {target.parent.name}/{target.name} (nothing deleted)")
    return target
