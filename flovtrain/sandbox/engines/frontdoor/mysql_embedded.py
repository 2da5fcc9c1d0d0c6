"""The embedded MySQL-protocol server: mysql-mimic in front of one SQLite file per DB instance.

Used when no MariaDB is installed (or ``FLOVTRAIN_RDS_SERVER=embedded``). Clients speak the
MySQL protocol (PyMySQL, the ``mysql`` client) and log in with the master user's password
(``mysql_native_password``; anyone else is refused); statements are translated from MySQL's
dialect to SQLite's with sqlglot, so a table of trades can be created, filled and queried.
It is not a MySQL: MySQL-only features (users, grants, stored procedures) are not served.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flovtrain.sandbox.engines.frontdoor import eventloop

#: The file holding the instance's tables, in its folder.
DATA_FILE = "embedded.sqlite3"


def _classes(db: Any) -> tuple[type, type]:
    from mysql_mimic import IdentityProvider, NativePasswordAuthPlugin, Session, User
    from mysql_mimic.errors import ErrorCode, MysqlError
    from sqlglot import exp

    class Identities(IdentityProvider):
        async def get_user(self, username: str) -> User | None:
            if username != db.user:
                return None
            return User(
                name=username,
                auth_string=NativePasswordAuthPlugin.create_auth_string(db.password),
                auth_plugin=NativePasswordAuthPlugin.name,
            )

    class SqliteSession(Session):
        def __init__(self) -> None:
            super().__init__()
            self.sqlite = sqlite3.connect(
                db.folder / DATA_FILE, isolation_level=None, check_same_thread=False
            )

        async def query(self, expression: exp.Expression, sql: str, attrs: dict[str, str]) -> Any:
            if isinstance(expression, exp.Create) and expression.kind in ("DATABASE", "SCHEMA"):
                return [], []  # one SQLite file serves every database name
            try:
                cursor = self.sqlite.execute(expression.sql(dialect="sqlite"))
            except sqlite3.Error as exc:
                raise MysqlError(str(exc), ErrorCode.UNKNOWN_ERROR) from None
            if cursor.description is None:
                return [], []
            return cursor.fetchall(), [d[0] for d in cursor.description]

        async def schema(self) -> dict[str, Any]:
            tables: dict[str, dict[str, str]] = {}
            names = self.sqlite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            for (table,) in names.fetchall():
                columns = self.sqlite.execute(f'PRAGMA table_info("{table}")').fetchall()
                tables[table] = {c[1]: (c[2] or "TEXT") for c in columns}
            return {db.database or "mysql": tables}

        async def close(self) -> None:
            self.sqlite.close()
            await super().close()

    return Identities, SqliteSession


def serve(db: Any) -> Any:
    """Serve ``db`` (a :class:`~.mysql.Database`) on its address and port; return the server.

    Examples
    --------
    >>> from flovtrain.sandbox.engines.frontdoor.mysql import Database
    >>> import tempfile
    >>> from pathlib import Path
    >>> server = serve(Database("doc", "127.0.0.1", 13307, Path(tempfile.mkdtemp()), "u", "p"))
    >>> close(server)
    """
    from mysql_mimic import MysqlServer

    identities, session = _classes(db)
    db.folder.mkdir(parents=True, exist_ok=True)
    server = MysqlServer(session_factory=session, identity_provider=identities())
    eventloop.run(server.start_server(host=db.address, port=db.port, reuse_address=True))
    return server


def close(server: Any) -> None:
    """Stop an embedded server (its SQLite file stays)."""

    async def shutdown() -> None:
        server.close()
        await server.wait_closed()

    eventloop.run(shutdown(), timeout=10.0)
