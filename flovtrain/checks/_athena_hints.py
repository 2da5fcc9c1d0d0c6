"""What to do about a Glue or Athena error: one hint per API error code and per query error.

Two kinds of errors reach chapter 08's check:

- an **API error** of a Glue or Athena call (``ClientError``), by its error code: every code
  the API models list for the calls the check makes has a hint (a test holds this true);
- a **FAILED or CANCELLED query** among the attendee's own, by the error name that starts
  Athena's ``StateChangeReason`` (``TABLE_NOT_FOUND: line 1:15: ...``) or by its wording.

Examples
--------
>>> api_hint("EntityNotFoundException")[:40]
'the database or table does not exist in '
>>> query_hint("COLUMN_NOT_FOUND: line 1:8: Column 'price' cannot be resolved")[:36]
'the column is not in the table: DESC'
"""

from __future__ import annotations

import re

#: The Glue and Athena calls chapter 08's check makes (their modelled errors all have hints).
CHECKED_CALLS = {
    "glue": ("GetDatabase", "GetTable", "GetPartitions"),
    "athena": ("GetWorkGroup", "ListQueryExecutions", "BatchGetQueryExecution", "GetQueryResults"),
}

_RETRY = "a temporary AWS-side problem: run the check again in a minute"

API_HINTS = {
    "AccessDeniedException": "your user may not call this: its policy needs glue:Get* and "
    "athena:Get*/List*/BatchGet* (chapter 02's system-admins group has them)",
    "EntityNotFoundException": "the database or table does not exist in the Glue catalog of "
    "this region: run the chapter's CREATE DATABASE / CREATE EXTERNAL TABLE cells",
    "InvalidInputException": "a name Glue cannot accept: database and table names are lowercase "
    "letters, digits and underscores",
    "InvalidRequestException": "Athena refused the request: a missing workgroup, an id that is "
    "not a query execution's, or a query that has not finished (its message says which)",
    "ResourceNotFoundException": "the workgroup or query execution does not exist in this region",
    "InvalidStateException": "the table is being changed: wait for the running DDL to finish",
    "ResourceNotReadyException": "the table is not ready yet: wait for the running DDL to finish",
    "GlueEncryptionException": "Glue cannot use the catalog's KMS key: allow kms:Decrypt on it",
    "FederationSourceException": "a federated catalog's source failed: use the AwsDataCatalog",
    "FederationSourceRetryableException": _RETRY,
    "InternalServiceException": _RETRY,
    "InternalServerException": _RETRY,
    "OperationTimeoutException": _RETRY,
    "TooManyRequestsException": "too many calls at once: wait a few seconds and run it again",
    "ThrottlingException": "too many calls at once: wait a few seconds and run it again",
}

#: Athena's error names (the start of a StateChangeReason), most specific first.
QUERY_HINTS = {
    "TABLE_NOT_FOUND": "the table is not in the query's database: pass database='marketdata' "
    "(or write marketdata.klines) and check SHOW TABLES",
    "SCHEMA_NOT_FOUND": "the database does not exist: run CREATE DATABASE marketdata first",
    "COLUMN_NOT_FOUND": "the column is not in the table: DESCRIBE klines lists them; quote "
    'reserved words such as "date"',
    "FUNCTION_NOT_FOUND": "Athena (Trino) has no such function or not for these types: "
    "see the Trino functions list, e.g. max_by(x, y), date_trunc('day', t)",
    "TYPE_MISMATCH": "operands of different types: CAST one side, e.g. CAST(x AS double)",
    "INVALID_CAST_ARGUMENT": "a value cannot be cast: try_cast(x AS double) gives NULL instead",
    "DIVISION_BY_ZERO": "a division by zero: NULLIF(divisor, 0) makes it NULL",
    "INVALID_FUNCTION_ARGUMENT": "a function refused a value (the message says which): e.g. "
    "arrays count from 1, and element_at(m, key) gives NULL where m[key] fails",
    "SYNTAX_ERROR": "SQL Athena cannot parse: look at the line:column it names",
    "HIVE_PARTITION_SCHEMA_MISMATCH": "a partition's columns differ from the table's: drop and "
    "re-add the partition (or recreate the table and run MSCK REPAIR TABLE)",
    "HIVE_BAD_DATA": "a file's values do not match the column types: check the CSV header "
    "line (skip.header.line.count) and the types",
    "HIVE_CURSOR_ERROR": "a file could not be read: check it in S3 (empty, compressed, other "
    "format)",
    "HIVE_PATH_ALREADY_EXISTS": "CTAS writes into an empty location only: delete the objects "
    "under external_location or pick a new one",
    "HIVE_COLUMN_ORDER_MISMATCH": "partition columns must come last in a CTAS SELECT list",
    "HIVE_UNSUPPORTED_FORMAT": "the table's format or a column type is not supported: use CSV "
    "(OpenCSVSerde), JSON or Parquet and Athena's types",
    "HIVE_METASTORE_ERROR": "the table's definition in Glue is broken: recreate it with DDL",
    "HIVE_INVALID_METADATA": "a column type in the DDL cannot be parsed: write Hive types, e.g. "
    "STRUCT<name:STRING, size:INT>, ARRAY<STRING>, MAP<STRING,INT>",
    "TABLE_ALREADY_EXISTS": "the table exists: CREATE TABLE IF NOT EXISTS, or DROP TABLE first",
    "INVALID_TABLE_PROPERTY": "a WITH (...) property Athena does not know or a wrong value: "
    "format = 'PARQUET', external_location = 's3://…/'",
    "INVALID_PARAMETER_USAGE": "a function called with a wrong argument: see its signature",
    "NOT_SUPPORTED": "Athena does not support this statement or feature",
    "GENERIC_USER_ERROR": "read the message: it names what is wrong in the query",
    "EXCEEDED_TIME_LIMIT": "the query ran out of time: filter on the partitions (symbol, date)",
    "INTERNAL_ERROR_QUERY_ENGINE": _RETRY,
    "NOT_FOUND": "a file or object the query needs is gone: run MSCK REPAIR TABLE klines again",
}

#: Reasons without an error name, recognised by their wording.
WORDED_HINTS = (
    (
        "Bytes scanned limit",
        "the workgroup's BytesScannedCutoffPerQuery stopped it: filter on the partition "
        "columns or query the Parquet table to scan less",
    ),
    ("mismatched input", QUERY_HINTS["SYNTAX_ERROR"]),
    (
        "SemanticException",
        "Athena's DDL (Hive) refused the statement: check the names it mentions",
    ),
    ("AlreadyExistsException", "it exists already: use IF NOT EXISTS"),
    (
        "Access Denied",
        "Athena could not read or write S3: check the bucket name and your S3 permissions",
    ),
    ("Query exhausted resources", "scan less: filter on the partitions, use the Parquet table"),
)

_NAME = re.compile(r"^([A-Z][A-Z0-9_]+):")

UNKNOWN_QUERY_HINT = "read Athena's reason above; athena.query raises it as AthenaQueryFailed"


def api_hint(code: str) -> str:
    """Return what to do about the Glue/Athena API error ``code``.

    Examples
    --------
    >>> api_hint("ThrottlingException")
    'too many calls at once: wait a few seconds and run it again'
    """
    return API_HINTS.get(code, f"AWS answered {code}: its message says what is wrong")


def query_hint(reason: str) -> str:
    """Return what to do about a query that ended with Athena's ``StateChangeReason``.

    Examples
    --------
    >>> query_hint("Bytes scanned limit was exceeded")[:44]
    "the workgroup's BytesScannedCutoffPerQuery s"
    """
    text = reason.removeprefix("FAILED: ").strip()
    name = _NAME.match(text)
    if name and name.group(1) in QUERY_HINTS:
        return QUERY_HINTS[name.group(1)]
    return next((hint for words, hint in WORDED_HINTS if words in reason), UNKNOWN_QUERY_HINT)
