"""Chapter 01 · account & regions: sign-in URL, availability zones, where services exist."""

from __future__ import annotations

import re

import boto3

from flovtrain.challenges import Challenge
from flovtrain.challenges._answers import client, names, text

#: The services of section 4 and the region of the question.
SERVICES = ("cloud9", "codecommit", "codepipeline", "athena")
ZURICH = "eu-central-2"


def _signin_url(answer: object, session: boto3.Session) -> str | None:
    aliases = client(session, "iam").list_account_aliases()["AccountAliases"]
    if not aliases:
        return "the account has no alias yet: create it in section 2 first"
    expected = f"https://{aliases[0]}.signin.aws.amazon.com/console"
    given = text(answer).rstrip("/")
    if given == expected:
        return None
    account = client(session, "sts").get_caller_identity()["Account"]
    if account in given:
        return "that URL names the account id; with an alias, users sign in at the alias's URL"
    return "not the alias's sign-in URL: https://<alias>.signin.aws.amazon.com/console"


def _zones(answer: object, session: boto3.Session) -> str | None:
    zones = client(session, "ec2", "eu-west-1").describe_availability_zones()["AvailabilityZones"]
    expected = {
        z["ZoneName"]
        for z in zones
        if z.get("ZoneType", "availability-zone") == "availability-zone"
    }
    given = names(answer)
    if given == expected:
        return None
    if given and all(re.fullmatch(r"[a-z]+\d-az\d+", g) for g in given):
        return "those are zone IDs (the same in every account); the question asks for zone names"
    if given - expected:
        return f"not availability zones of eu-west-1: {', '.join(sorted(given - expected))}"
    return f"{len(expected - given)} zone(s) of eu-west-1 missing"


def _not_in_zurich(answer: object, session: boto3.Session) -> str | None:
    available = {s: ZURICH in session.get_available_regions(s) for s in SERVICES}
    expected = {s for s, yes in available.items() if not yes}
    given = {g.lower() for g in names(answer)}
    if given == expected:
        return None
    there = sorted(g for g in given if available.get(g))
    if there:
        return f"{', '.join(there)} has an endpoint in {ZURICH} (get_available_regions lists it)"
    unknown = sorted(given - set(SERVICES))
    if unknown:
        return f"not among the four services of section 4: {', '.join(unknown)}"
    return f"a service without an endpoint in {ZURICH} is missing from your answer"


CHALLENGES = [
    Challenge(
        "01.1",
        "The users' sign-in URL with your alias",
        _signin_url,
        "iam.list_account_aliases(); the URL is https://<alias>.signin.aws.amazon.com/console",
    ),
    Challenge(
        "01.2",
        "The availability zones of eu-west-1",
        _zones,
        "boto3.client('ec2', region_name='eu-west-1').describe_availability_zones(): ZoneName",
    ),
    Challenge(
        "01.3",
        "Which of section 4's services have no endpoint in Zurich (eu-central-2)?",
        _not_in_zurich,
        "boto3.session.Session().get_available_regions(service) for each of the four services",
    ),
]
