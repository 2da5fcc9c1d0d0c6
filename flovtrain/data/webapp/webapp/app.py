"""A tiny WSGI web app using only the standard library, so an EC2 box needs nothing installed."""

from __future__ import annotations

import html
import json
import os
import string
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

TEMPLATES = Path(__file__).parent / "templates"
VERSION = os.environ.get("WEBAPP_VERSION", "1")


def render_index(context: dict[str, str]) -> str:
    """Fill templates/index.html (the talk's index.jsp) with HTML-escaped values."""
    template = string.Template((TEMPLATES / "index.html").read_text(encoding="utf-8"))
    return template.safe_substitute({k: html.escape(v) for k, v in context.items()})


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """The WSGI entry point: ``/`` is the page, ``/health`` answers the load balancer."""
    path = environ.get("PATH_INFO", "/")
    if path == "/health":
        body = json.dumps({"status": "ok", "version": VERSION}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path in ("/", "/index.html"):
        page = render_index(
            {
                "host": environ.get("HTTP_HOST", "localhost"),
                "served_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            }
        )
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [page.encode("utf-8")]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found\n"]
