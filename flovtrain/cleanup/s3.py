"""Cleanup of S3: the workbook's buckets (named or tagged), emptied before anything is removed.

Buckets are listed once for the account; each row carries the bucket's own region.
"""

from __future__ import annotations

from typing import Any

from flovtrain.cleanup._names import BUCKET_PREFIXES, tags_say_ours
from flovtrain.cleanup._registry import Found, Scan, declare


def _buckets(scan: Scan, region: str) -> Any:
    return scan.client("s3", scan.regions[0]).list_buckets().get("Buckets", [])


def _describe(scan: Scan, region: str, bucket: dict[str, Any]) -> Found:
    s3 = scan.client("s3", scan.regions[0])
    name = bucket["Name"]
    if not (
        name.startswith(BUCKET_PREFIXES)
        or tags_say_ours(s3.get_bucket_tagging, "TagSet", Bucket=name)
    ):
        return None
    where = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
    chapter = (
        "08"
        if name.startswith("flovtec-marketdata-")
        else "07"
        if name.startswith("flovtec-")
        else "09"
        if "firehose" in name
        else "04"
    )
    return {"chapter": chapter, "region": where, "name": name, "id": name}


def empty(scan: Scan, row: dict[str, Any]) -> None:
    """Delete every object version and delete marker of the row's bucket (or every object)."""
    bucket = scan.session.resource("s3", region_name=row["region"]).Bucket(row["id"])
    bucket.object_versions.delete()
    bucket.objects.all().delete()


def _delete(scan: Scan, row: dict[str, Any]) -> None:
    empty(scan, row)  # again: a pipeline may have written since
    scan.client("s3", row["region"]).delete_bucket(Bucket=row["id"])


BUCKET = declare(
    "s3 bucket",
    140,
    _buckets,
    _describe,
    _delete,
    "empty it (every object version), then delete_bucket",
    billable=True,
    prepare=empty,
)
