"""A real, throwaway PostgreSQL server for the tests: Debian's ``postgresql`` in a temporary directory.

``temporary_postgres()`` runs ``initdb`` and ``pg_ctl`` on a fresh directory, the server listening
only on a Unix socket inside it (no port to collide with, nothing reachable from the network),
and removes everything when the block ends. PostgreSQL refuses to run as root, so under root the
server runs as the ``postgres`` account Debian's package creates (else ``nobody``), which owns the
directory; as any other user it runs as that user. Authentication is ``trust``: the socket's
directory is the server's own, and the server lives as long as the test session.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

SUPERUSER = "carbon"
# Accounts that may run the server when the tests run as root, in order of preference.
UNPRIVILEGED_ACCOUNTS = ("postgres", "nobody")
INSTALL_HINT = (
    "PostgreSQL's server is not installed: run `make test-setup` (it installs Debian's postgresql), "
    "or `apt-get install -y postgresql`."
)
# Durability is pointless for a server deleted after the tests: skip the disk flushes.
SERVER_OPTIONS = (
    "-c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=300"
)


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server programs are missing or the server did not start."""


def server_bin_dir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``: PATH first, then Debian's place."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    # Debian keeps the server programs out of PATH, one directory per major version.
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise PostgresUnavailable(INSTALL_HINT)
    return candidates[-1].parent


def _server_account() -> pwd.struct_passwd | None:
    """The account to run the server as: None to run it as the current (non-root) user."""
    if os.geteuid() != 0:
        return None
    for name in UNPRIVILEGED_ACCOUNTS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresUnavailable(
        "PostgreSQL does not run as root and no unprivileged account "
        f"({', '.join(UNPRIVILEGED_ACCOUNTS)}) exists to run it: create one, e.g. `useradd postgres`."
    )


def _run(command: list[str], account: pwd.struct_passwd | None, cwd: Path) -> None:
    """Run a server program as ``account``; a failure raises with the program's own output."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
    ids = {} if account is None else {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False, **ids)
    if result.returncode != 0:
        raise PostgresUnavailable(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")


@contextlib.contextmanager
def temporary_postgres(database: str = "carbon") -> Iterator[str]:
    """A running PostgreSQL server with an empty ``database``; yields its SQLAlchemy URL.

    The URL reaches the server through its Unix socket as a superuser, so it can also create
    more databases (``create_database``). The server is stopped and its directory removed after.
    """
    bin_dir = server_bin_dir()
    account = _server_account()
    # Not under pytest's tmp_path: its parents are private to the test user, and the server's
    # account must reach its own directory (and a Unix socket's path must stay short).
    base = Path(tempfile.mkdtemp(prefix="carbon-pg-"))
    data, log = base / "data", base / "server.log"
    try:
        if account is not None:
            os.chown(base, account.pw_uid, account.pw_gid)
        _run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
             "--locale=C", "--no-sync"],
            account,
            base,
        )
        _run([str(bin_dir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(data), "-l", str(log),
              "-o", f"-k {base} {SERVER_OPTIONS}"], account, base)
        try:
            url = URL.create("postgresql+psycopg", username=SUPERUSER, database="postgres", query={"host": str(base)})
            yield create_database(url.render_as_string(hide_password=False), database)
        finally:
            _run([str(bin_dir / "pg_ctl"), "stop", "-w", "-m", "immediate", "-D", str(data)], account, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """A plain psycopg connection (autocommit: CREATE and DROP DATABASE refuse transactions)."""
    parsed = make_url(url)
    return psycopg.connect(
        host=str(parsed.query["host"]), user=parsed.username, dbname=parsed.database or "postgres", autocommit=True
    )


def create_database(server_url: str, name: str) -> str:
    """Create the empty database ``name`` on the server of ``server_url``; its SQLAlchemy URL."""
    with _connect(server_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop the database of ``url``, closing whatever connection a test left open on it."""
    name = make_url(url).database
    with _connect(make_url(url).set(database="postgres").render_as_string(hide_password=False)) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


_numbers = itertools.count(1)


def fresh_database(server_url: str) -> str:
    """A new empty database on the server, named uniquely within this process."""
    return create_database(server_url, f"test_{os.getpid()}_{next(_numbers)}")
