"""Stored notebook outputs rely on ids that depend only on what was created, in order."""

import boto3

from flovtrain.sandbox import control


def _ids(extra_reads: int) -> list[str]:
    control.reset()
    iam = boto3.client("iam")
    ids = [iam.create_user(UserName="imre")["User"]["UserId"]]
    for _ in range(extra_reads):  # a widget refresh, a polling loop, a retried describe
        iam.list_users()
    ids.append(iam.create_user(UserName="john")["User"]["UserId"])
    key = iam.create_access_key(UserName="john")["AccessKey"]
    return [*ids, key["AccessKeyId"]]


def test_reads_between_creates_do_not_shift_ids():
    assert _ids(extra_reads=0) == _ids(extra_reads=5)


def test_same_calls_after_reset_give_same_ids():
    assert _ids(extra_reads=1) == _ids(extra_reads=1)
