"""RDS MySQL in the sandbox: a real MySQL-protocol server per DB instance, reached by clients."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import boto3
import pymysql
import pytest

from flovtrain.sandbox import control
from flovtrain.sandbox.engines.frontdoor import mysql

REGION = "eu-west-1"
PASSWORD = "Tr4des-and-klines"
TRADES = [(1, "BTCUSDT", "64000.50", 2), (2, "ETHUSDT", "3100.25", 5)]


@pytest.fixture()
def rds():
    control.reset()
    return boto3.client("rds", region_name=REGION)


def create(rds, ident: str, **extra) -> dict:
    params = {
        "DBInstanceIdentifier": ident,
        "Engine": "mysql",
        "DBInstanceClass": "db.t3.micro",
        "AllocatedStorage": 20,
        "MasterUsername": "admin",
        "DBName": "trading",
    }
    if not extra.get("ManageMasterUserPassword"):
        params["MasterUserPassword"] = PASSWORD
    return rds.create_db_instance(**{**params, **extra})["DBInstance"]


def described(rds, ident: str) -> dict:
    return rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]


def wait_status(rds, ident: str, wanted: str, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        db = described(rds, ident)
        if db["DBInstanceStatus"] == wanted or time.monotonic() > deadline:
            assert db["DBInstanceStatus"] == wanted
            return db
        time.sleep(0.2)


def served(ident: str) -> dict:
    """The endpoint the sandbox lists for DB instance ``ident`` (its loopback address, port)."""
    (entry,) = [
        e for e in control.status()["endpoints"] if e["kind"] == "rds" and e["name"] == ident
    ]
    return entry


def connect(entry: dict, password: str = PASSWORD, **kwargs) -> pymysql.Connection:
    return pymysql.connect(
        host=entry["address"], port=entry["port"], user="admin", password=password, **kwargs
    )


def refused(entry: dict) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((entry["address"], entry["port"])) != 0


def fill_and_query(conn: pymysql.Connection) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE trades (id INT PRIMARY KEY, symbol VARCHAR(16), "
            "price DECIMAL(12, 2), qty INT)"
        )
        cur.executemany("INSERT INTO trades VALUES (%s, %s, %s, %s)", TRADES)
        conn.commit()
        cur.execute("SELECT symbol, price * qty FROM trades ORDER BY id")
        return [(s, float(n)) for s, n in cur.fetchall()]


def mysql_client(entry: dict, sql: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["mysql", "-h", entry["address"], "-P", str(entry["port"]), "-u", "admin"]
        + [f"-p{password}", "--batch", "trading", "-e", sql],
        capture_output=True,
        text=True,
        timeout=30,
    )


def assert_client_prints(entry: dict, sql: str, words: list[str]) -> None:
    """The ``mysql`` client (where installed) runs ``sql`` and prints ``words``."""
    if shutil.which("mysql"):
        out = mysql_client(entry, sql)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == words


def assert_access_denied(entry: dict, password: str) -> None:
    """A login with a wrong ``password`` is refused as MySQL refuses it."""
    with pytest.raises(pymysql.err.OperationalError) as denied:
        connect(entry, password=password)
    assert denied.value.args[0] == 1045  # ER_ACCESS_DENIED_ERROR


def test_create_serves_mysql_with_the_master_user(rds):
    created = create(rds, "flovtec-db")
    assert created["DBInstanceStatus"] == "creating"
    db = wait_status(rds, "flovtec-db", "available")
    entry = served("flovtec-db")
    assert entry["port"] == entry["aws_port"] == db["Endpoint"]["Port"] == 3306
    assert entry["address"].startswith("127.22.")
    resolvers = [e for e in control.status()["endpoints"] if e["kind"] == "dns"]
    if resolvers:  # the sandbox's DNS maps the endpoint's name to the server's address
        import dnslib

        question = dnslib.DNSRecord.question(db["Endpoint"]["Address"])
        reply = question.send(resolvers[0]["address"], resolvers[0]["port"], timeout=3)
        assert [str(r.rdata) for r in dnslib.DNSRecord.parse(reply).rr] == [entry["address"]]

    started = time.perf_counter()
    conn = connect(entry, database="trading")
    print(f"RDS connect: {1000 * (time.perf_counter() - started):.1f} ms")
    assert fill_and_query(conn) == [("BTCUSDT", 128001.0), ("ETHUSDT", 15501.25)]
    conn.close()
    assert_client_prints(entry, "SELECT symbol FROM trades WHERE qty > 2", ["symbol", "ETHUSDT"])
    assert_access_denied(entry, "not-the-password")
    rds.modify_db_instance(
        DBInstanceIdentifier="flovtec-db", MasterUserPassword="rotated-Pa55", ApplyImmediately=True
    )
    with pytest.raises(pymysql.err.OperationalError):
        connect(entry)
    connect(entry, password="rotated-Pa55").close()

    deleted = rds.delete_db_instance(DBInstanceIdentifier="flovtec-db", SkipFinalSnapshot=True)
    assert deleted["DBInstance"]["DBInstanceStatus"] == "deleting"
    folder = Path(os.environ["FLOVTRAIN_HOME"]) / "rds" / "123456789012" / REGION / "flovtec-db"
    deadline = time.monotonic() + 30
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not folder.exists()
    assert refused(entry)


def test_managed_password_lives_in_secrets_manager_and_port_is_kept(rds):
    created = create(rds, "managed-db", ManageMasterUserPassword=True, Port=3307)
    arn = created["MasterUserSecret"]["SecretArn"]
    wait_status(rds, "managed-db", "available")
    secret = json.loads(
        boto3.client("secretsmanager", region_name=REGION).get_secret_value(SecretId=arn)[
            "SecretString"
        ]
    )
    assert secret["username"] == "admin" and len(secret["password"]) >= 20
    entry = served("managed-db")
    assert (entry["port"], entry["aws_port"]) == (3307, 3306)
    with connect(entry, password=secret["password"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone()[0].startswith("admin@")


def test_stop_start_really_stop_and_start_and_keep_the_data(rds):
    create(rds, "stoppable")
    wait_status(rds, "stoppable", "available")
    entry = served("stoppable")
    with connect(entry, database="trading") as conn:
        fill_and_query(conn)

    assert rds.stop_db_instance(DBInstanceIdentifier="stoppable")["DBInstance"][
        "DBInstanceStatus"
    ] in ("stopping", "stopped")
    wait_status(rds, "stoppable", "stopped")
    assert refused(entry)
    assert "stoppable" not in [e["name"] for e in control.status()["endpoints"]]

    # a server that cannot start (its port taken meanwhile) leaves the instance failed
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind((entry["address"], entry["port"]))
    blocker.listen()
    try:
        rds.start_db_instance(DBInstanceIdentifier="stoppable")
        wait_status(rds, "stoppable", "failed")
    finally:
        blocker.close()
    events = rds.describe_events(SourceIdentifier="stoppable", SourceType="db-instance")
    failures = [e["Message"] for e in events["Events"] if "failure" in e["EventCategories"]]
    assert failures, events["Events"]
    assert "Address already in use" in failures[-1] or "port: 3306" in failures[-1], failures


def test_data_survives_a_sandbox_restart(rds):
    create(rds, "durable")
    wait_status(rds, "durable", "available")
    with connect(served("durable"), database="trading") as conn:
        fill_and_query(conn)
    address = served("durable")["address"]

    port = control.status()["port"]
    control.stop()
    control.start(port=port)  # the same port: the session's other tests keep their endpoint
    os.environ.update(control.client_env())
    rds = boto3.client("rds", region_name=REGION)
    wait_status(rds, "durable", "available")
    entry = served("durable")
    assert entry["address"] == address
    with connect(entry, database="trading") as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*), SUM(qty) FROM trades")
        assert cur.fetchone() == (2, 7)
    control.reset()  # a reset, unlike a restart, deletes the data
    assert not (Path(os.environ["FLOVTRAIN_HOME"]) / "rds").exists()


def test_embedded_server_speaks_mysql_when_mariadb_is_missing(tmp_path):
    db = mysql.Database(
        "embedded-db",
        mysql.lease_address(),
        3306,
        tmp_path / "embedded-db",
        "admin",
        PASSWORD,
        "trading",
        flavour="embedded",
    )
    mysql.start(db).join()
    try:
        assert db.state == "running", db.error
        entry = {"address": db.address, "port": db.port}
        with connect(entry, database="trading") as conn:
            assert fill_and_query(conn) == [("BTCUSDT", 128001.0), ("ETHUSDT", 15501.25)]
        assert_client_prints(entry, "SELECT COUNT(*) AS n FROM trades", ["n", "2"])
        assert_access_denied(entry, "wrong")
        mysql.stop(db)
        assert refused(entry)
        mysql.start(db).join()  # the SQLite file keeps the table
        with connect(entry) as conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM trades")
            assert cur.fetchone()[0] == 2
    finally:
        mysql.remove(db)
    assert not db.folder.exists()
