"""Serve the app: ``python3 -m webapp --host 0.0.0.0 --port 8090``."""

from __future__ import annotations

import argparse
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

from webapp.app import application


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep the log to errors
        pass


def main() -> int:
    parser = argparse.ArgumentParser(prog="python3 -m webapp")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    try:
        server = make_server(args.host, args.port, application, handler_class=QuietHandler)
    except OSError as exc:
        print(
            f"webapp: cannot listen on {args.host}:{args.port}: {exc.strerror}. "
            "Is another copy (or another program) using the port?",
            file=sys.stderr,
        )
        return 1
    print(f"webapp listening on http://{args.host}:{args.port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
