"""Who am I: account id, alias, the users' sign-in link and the IAM account summary.

Examples
--------
>>> from flovtrain.views import account
>>> account.account_id()
'123456789012'
>>> account.signin_url()
'https://123456789012.signin.aws.amazon.com/console'
"""

from __future__ import annotations

import re

import boto3
import pandas as pd

from flovtrain.exceptions import InvalidAccountAlias
from flovtrain.session import get_session
from flovtrain.views._frames import frame

SUMMARY_COLUMNS = ["name", "value"]
# The IAM API's pattern for aliases: 3-63 of a-z 0-9 -, letter/digit at both ends, no "--".
_ALIAS = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]$")


def account_id(session: boto3.Session | None = None) -> str:
    """Return the 12-digit id of the account the credentials belong to.

    Examples
    --------
    >>> account_id()
    '123456789012'
    """
    return get_session(session).client("sts").get_caller_identity()["Account"]


def account_alias(session: boto3.Session | None = None) -> str | None:
    """Return the account alias, or None when none is set.

    Examples
    --------
    >>> account_alias() is None      # a fresh account has none
    True
    """
    aliases = get_session(session).client("iam").list_account_aliases()["AccountAliases"]
    return aliases[0] if aliases else None


def signin_url(session: boto3.Session | None = None) -> str:
    """Return the IAM users' console sign-in link (alias if set, else the account id).

    Examples
    --------
    >>> signin_url()
    'https://123456789012.signin.aws.amazon.com/console'
    """
    who = account_alias(session) or account_id(session)
    return f"https://{who}.signin.aws.amazon.com/console"


def validate_alias(alias: str) -> str:
    """Return ``alias`` if AWS would accept it as an account alias, else raise.

    Raises
    ------
    InvalidAccountAlias
        With the rule it breaks.

    Examples
    --------
    >>> validate_alias("flovtrain")
    'flovtrain'
    """
    problems = []
    if not isinstance(alias, str):
        raise InvalidAccountAlias(f"An account alias is a string, not {type(alias).__name__}.")
    if not 3 <= len(alias) <= 63:
        problems.append(f"it is {len(alias)} characters long (3 to 63 allowed)")
    if re.search(r"[^a-z0-9-]", alias):
        problems.append("only lowercase letters, digits and hyphens are allowed")
    if alias[:1] == "-" or alias[-1:] == "-":
        problems.append("it must start and end with a letter or a digit")
    if "--" in alias:
        problems.append("two hyphens in a row are not allowed")
    if problems or not _ALIAS.match(alias):
        detail = "; ".join(problems) or "it does not match AWS's alias pattern"
        raise InvalidAccountAlias(
            f"{alias!r} cannot be an account alias: {detail}. Example of a valid one: 'flovtrain'."
        )
    return alias


def set_account_alias(
    alias: str, replace: bool = False, session: boto3.Session | None = None
) -> str:
    """Set the account alias (the name in the users' sign-in link); idempotent.

    Parameters
    ----------
    alias : str
        3-63 lowercase letters, digits and single hyphens; globally unique on real AWS.
    replace : bool
        An account has one alias. If another is set, replace it only when True (the old
        sign-in link stops working).
    session : boto3.Session, optional
        Defaults to the current flovtrain connection.

    Returns
    -------
    str
        The new sign-in URL.

    Raises
    ------
    InvalidAccountAlias
        The alias breaks a naming rule, or another alias is set and ``replace`` is False.

    Examples
    --------
    >>> set_account_alias("flovtrain")
    'https://flovtrain.signin.aws.amazon.com/console'
    """
    validate_alias(alias)
    iam = get_session(session).client("iam")
    current = account_alias(session)
    if current == alias:
        return signin_url(session)
    if current is not None:
        if not replace:
            raise InvalidAccountAlias(
                f"This account's alias is already {current!r}. An account has one alias: call "
                f"set_account_alias({alias!r}, replace=True) to replace it (links with "
                f"{current!r} stop working)."
            )
        iam.delete_account_alias(AccountAlias=current)
    iam.create_account_alias(AccountAlias=alias)
    return signin_url(session)


def account_summary(session: boto3.Session | None = None) -> pd.DataFrame:
    """Return IAM's account summary: counts and quotas, one row per entry.

    Returns
    -------
    pandas.DataFrame
        Columns ``name`` (e.g. ``Users``, ``UsersQuota``, ``AccountMFAEnabled``) and ``value``,
        sorted by name.

    Examples
    --------
    >>> s = account_summary().set_index("name")["value"]
    >>> int(s["AccountMFAEnabled"])
    0
    """
    summary = get_session(session).client("iam").get_account_summary()["SummaryMap"]
    rows = [{"name": k, "value": int(v)} for k, v in summary.items()]
    return frame(rows, SUMMARY_COLUMNS, sort=["name"])
