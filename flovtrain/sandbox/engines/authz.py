"""Which IAM action and resource an AWS request asks for, and who signed it.

A pure engine (no moto, no server): the sandbox's per-request authorization step reads the
signer's access key id with :func:`access_key_id`, names the request's IAM action with
:func:`iam_action` and its resource with :func:`resource_arn`, then evaluates the caller's
policies with :mod:`~flovtrain.sandbox.engines.policy`. :func:`denial_code` picks the error code a
denial is answered with in the request's wire protocol.

Resources are named for the services the workbook uses (IAM, STS, S3, SNS, SQS, CloudWatch,
CloudWatch Logs, CodeCommit, CodeBuild, CodeDeploy, CodePipeline, CloudFormation, EC2, Athena,
Glue, SSM). Any other operation, and a list or describe operation that names no resource, is
evaluated on resource ``*``: a statement scoped to a resource ARN then does not match it, as on
AWS for actions that support no resource-level permissions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

__all__ = [
    "access_key_id",
    "acts_on_caller",
    "denial_code",
    "iam_action",
    "passed_role",
    "resource_arn",
    "s3_action",
    "service_prefix",
]

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]*/[^/]*/([^/,\s]+)/")

#: Signing names whose IAM service prefix differs.
_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "elbv2": "elasticloadbalancing"}

#: moto's S3 operation names (``ACTION_MAP`` and its handlers) whose IAM action differs.
_S3_ACTIONS = {
    "HeadBucket": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "ListBuckets": "ListAllMyBuckets",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketCors": "GetBucketCORS",
    "PutBucketCors": "PutBucketCORS",
    "DeleteBucketCors": "PutBucketCORS",
    "DeleteObjects": "DeleteObject",
    "HeadObject": "GetObject",
    "CopyObject": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListParts": "ListMultipartUploadParts",
    "GetBucketOwnershipControls": "GetBucketOwnershipControls",
}

#: Operations AWS answers for every signed caller, whatever its policies say.
ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})


def access_key_id(headers: Mapping[str, str], query: Mapping[str, Any]) -> str | None:
    """The access key id a request is signed with: SigV4 header, presigned SigV4 or SigV2.

    Parameters
    ----------
    headers : mapping
        The request headers (``Authorization``).
    query : mapping
        The query string, values as strings or lists (``X-Amz-Credential``, ``AWSAccessKeyId``).

    Returns
    -------
    str or None
        The key id, or ``None`` for an unsigned (anonymous) request.

    Examples
    --------
    >>> access_key_id({"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261206/"
    ...                "eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=0"}, {})
    'AKIAEXAMPLE'
    >>> access_key_id({}, {"X-Amz-Credential": ["ASIAEXAMPLE/20261206/us-east-1/s3/aws4_request"]})
    'ASIAEXAMPLE'
    >>> access_key_id({}, {}) is None
    True
    """
    auth = headers.get("Authorization") or headers.get("authorization") or ""
    found = _CREDENTIAL.search(auth)
    if found:
        return found.group(1)
    if auth.startswith("AWS ") and ":" in auth:  # SigV2: "AWS AKID:signature"
        return auth[4:].split(":", 1)[0].strip() or None
    for name in ("X-Amz-Credential", "AWSAccessKeyId"):
        value = query.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if value:
            return str(value).split("/", 1)[0]
    return None


def service_prefix(signing_name: str) -> str:
    """The IAM service prefix of a signing name (``monitoring`` -> ``cloudwatch``).

    Examples
    --------
    >>> service_prefix("monitoring"), service_prefix("s3")
    ('cloudwatch', 's3')
    """
    return _PREFIX.get(signing_name, signing_name)


def s3_action(operation: str) -> str:
    """The IAM action (without prefix) of an S3 operation as moto names it.

    Examples
    --------
    >>> s3_action("ListObjectsV2"), s3_action("PutObject")
    ('ListBucket', 'PutObject')
    """
    return _S3_ACTIONS.get(operation, operation)


def iam_action(signing_name: str, operation: str) -> str:
    """The IAM action a request needs: service prefix and operation, e.g. ``s3:CreateBucket``.

    Examples
    --------
    >>> iam_action("s3", "HeadBucket")
    's3:ListBucket'
    >>> iam_action("monitoring", "PutMetricAlarm")
    'cloudwatch:PutMetricAlarm'
    """
    prefix = service_prefix(signing_name)
    return f"{prefix}:{s3_action(operation) if prefix == 's3' else operation}"


#: IAM operations on a user that act on the calling user when the request names none.
_ON_CALLER = re.compile(
    r"(AccessKey|SSHPublicKey|SigningCertificate|MFADevice|ServiceSpecificCredential|LoginProfile)"
    r"|^(GetUser|ChangePassword|ListUserPolicies|ListAttachedUserPolicies|ListGroupsForUser)$"
)


def acts_on_caller(operation: str) -> bool:
    """Whether an IAM operation without ``UserName`` acts on the calling user (as on AWS).

    Examples
    --------
    >>> acts_on_caller("CreateAccessKey"), acts_on_caller("ListUsers")
    (True, False)
    """
    return _ON_CALLER.search(operation) is not None and "Virtual" not in operation


def _first(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return "" if value is None else str(value)


def _queue_arn(url: str, account: str, region: str) -> str:
    parts = [p for p in urlparse(url).path.split("/") if p]
    owner, name = (parts[0], parts[1]) if len(parts) >= 2 else (account, parts[-1] if parts else "")
    return f"arn:aws:sqs:{region}:{owner}:{name}"


def _iam_resource(operation: str, p: Mapping[str, Any], account: str) -> str:
    base = f"arn:aws:iam::{account}:"
    for key, kind in (
        ("GroupName", "group"),
        ("RoleName", "role"),
        ("UserName", "user"),
        ("InstanceProfileName", "instance-profile"),
    ):
        if p.get(key) and (kind != "user" or "Group" not in operation):
            path = _first(p.get("Path")) or "/"
            return f"{base}{kind}{path if operation.startswith('Create') else '/'}{_first(p[key])}"
    if p.get("PolicyArn"):
        return _first(p["PolicyArn"])
    if operation == "CreatePolicy" and p.get("PolicyName"):
        return f"{base}policy{_first(p.get('Path')) or '/'}{_first(p['PolicyName'])}"
    return "*"


def _named(template: str, *keys: str) -> Any:
    def build(p: Mapping[str, Any], account: str, region: str) -> str:
        for key in keys:
            value = _first(p.get(key))
            if value:
                if value.startswith("arn:"):
                    return value
                return template.format(a=account, r=region, n=value.lstrip("/"))
        return "*"

    return build


_BY_SERVICE: dict[str, Any] = {
    "sns": _named("arn:aws:sns:{r}:{a}:{n}", "TopicArn", "TargetArn", "Name"),
    "cloudwatch": _named("arn:aws:cloudwatch:{r}:{a}:alarm:{n}", "AlarmName", "AlarmNames"),
    "codecommit": _named("arn:aws:codecommit:{r}:{a}:{n}", "repositoryName"),
    "codebuild": _named("arn:aws:codebuild:{r}:{a}:project/{n}", "projectName", "name", "names"),
    "codepipeline": _named("arn:aws:codepipeline:{r}:{a}:{n}", "pipelineName", "name"),
    "cloudformation": _named("arn:aws:cloudformation:{r}:{a}:stack/{n}/*", "StackName"),
    "athena": _named("arn:aws:athena:{r}:{a}:workgroup/{n}", "WorkGroup", "Name"),
    "ssm": _named("arn:aws:ssm:{r}:{a}:parameter/{n}", "Name", "Names"),
    "ec2": _named("arn:aws:ec2:{r}:{a}:instance/{n}", "InstanceId", "InstanceId.1"),
}


def resource_arn(
    prefix: str, operation: str, params: Mapping[str, Any], account: str, region: str
) -> str:
    """The ARN of the resource a request acts on, or ``*`` where it names none.

    Parameters
    ----------
    prefix : str
        The IAM service prefix (see :func:`service_prefix`).
    operation : str
        The AWS operation name, e.g. ``Publish``.
    params : mapping
        The request's parameters (query values may be lists).
    account, region : str
        The account and region the request is served in.

    Examples
    --------
    >>> resource_arn("sns", "Publish", {"TopicArn": "arn:aws:sns:eu-west-1:1:alerts"}, "1", "x")
    'arn:aws:sns:eu-west-1:1:alerts'
    >>> resource_arn("iam", "AttachRolePolicy", {"RoleName": "ci"}, "123456789012", "us-east-1")
    'arn:aws:iam::123456789012:role/ci'
    >>> resource_arn("sqs", "SendMessage", {"QueueUrl": "http://h/123456789012/jobs"}, "1", "r1")
    'arn:aws:sqs:r1:123456789012:jobs'
    >>> resource_arn("logs", "ListTagsForResource", {}, "1", "eu-west-1")
    '*'
    """
    p = params
    if prefix == "iam":
        return _iam_resource(operation, p, account)
    if prefix == "sts":
        return _first(p.get("RoleArn")) or "*"
    if prefix == "sqs":
        if p.get("QueueUrl"):
            return _queue_arn(_first(p["QueueUrl"]), account, region)
        name = _first(p.get("QueueName"))
        return f"arn:aws:sqs:{region}:{account}:{name}" if name else "*"
    if prefix == "logs":
        group = _first(p.get("logGroupName"))
        if not group:
            return "*"
        stream = _first(p.get("logStreamName"))
        tail = f":log-stream:{stream}" if stream else ""
        return f"arn:aws:logs:{region}:{account}:log-group:{group}{tail}"
    if prefix == "codedeploy":
        app = _first(p.get("applicationName"))
        group = _first(p.get("deploymentGroupName"))
        if app and group:
            return f"arn:aws:codedeploy:{region}:{account}:deploymentgroup:{app}/{group}"
        return f"arn:aws:codedeploy:{region}:{account}:application:{app}" if app else "*"
    if prefix == "glue":
        db, table = _first(p.get("DatabaseName")), _first(p.get("TableName") or p.get("Name"))
        if db and table:
            return f"arn:aws:glue:{region}:{account}:table/{db}/{table}"
        if db or (operation.endswith("Database") and table):
            return f"arn:aws:glue:{region}:{account}:database/{db or table}"
        return f"arn:aws:glue:{region}:{account}:catalog"
    if prefix == "codepipeline" and isinstance(p.get("pipeline"), Mapping):
        return f"arn:aws:codepipeline:{region}:{account}:{p['pipeline'].get('name', '')}"
    build = _BY_SERVICE.get(prefix)
    return build(p, account, region) if build else "*"


#: Operations that hand a role to a service (``iam:PassRole``): the parameter naming the role (or,
#: for EC2, its instance profile) and the service principal it is passed to.
_PASSES: dict[str, tuple[tuple[str, ...], str]] = {
    "codebuild:CreateProject": (("serviceRole",), "codebuild.amazonaws.com"),
    "codebuild:UpdateProject": (("serviceRole",), "codebuild.amazonaws.com"),
    "codepipeline:CreatePipeline": (("pipeline", "roleArn"), "codepipeline.amazonaws.com"),
    "codepipeline:UpdatePipeline": (("pipeline", "roleArn"), "codepipeline.amazonaws.com"),
    "codedeploy:CreateDeploymentGroup": (("serviceRoleArn",), "codedeploy.amazonaws.com"),
    "codedeploy:UpdateDeploymentGroup": (("serviceRoleArn",), "codedeploy.amazonaws.com"),
    "cloudformation:CreateStack": (("RoleARN",), "cloudformation.amazonaws.com"),
    "cloudformation:UpdateStack": (("RoleARN",), "cloudformation.amazonaws.com"),
    "cloudformation:CreateChangeSet": (("RoleARN",), "cloudformation.amazonaws.com"),
    "ec2:RunInstances": (("IamInstanceProfile",), "ec2.amazonaws.com"),
    "ec2:AssociateIamInstanceProfile": (("IamInstanceProfile",), "ec2.amazonaws.com"),
    "ec2:ReplaceIamInstanceProfileAssociation": (("IamInstanceProfile",), "ec2.amazonaws.com"),
}


def passed_role(
    action: str, params: Mapping[str, Any], account: str
) -> tuple[str, str, str] | None:
    """What a request passes to a service: ``(kind, arn, service)`` or ``None``.

    ``kind`` is ``role`` (an ARN, or a role name made into one) or ``instance-profile`` (EC2
    passes the roles of the profile it names; the caller resolves them).

    Examples
    --------
    >>> passed_role("codebuild:CreateProject", {"serviceRole": "ci"}, "123456789012")
    ('role', 'arn:aws:iam::123456789012:role/ci', 'codebuild.amazonaws.com')
    >>> passed_role("ec2:RunInstances", {"IamInstanceProfile.Name": ["web"]}, "1")[:2]
    ('instance-profile', 'arn:aws:iam::1:instance-profile/web')
    >>> passed_role("codebuild:StartBuild", {"projectName": "x"}, "1") is None
    True
    """
    found = _PASSES.get(action)
    if found is None:
        return None
    path, service = found
    if path == ("IamInstanceProfile",):  # EC2's query form: IamInstanceProfile.Arn / .Name
        nested = params.get("IamInstanceProfile")
        nested = nested if isinstance(nested, Mapping) else {}
        arn = _first(params.get("IamInstanceProfile.Arn")) or _first(nested.get("Arn"))
        name = _first(params.get("IamInstanceProfile.Name")) or _first(nested.get("Name"))
        if arn or name:
            return (
                "instance-profile",
                arn or f"arn:aws:iam::{account}:instance-profile/{name}",
                service,
            )
        return None
    value: Any = params
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    role = _first(value)
    if not role:
        return None
    return (
        "role",
        role if role.startswith("arn:") else f"arn:aws:iam::{account}:role/{role}",
        service,
    )


def denial_code(protocol: str, prefix: str, *, query_compatible: bool = False) -> str:
    """AWS's error code for a denial in a wire protocol (EC2 has its own).

    A JSON service that kept its query API's error codes (``awsQueryCompatible``: SQS,
    CloudWatch) still says ``AccessDenied``.

    Examples
    --------
    >>> denial_code("query", "iam"), denial_code("json", "logs"), denial_code("ec2", "ec2")
    ('AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation')
    >>> denial_code("json", "sqs", query_compatible=True)
    'AccessDenied'
    """
    if prefix == "ec2" or protocol == "ec2":
        return "UnauthorizedOperation"
    if protocol in ("json", "rest-json", "smithy-rpc-v2-cbor") and not query_compatible:
        return "AccessDeniedException"
    return "AccessDenied"
