"""Credential files like the console's downloads, passwords that satisfy a policy, masking.

Secrets are written once, to files only their owner can read (created with mode 0600), in a
git-ignored ``credentials/`` folder at the project root; an existing file is never overwritten
unless you say so, because a lost secret access key cannot be recovered.

Examples
--------
>>> import boto3
>>> from flovtrain import credentials
>>> key = boto3.client("iam").create_access_key(UserName="imre")["AccessKey"]
>>> path = credentials.save_access_key_csv("imre", key)
>>> path.name
'imre_accessKeys.csv'
>>> credentials.mask(key["SecretAccessKey"])         # doctest: +SKIP
'GQAR…(40 chars)'
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import string
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flovtrain import config
from flovtrain.exceptions import CredentialFileExists

FOLDER_NAME = "credentials"
ACCESS_KEY_HEADER = ("Access key ID", "Secret access key")
PASSWORD_HEADER = ("User name", "Password", "Console sign-in URL")
#: The non-alphanumeric characters IAM password policies count as symbols.
SYMBOLS = "!@#$%^&*()_+-=[]{}|'"
#: AWS's default when an account has no password policy: 8+ characters, 3 of 4 classes.
DEFAULT_MIN_LENGTH = 8


def project_root(start: Path | None = None) -> Path | None:
    """Return the nearest folder at or above ``start`` (default cwd) holding pyproject.toml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


def credentials_folder(folder: str | os.PathLike[str] | None = None) -> Path:
    """Return (creating it, mode 0700) where credential files go.

    Default: ``credentials/`` at the project root (git-ignored). When ``FLOVTRAIN_HOME`` names a
    home of its own (sandboxes side by side, one per attendee, the test session), that home's
    ``credentials/``: each sandbox's keys stay with it instead of the last writer winning. Outside
    a project, ``$FLOVTRAIN_HOME/credentials`` too.
    """
    if folder is None:
        root = None if config.has_own_home() else project_root()
        path = (root / FOLDER_NAME) if root else config.home() / FOLDER_NAME
    else:
        path = Path(folder)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def mask(secret: str | None, keep: int = 4) -> str:
    """Return the first ``keep`` characters of ``secret``, an ellipsis and its length.

    Examples
    --------
    >>> mask("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    'wJal…(40 chars)'
    """
    if not secret:
        return "(empty)"
    return f"{secret[:keep]}…({len(secret)} chars)"


def _csv_text(header: tuple[str, ...], row: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerow(row)
    return buffer.getvalue()


def write_secret_file(path: str | os.PathLike[str], text: str, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` with mode 0600 from the first byte; return the path.

    The file is created with ``os.open(..., 0o600)``, never chmod-ed afterwards, so it is
    never readable by others, not even for a moment. With ``overwrite`` the new file is
    written next to the old one and moved over it, so a failed write loses nothing.

    Raises
    ------
    CredentialFileExists
        ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise CredentialFileExists(
            f"{path} exists already and holds a secret that cannot be downloaded again. Keep "
            "it, save the new one under another folder (folder=...), or pass overwrite=True "
            "if you are sure the old secret is no longer needed."
        )
    data = text.encode("utf-8")
    if not overwrite:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path
    # mkstemp creates with 0600 too
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_access_key_csv(
    user: str,
    access_key: Mapping[str, Any],
    folder: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Save an access key the way the console's "Download .csv file" does.

    Parameters
    ----------
    user : str
        The IAM user; the file is ``<user>_accessKeys.csv``.
    access_key : dict
        ``create_access_key(...)["AccessKey"]`` (or the whole response).
    folder : path, optional
        Default: ``credentials/`` at the project root (git-ignored).
    overwrite : bool
        Replace an existing file (its secret is then lost for good).

    Returns
    -------
    pathlib.Path
        The file: ``Access key ID,Secret access key`` and one row; mode 0600.

    Raises
    ------
    CredentialFileExists
        The file exists and ``overwrite`` is False.
    ValueError
        ``access_key`` has no secret (``list_access_keys`` never returns one) or belongs to
        another user.

    Examples
    --------
    >>> save_access_key_csv("imre", key).name
    'imre_accessKeys.csv'
    """
    key = access_key.get("AccessKey", access_key)
    if not key.get("AccessKeyId") or not key.get("SecretAccessKey"):
        raise ValueError(
            "save_access_key_csv needs the dict create_access_key returned (with "
            "'AccessKeyId' and 'SecretAccessKey'): the secret exists only in that response, "
            "list_access_keys never returns it."
        )
    if key.get("UserName") not in (None, user):
        raise ValueError(f"This access key belongs to {key['UserName']!r}, not {user!r}.")
    text = _csv_text(ACCESS_KEY_HEADER, (key["AccessKeyId"], key["SecretAccessKey"]))
    return write_secret_file(credentials_folder(folder) / f"{user}_accessKeys.csv", text, overwrite)


def save_console_password_csv(
    user: str,
    password: str,
    signin_url: str,
    folder: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Save a console password the way the console's "Download .csv file" does.

    Parameters
    ----------
    user : str
        The IAM user; the file is ``<user>_credentials.csv``.
    password : str
        The console password.
    signin_url : str
        The account's sign-in URL (:func:`flovtrain.views.account.signin_url`).
    folder : path, optional
        Default: ``credentials/`` at the project root (git-ignored).
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The file: ``User name,Password,Console sign-in URL`` and one row; mode 0600.

    Raises
    ------
    CredentialFileExists
        The file exists and ``overwrite`` is False.

    Examples
    --------
    >>> save_console_password_csv("imre", pw, "https://flovtrain.signin.aws.amazon.com/console")
    PosixPath('.../credentials/imre_credentials.csv')
    """
    if not password:
        raise ValueError("save_console_password_csv needs the password (it is empty).")
    text = _csv_text(PASSWORD_HEADER, (user, password, signin_url))
    return write_secret_file(
        credentials_folder(folder) / f"{user}_credentials.csv", text, overwrite
    )


def _policy(policy: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if policy is None:
        return {}
    return policy.get("PasswordPolicy", policy)


def check_password(password: str, policy: Mapping[str, Any] | None = None) -> list[str]:
    """Return the rules of ``policy`` that ``password`` breaks (empty list: it complies).

    ``policy`` is ``get_account_password_policy()`` (or its ``PasswordPolicy``); None means
    AWS's default (at least 8 characters and 3 of: uppercase, lowercase, digit, symbol).
    The sandbox stores a password policy but does not enforce it: this does.

    Examples
    --------
    >>> check_password("short", {"MinimumPasswordLength": 14})
    ['at least 14 characters (it has 5)']
    """
    rules = _policy(policy)
    problems = []
    minimum = int(rules.get("MinimumPasswordLength", DEFAULT_MIN_LENGTH))
    if len(password) < minimum:
        problems.append(f"at least {minimum} characters (it has {len(password)})")
    classes = {
        "RequireUppercaseCharacters": ("an uppercase letter", set(string.ascii_uppercase)),
        "RequireLowercaseCharacters": ("a lowercase letter", set(string.ascii_lowercase)),
        "RequireNumbers": ("a number", set(string.digits)),
        "RequireSymbols": ("a symbol", set(SYMBOLS)),
    }
    present = {k: bool(set(password) & chars) for k, (_, chars) in classes.items()}
    if rules:
        problems += [
            f"at least one {what.split(' ', 1)[1]}"
            for k, (what, _) in classes.items()
            if rules.get(k) and not present[k]
        ]
    elif sum(present.values()) < 3:
        problems.append("3 of: uppercase, lowercase, number, symbol (AWS default policy)")
    return problems


def generate_password(policy: Mapping[str, Any] | None = None, length: int = 20) -> str:
    """Return a random password that satisfies ``policy`` (and AWS's default).

    It always holds an uppercase and a lowercase letter, a digit and a symbol, and is at
    least as long as the policy's minimum.

    Parameters
    ----------
    policy : dict, optional
        ``get_account_password_policy()`` or its ``PasswordPolicy``.
    length : int
        Wanted length (raised to the policy's minimum when shorter). At most 128.

    Examples
    --------
    >>> pw = generate_password({"MinimumPasswordLength": 14, "RequireSymbols": True})
    >>> check_password(pw, {"MinimumPasswordLength": 14, "RequireSymbols": True})
    []
    """
    minimum = int(_policy(policy).get("MinimumPasswordLength", DEFAULT_MIN_LENGTH))
    length = max(length, minimum, 4)
    if length > 128:
        raise ValueError(f"IAM passwords are at most 128 characters, not {length}.")
    pools = [string.ascii_uppercase, string.ascii_lowercase, string.digits, SYMBOLS]
    chars = [secrets.choice(pool) for pool in pools]
    everything = "".join(pools)
    chars += [secrets.choice(everything) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)
