"""The credential files the chapters saved in ``credentials/`` (not part of the plan)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

LOCAL_COLUMNS = ["file", "kind", "note"]


def _credential_files(folder: str | os.PathLike[str] | None) -> list[Path]:
    from flovtrain.credentials import credentials_folder

    path = Path(folder) if folder is not None else credentials_folder()
    if not path.is_dir():
        return []
    return sorted(
        p
        for p in path.iterdir()
        if p.is_file()
        and (p.suffix == ".pem" or p.name.endswith(("_accessKeys.csv", "_credentials.csv")))
    )


def local_credentials(folder: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """List the credential files the chapters saved (default folder: ``credentials/``).

    Parameters
    ----------
    folder : path, optional
        Default: the workbook's ``credentials/`` folder.

    Returns
    -------
    pandas.DataFrame
        Columns file, kind, note. Contents are never read or shown.

    Examples
    --------
    >>> local_credentials()                     # doctest: +SKIP
    """
    rows = []
    for p in _credential_files(folder):
        if p.suffix == ".pem":
            rows.append(
                {
                    "file": p.name,
                    "kind": "EC2 private key",
                    "note": "its key pair is deleted with the stack: delete the file",
                }
            )
        elif p.name.endswith("_accessKeys.csv"):
            rows.append(
                {
                    "file": p.name,
                    "kind": "access key",
                    "note": "the key is deleted with its user: delete the file",
                }
            )
        else:
            rows.append(
                {
                    "file": p.name,
                    "kind": "console password",
                    "note": "the login profile is deleted with its user: delete the file",
                }
            )
    return pd.DataFrame(rows, columns=LOCAL_COLUMNS)


def remove_local_credentials(
    dry_run: bool = True, folder: str | os.PathLike[str] | None = None
) -> pd.DataFrame:
    """Delete the files :func:`local_credentials` lists (dry run by default).

    Parameters
    ----------
    dry_run : bool
        True (default): only list them. False: delete them.
    folder : path, optional
        As for :func:`local_credentials`.

    Returns
    -------
    pandas.DataFrame
        Columns file, kind, note, result (``would delete`` / ``deleted``).

    Examples
    --------
    >>> remove_local_credentials()              # doctest: +SKIP   (lists only)
    >>> remove_local_credentials(dry_run=False) # doctest: +SKIP
    """
    df = local_credentials(folder)
    files = {p.name: p for p in _credential_files(folder)}
    results = []
    for name in df["file"]:
        if dry_run:
            results.append("would delete")
        else:
            files[name].unlink(missing_ok=True)
            results.append("deleted")
    df["result"] = pd.Series(results, dtype=object)
    return df
