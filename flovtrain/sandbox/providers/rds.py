"""RDS provider: a MySQL or MariaDB DB instance is a MySQL-protocol server a client can reach.

moto keeps the DB instance's description and reports it ``available`` at once, with an
endpoint nothing listens on. Here ``CreateDBInstance`` with engine ``mysql`` or ``mariadb``
starts a server (:mod:`flovtrain.sandbox.engines.frontdoor.mysql`) on the instance's own
loopback address and its port; the status is ``creating`` until the master user can log in,
then ``available`` (``failed`` with the server's log line in an event if it cannot start).
``ModifyDBInstance`` with ``MasterUserPassword`` changes the master user's password in the
server; ``StopDBInstance``/``StartDBInstance`` stop and start the server (``stopping``/``starting``
in between); ``DeleteDBInstance`` stops it and deletes its data, or, when a final snapshot is
requested, moves the data to ``<home>/rds/snapshots/<snapshot id>`` (kept, not restorable).
With ``ManageMasterUserPassword`` the password is a random one kept in the Secrets Manager
secret named in ``MasterUserSecret`` (``{"username": ..., "password": ...}``, as on AWS).

Each DB instance's folder ``<home>/rds/<account>/<region>/<id>`` holds its data and
``instance.json`` (its request and password, mode 0600): a sandbox restart re-creates the DB
instances that existed and restarts the servers of those that were not stopped; a reset
deletes them. The endpoint's DNS name resolves to the address through the sandbox's DNS.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import secrets
import string
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from flovtrain.sandbox.engines.frontdoor import mysql
from flovtrain.sandbox.seam import Provider, after_import

ENGINES = ("mysql", "mariadb")
#: RDS's default MariaDB version when CreateDBInstance names none (the 10.11 LTS line).
MARIADB_DEFAULT_VERSION = "10.11.10"
MANIFEST = "instance.json"

_patched: dict[str, Any] = {}
_servers: dict[tuple[str, str, str], mysql.Database] = {}
_lock = threading.Lock()
_state = {"started": False}  # a reset before start() is start-up's own: it keeps the data
_restoring = threading.local()


def home() -> Path:
    """Return the folder holding every DB instance's data."""
    from flovtrain import config

    return config.home() / "rds"


def _key(database: Any) -> tuple[str, str, str]:
    return (database.account_id, database.region, database.db_instance_identifier)


def _dns(action: str, *args: str) -> None:
    try:  # the sandbox's resolver maps the endpoint name to the address
        from flovtrain.sandbox.engines.frontdoor import dns
    except ImportError:
        return
    getattr(dns, action, lambda *_: None)(*args)


def _event(database: Any, message: str, category: str) -> None:
    from moto.rds.models import Event

    event = Event("DB_INSTANCE_CREATE", database)
    event.message, event.event_categories = message, [category]
    database.backend.events.append(event)


def _random_password() -> str:
    # like Secrets Manager's generator for RDS: letters, digits, punctuation MySQL accepts
    alphabet = string.ascii_letters + string.digits + "!#$%&()*+,-.:;<=>?[]^_{|}~"
    return "".join(secrets.choice(alphabet) for _ in range(28))


def _managed_password(database: Any, password: str) -> None:
    """Make the managed secret hold the master user's name and the password the server has."""
    secret = database.master_user_secret.secret
    value = json.dumps({"username": database.master_username, "password": password})
    database.backend.secretsmanager.put_secret_value(
        secret.arn, value, None, str(uuid.uuid4()), ["AWSCURRENT"]
    )


def _save(db: mysql.Database, kwargs: dict[str, Any], state: str) -> None:
    manifest = {
        "kwargs": json.loads(json.dumps(kwargs, default=str)),
        "password": db.password,
        "address": db.address,
        "flavour": db.flavour,
        "state": state,
    }
    path = db.folder / MANIFEST
    db.folder.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(manifest, indent=1))


def _set_state(db: mysql.Database, state: str | None = None) -> None:
    """Record the instance's state (and current password) for the next sandbox start."""
    path = db.folder / MANIFEST
    with contextlib.suppress(OSError, ValueError):
        manifest = json.loads(path.read_text())
        manifest["password"] = db.password
        manifest["kwargs"]["master_user_password"] = db.password
        if state:
            manifest["state"] = state
        path.write_text(json.dumps(manifest, indent=1))


def _started(database: Any, verb: str) -> Any:
    def done(db: mysql.Database) -> None:
        if db.state == "running":
            database.status = "available"
            if verb:
                _event(database, f"DB instance {verb}", "notification")
            return
        database.status = "failed"
        _event(database, f"DB instance failed to start: {db.error}", "failure")
        print(f"flovtrain sandbox: RDS {db.name}: {db.error}", file=sys.stderr, flush=True)

    return done


def _provision(backend: Any, database: Any, kwargs: dict[str, Any]) -> None:
    account, region, ident = _key(database)
    restored = getattr(_restoring, "manifest", None)
    folder = home() / account / region / ident
    if restored:
        password, preferred, kind = restored["password"], restored["address"], restored["flavour"]
    else:
        password = kwargs.get("master_user_password") or _random_password()
        preferred, kind = None, mysql.flavour()
    if database.manage_master_user_password:
        _managed_password(database, password)
    db = mysql.Database(
        name=ident,
        address=mysql.lease_address(preferred),
        port=int(database.port),
        folder=folder,
        user=database.master_username or "admin",
        password=password,
        database=database.db_name,
        flavour=kind,
    )
    with _lock:
        _servers[(account, region, ident)] = db
    _dns("register_name", database.address, db.address)
    if restored and restored.get("state") == "stopped":
        database.status = "stopped"
        return
    _save(db, kwargs, "available")
    database.status = "creating" if not restored else "starting"
    mysql.start(db, _started(database, "" if not restored else "started"))


def _hook() -> None:
    from moto.rds.models import DBInstance, RDSBackend

    if _patched:
        return
    # moto 5.2.5 knows no MariaDB version and fails on Engine="mariadb" without one
    DBInstance.default_engine_versions.setdefault("mariadb", MARIADB_DEFAULT_VERSION)
    create = RDSBackend.create_db_instance
    stop = RDSBackend.stop_db_instance
    start = RDSBackend.start_db_instance
    delete = RDSBackend.delete_db_instance
    modify = RDSBackend.modify_db_instance

    def create_serving(self: Any, db_kwargs: dict[str, Any]) -> Any:
        database = create(self, db_kwargs)
        if database.engine in ENGINES and database.db_cluster_identifier is None:
            _provision(self, database, dict(db_kwargs))
        return database

    def stop_serving(self: Any, ident: str, db_snapshot_identifier: str | None = None) -> Any:
        database = stop(self, ident, db_snapshot_identifier)
        db = _servers.get(_key(database))
        if db is not None:
            database.status = "stopping"

            def stopped() -> None:
                mysql.stop(db)
                _set_state(db, "stopped")
                database.status = "stopped"
                _event(database, "DB instance stopped", "notification")

            threading.Thread(target=stopped, daemon=True).start()
        return database

    def start_serving(self: Any, ident: str) -> Any:
        database = start(self, ident)
        db = _servers.get(_key(database))
        if db is not None:
            database.status = "starting"
            _set_state(db, "available")
            mysql.start(db, _started(database, "started"))
        return database

    def modify_serving(self: Any, ident: str, db_kwargs: dict[str, Any]) -> Any:
        password = db_kwargs.get("master_user_password")
        database = modify(self, ident, db_kwargs)
        db = _servers.get(_key(database))
        if db is not None and password:
            mysql.set_password(db, password)
            _set_state(db)
        return database

    delete_signature = inspect.signature(delete)

    def delete_serving(self: Any, *args: Any, **kwargs: Any) -> Any:
        asked = delete_signature.bind(self, *args, **kwargs).arguments
        database = delete(self, *args, **kwargs)
        with _lock:
            db = _servers.pop(_key(database), None)
        if db is not None:
            final = asked.get("final_db_snapshot_identifier")
            skip = asked.get("skip_final_snapshot")
            keep = home() / "snapshots" / final if final and not skip else None
            _dns("unregister_name", database.address)
            threading.Thread(target=mysql.remove, args=(db, keep), daemon=True).start()
        return database

    _patched.update(create=create, stop=stop, start=start, delete=delete, modify=modify)
    RDSBackend.create_db_instance = create_serving
    RDSBackend.stop_db_instance = stop_serving
    RDSBackend.start_db_instance = start_serving
    RDSBackend.delete_db_instance = delete_serving
    RDSBackend.modify_db_instance = modify_serving


def setup() -> None:
    """Hook moto's RDS once it is imported (importing it at start would cost time)."""
    after_import("moto.rds.models", _hook)


def _stop_all() -> list[mysql.Database]:
    with _lock:
        servers = list(_servers.values())
        _servers.clear()
    threads = [threading.Thread(target=mysql.stop, args=(db,)) for db in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in servers:
        mysql.release_address(db.address)
    return servers


def reset() -> None:
    """End every server; after start-up, also delete every DB instance's data (a fresh sandbox)."""
    import shutil

    _stop_all()
    if _state["started"]:
        shutil.rmtree(home(), ignore_errors=True)


def start() -> None:
    """Re-create the DB instances a previous run of this sandbox home left, and their servers."""
    _state["started"] = True
    manifests = sorted(home().glob(f"*/*/*/{MANIFEST}"))
    if not manifests:
        return
    from moto.rds.models import rds_backends

    for path in manifests:
        account, region = path.parts[-4], path.parts[-3]
        try:
            manifest = json.loads(path.read_text())
            _restoring.manifest = manifest
            rds_backends[account][region].create_db_instance(manifest["kwargs"])
        except Exception as exc:  # one broken folder must not keep the sandbox down
            print(f"flovtrain sandbox: cannot restore {path.parent}: {exc}", file=sys.stderr)
        finally:
            _restoring.manifest = None


def stop() -> None:
    """Stop every server; the data stays for the next start."""
    _stop_all()


PROVIDER = Provider(name="rds", setup=setup, reset=reset, start=start, stop=stop)
