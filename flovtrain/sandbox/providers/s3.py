"""S3 provider: what the sandbox adds to moto's S3, CloudFormation's ``AWS::S3::BucketPolicy``.

moto's stack engine skips bucket policies; a stack's policy is put on (and removed from) the
bucket through moto's S3 backend here. Everything else about S3 is moto's.
"""

from __future__ import annotations

import json
from typing import Any

from flovtrain.sandbox.providers import cfn_types
from flovtrain.sandbox.seam import Provider


def _stack_bucket_policy(
    name: str, props: dict[str, Any], account: str, region: str
) -> dict[str, Any]:
    from moto.s3.models import s3_backends

    bucket = props["Bucket"]
    policy = props["PolicyDocument"]
    text = policy if isinstance(policy, str) else json.dumps(policy)
    s3_backends[account]["aws"].put_bucket_policy(bucket, text.encode())
    return {"physical": name, "attrs": {}, "bucket": bucket}


def _delete_stack_bucket_policy(
    name: str, account: str, region: str, state: dict[str, Any]
) -> None:
    from moto.s3.models import s3_backends

    try:
        s3_backends[account]["aws"].delete_bucket_policy(state["bucket"])
    except Exception:  # the bucket went first: nothing left to remove
        pass


cfn_types.declare("AWS::S3::BucketPolicy", "", _stack_bucket_policy, _delete_stack_bucket_policy)

PROVIDER = Provider(name="s3")
