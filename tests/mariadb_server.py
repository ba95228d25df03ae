"""A private MariaDB server for tests, holding FreePBX's ``users`` and ``admin`` tables.

Each test session starts its own ``mariadbd`` in a temporary directory on a
free loopback port (never a system service), with a password-protected user
as FreePBX has, and stops it at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pymysql

from support import free_port

MARIADBD = "/usr/sbin/mariadbd"
START_TIMEOUT = 60.0

# FreePBX core module.xml, table users (FREEPBX.md).
USERS_DDL = """
CREATE TABLE users (
  extension varchar(20) NOT NULL DEFAULT '',
  password varchar(20) NULL,
  name varchar(50) NULL,
  voicemail varchar(50) NULL,
  ringtimer int NULL,
  noanswer varchar(100) NULL,
  recording varchar(50) NULL,
  outboundcid varchar(50) NULL,
  sipname varchar(50) NULL,
  noanswer_cid varchar(20) NOT NULL DEFAULT '',
  busy_cid varchar(20) NOT NULL DEFAULT '',
  chanunavail_cid varchar(20) NOT NULL DEFAULT '',
  noanswer_dest varchar(255) NOT NULL DEFAULT '',
  busy_dest varchar(255) NOT NULL DEFAULT '',
  chanunavail_dest varchar(255) NOT NULL DEFAULT '',
  mohclass varchar(80) NULL DEFAULT 'default',
  KEY extension (extension)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""

# FreePBX framework's key/value table; need_reload 'true' is the GUI's red "Apply Config" bar.
ADMIN_DDL = """
CREATE TABLE admin (
  variable varchar(20) NOT NULL DEFAULT '',
  value varchar(80) NOT NULL DEFAULT '',
  PRIMARY KEY (variable)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""

USER = "freepbxuser"
PASSWORD = "s3cret'pw\\x"


@dataclass
class MariaDB:
    datadir: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        from urllib.parse import quote

        return f"mysql://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{self.port}/asterisk"

    def root(self) -> pymysql.connections.Connection[pymysql.cursors.Cursor]:
        return pymysql.connect(
            unix_socket=str(self.datadir / "sock"), user="root", database="asterisk", autocommit=True
        )

    def connect(self) -> pymysql.connections.Connection[pymysql.cursors.Cursor]:
        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user=USER,
            password=PASSWORD,
            database="asterisk",
            autocommit=True,
        )

    def seed(self, rows: dict[str, tuple[str, str, str]]) -> None:
        """Replace the users table with these extensions -> (noanswer, busy, chanunavail).

        FreePBX's "Apply Config" flag starts lowered, as after a reload.
        """
        with self.root() as conn, conn.cursor() as cur:
            cur.execute("REPLACE INTO admin (variable, value) VALUES ('need_reload', 'false')")
            cur.execute("DELETE FROM users")
            for ext, (noanswer, busy, unavail) in rows.items():
                cur.execute(
                    "INSERT INTO users (extension, name, noanswer_dest, busy_dest, chanunavail_dest)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (ext, f"Operator {ext}", noanswer, busy, unavail),
                )

    def destinations(self) -> dict[str, tuple[str, str, str]]:
        with self.root() as conn, conn.cursor() as cur:
            cur.execute("SELECT extension, noanswer_dest, busy_dest, chanunavail_dest FROM users")
            return {str(r[0]): (str(r[1]), str(r[2]), str(r[3])) for r in cur.fetchall()}

    def need_reload(self) -> str | None:
        """``admin.need_reload`` as FreePBX's GUI reads it ('true' shows "Apply Config")."""
        with self.root() as conn, conn.cursor() as cur:
            cur.execute("SELECT value FROM admin WHERE variable = 'need_reload'")
            row = cur.fetchone()
            return None if row is None else str(row[0])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_mariadb(base: Path) -> MariaDB:
    """Initialise a data directory, start the server, create the FreePBX schema."""
    if not Path(MARIADBD).exists():
        raise RuntimeError("MariaDB is not installed: apt-get install mariadb-server (make test does)")
    datadir = base / "data"
    datadir.mkdir(parents=True)
    shutil.chown(base, "mysql", "mysql")
    shutil.chown(datadir, "mysql", "mysql")
    subprocess.run(
        ["mariadb-install-db", "--no-defaults", f"--datadir={datadir}", "--user=mysql",
         "--auth-root-authentication-method=socket", "--skip-test-db"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    port = free_port()
    with open(base / "mariadbd.log", "wb") as log:
        process = subprocess.Popen(
            [MARIADBD, "--no-defaults", f"--datadir={datadir}", f"--socket={datadir / 'sock'}",
             f"--port={port}", "--bind-address=127.0.0.1", "--user=mysql", f"--pid-file={base / 'pid'}",
             "--skip-log-bin", "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "TZ": "UTC"},
        )  # fmt: skip
    server = MariaDB(datadir, port, process)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            # A raw probe first: a refused pymysql.connect leaks its socket.
            with socket.socket(socket.AF_UNIX) as probe:
                probe.connect(str(datadir / "sock"))
            conn = pymysql.connect(unix_socket=str(datadir / "sock"), user="root", autocommit=True)
            break
        except (OSError, pymysql.MySQLError):
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"mariadbd did not start; see {base / 'mariadbd.log'}") from None
            time.sleep(0.1)
    with conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE asterisk")
        cur.execute("CREATE USER %s@'127.0.0.1' IDENTIFIED BY %s", (USER, PASSWORD))
        cur.execute("CREATE USER %s@'localhost' IDENTIFIED BY %s", (USER, PASSWORD))
        cur.execute(f"GRANT ALL ON asterisk.* TO {USER}@'127.0.0.1'")
        cur.execute(f"GRANT ALL ON asterisk.* TO {USER}@'localhost'")
        cur.execute("USE asterisk")
        cur.execute(USERS_DDL)
        cur.execute(ADMIN_DDL)
    return server
