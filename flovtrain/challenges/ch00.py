"""Chapter 00 · welcome: who you are, where you are, what the account holds."""

from __future__ import annotations

import re

import boto3

from flovtrain.challenges import Challenge
from flovtrain.challenges._answers import client, number, paginate, text


def _account_id(answer: object, session: boto3.Session) -> str | None:
    account = client(session, "sts").get_caller_identity()["Account"]
    given = text(answer)
    if given.startswith("arn:"):
        return "that is an ARN; the account id is the 12 digits inside it"
    if not re.fullmatch(r"\d{12}", given):
        return f"{given!r} is not an account id: an account id has exactly 12 digits"
    if given != account:
        return f"{given} is not the account these credentials belong to"
    return None


def _region(answer: object, session: boto3.Session) -> str | None:
    given = text(answer)
    if given == session.region_name:
        return None
    if re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d[a-z]", given):
        return f"{given} is an availability zone; a region name has no letter at the end"
    if given == "us-east-1":
        return "us-east-1 is where billing lives (chapter 03), not the default of this connection"
    return f"{given!r} is not the region boto3 uses when a call names none"


def _users(answer: object, session: boto3.Session) -> str | None:
    count = number(answer)
    if count is None:
        return f"{answer!r} is not a number: count the users"
    users = len(list(paginate(client(session, "iam"), "list_users", "Users")))
    if count == users:
        return None
    more = "more" if users > count else "fewer"
    return f"the account has {more} IAM users than {count:g}: count every entry of Users"


CHALLENGES = [
    Challenge(
        "00.1",
        "Your account id",
        _account_id,
        "in a ! cell or the terminal: aws sts get-caller-identity --query Account --output text",
    ),
    Challenge(
        "00.2",
        "The region boto3 uses by default",
        _region,
        "boto3.session.Session().region_name, or: aws configure get region",
    ),
    Challenge(
        "00.3",
        "How many IAM users does the account have?",
        _users,
        "aws iam list-users --query 'length(Users)'",
    ),
]
