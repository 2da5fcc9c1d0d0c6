"""The error engines raise where AWS answers with an error code."""

from __future__ import annotations


class EngineError(Exception):
    """An operation an engine refuses or cannot complete, named by AWS's error ``code``.

    The seam renders it as an ``AwsError`` with the same ``code``, ``message`` and HTTP
    ``status`` (400 unless AWS uses another); the pipeline executor fails the action with
    ``code: message``.
    """

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def __str__(self) -> str:  # as AWS errors print: code first
        return f"{self.code}: {self.message}"
