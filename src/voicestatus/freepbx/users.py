"""FreePBX's ``users`` table: read and change the follow-me destinations.

FreePBX generates its ``ext-local`` dialplan from this table, and after an
extension rings out it jumps to ``noanswer_dest``, ``busy_dest`` or
``chanunavail_dest``. We touch only those three columns, in one transaction
with the rows locked (``SELECT ... FOR UPDATE``), so the FreePBX GUI saving an
extension at the same moment waits for us or we for it, never half of each.

Lock waits are short on purpose: a PBX whose ``users`` table is locked for
longer is busy with something an admin should look at, and a clear error
beats a command that hangs. Column names come from a fixed table, never from
input; values always travel as query parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pymysql
import pymysql.cursors

from voicestatus.errors import VoiceStatusError
from voicestatus.freepbx.credentials import DatabaseParams

log = logging.getLogger(__name__)

REASON_COLUMNS: Mapping[str, str] = {
    "noanswer": "noanswer_dest",
    "busy": "busy_dest",
    "chanunavail": "chanunavail_dest",
}
FREEPBX_REASONS: tuple[str, ...] = tuple(REASON_COLUMNS)

# MariaDB/MySQL error numbers we explain instead of passing through.
_ACCESS_DENIED = (1044, 1045, 1698)
_UNKNOWN_DATABASE = 1049
_NO_TABLE = 1146
_LOCK_TIMEOUT = 1205
_DEADLOCK = 1213
_CANT_CONNECT = (2002, 2003, 2005, 2006, 2013)

Destinations = dict[str, dict[str, str]]


class FreepbxError(VoiceStatusError):
    """Talking to FreePBX (its database or its reload) failed."""

    error_id = "freepbx-error"


class FreepbxUnreachable(FreepbxError):
    error_id = "freepbx-database-unreachable"


class FreepbxLocked(FreepbxError):
    error_id = "freepbx-database-locked"


class UnknownExtensions(FreepbxError):
    error_id = "freepbx-unknown-extensions"


def _column(reason: str) -> str:
    try:
        return REASON_COLUMNS[reason]
    except KeyError:
        raise FreepbxError(f"unknown reason {reason!r}: use {', '.join(FREEPBX_REASONS)}") from None


def _code(exc: pymysql.MySQLError) -> int:
    return exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0


def translate(exc: pymysql.MySQLError, params: DatabaseParams) -> FreepbxError:
    """A MariaDB error as one of ours, with what to do about it."""
    code = _code(exc)
    where = params.describe()
    if code in _ACCESS_DENIED:
        return FreepbxUnreachable(
            f"FreePBX {where}: access denied. "
            f"Check the credentials in {params.source or 'the configuration'}."
        )
    if code in _CANT_CONNECT:
        return FreepbxUnreachable(
            f"cannot connect to the FreePBX {where}: is MariaDB running? "
            f"({exc.args[1] if len(exc.args) > 1 else exc})"
        )
    if code in (_LOCK_TIMEOUT, _DEADLOCK):
        return FreepbxLocked(
            "the FreePBX users table is locked by another session (the GUI saving, a backup or a "
            "restore?); nothing was changed. Wait until it finishes and run the command again."
        )
    if code in (_UNKNOWN_DATABASE, _NO_TABLE):
        return FreepbxError(f"FreePBX {where}: no users table there; is this FreePBX's database?")
    return FreepbxError(f"FreePBX {where}: {exc}")


class UsersTable:
    """One connection to FreePBX's database, used for one transaction at a time."""

    def __init__(self, params: DatabaseParams, *, lock_timeout: int = 5, connect_timeout: int = 5) -> None:
        self.params = params
        self.lock_timeout = lock_timeout
        self.connect_timeout = connect_timeout
        self._conn: pymysql.connections.Connection[Any] | None = None

    def begin(self) -> None:
        """Connect and start a transaction with short lock waits."""
        p = self.params
        try:
            conn = pymysql.connect(
                host=p.host,
                port=p.port,
                unix_socket=p.unix_socket,
                user=p.user,
                password=p.password,
                database=p.database,
                charset="utf8mb4",
                connect_timeout=self.connect_timeout,
                read_timeout=max(30, self.lock_timeout * 4),
                write_timeout=30,
                autocommit=False,
            )
            with conn.cursor() as cur:
                # LOCK TABLES waits on a metadata lock (lock_wait_timeout), row locks on
                # innodb_lock_wait_timeout; both default to far longer than anyone waits.
                cur.execute(
                    "SET SESSION lock_wait_timeout = %s, innodb_lock_wait_timeout = %s",
                    (self.lock_timeout, self.lock_timeout),
                )
            conn.begin()
        except pymysql.MySQLError as exc:
            raise translate(exc, p) from exc
        self._conn = conn

    def _cursor(self) -> pymysql.cursors.Cursor:
        if self._conn is None:
            raise RuntimeError("begin() first")
        return self._conn.cursor()

    def all_extensions(self) -> list[str]:
        """Every extension FreePBX knows, in order."""
        try:
            with self._cursor() as cur:
                cur.execute("SELECT extension FROM users ORDER BY LENGTH(extension), extension")
                return [str(row[0]) for row in cur.fetchall()]
        except pymysql.MySQLError as exc:
            raise translate(exc, self.params) from exc

    def lock_destinations(self, extensions: Sequence[str], *, lock: bool = True) -> Destinations:
        """Current destinations of these extensions, locking their rows until commit/rollback."""
        suffix = " FOR UPDATE" if lock else ""
        columns = ", ".join(REASON_COLUMNS.values())
        found: Destinations = {}
        try:
            with self._cursor() as cur:
                for start in range(0, len(extensions), 500):
                    chunk = list(extensions[start : start + 500])
                    marks = ", ".join(["%s"] * len(chunk))
                    cur.execute(
                        f"SELECT extension, {columns} FROM users WHERE extension IN ({marks}){suffix}",  # noqa: S608 (fixed column names, values as parameters)
                        chunk,
                    )
                    for row in cur.fetchall():
                        found[str(row[0])] = {
                            reason: str(value if value is not None else "")
                            for reason, value in zip(REASON_COLUMNS, row[1:], strict=True)
                        }
        except pymysql.MySQLError as exc:
            raise translate(exc, self.params) from exc
        return found

    def set_destinations(self, extension: str, values: Mapping[str, str]) -> None:
        """Change some of one extension's destinations (inside the open transaction)."""
        if not values:
            return
        assignments = ", ".join(f"{_column(reason)} = %s" for reason in values)
        try:
            with self._cursor() as cur:
                cur.execute(
                    f"UPDATE users SET {assignments} WHERE extension = %s",  # noqa: S608 (as above)
                    [*values.values(), extension],
                )
        except pymysql.MySQLError as exc:
            raise translate(exc, self.params) from exc

    def mark_needs_reload(self) -> None:
        """Raise FreePBX's "Apply Config" flag, inside the open transaction.

        FreePBX remembers in ``admin.need_reload`` that its database holds
        changes the running dialplan does not have yet, and shows the red
        "Apply Config" bar for it; its own ``needreload()`` sets it for every
        change made outside a reload, and ``fwconsole reload`` clears it. We
        set it with the destination change, so the GUI tells the truth even
        when our reload does not happen or fails.
        """
        self._execute_admin(
            "INSERT INTO admin (variable, value) VALUES ('need_reload', 'true') "
            "ON DUPLICATE KEY UPDATE value = 'true'"
        )

    def clear_needs_reload(self) -> None:
        """Lower the flag after a successful reload (as ``fwconsole reload`` does); in the transaction."""
        self._execute_admin("UPDATE admin SET value = 'false' WHERE variable = 'need_reload'")

    def needs_reload(self) -> bool | None:
        """FreePBX's "Apply Config" flag; None when this database has no ``admin`` table."""
        try:
            with self._cursor() as cur:
                cur.execute("SELECT value FROM admin WHERE variable = 'need_reload'")
                row = cur.fetchone()
        except pymysql.MySQLError as exc:
            if _code(exc) == _NO_TABLE:
                return None
            raise translate(exc, self.params) from exc
        return row is not None and str(row[0]) == "true"

    def _execute_admin(self, sql: str) -> None:
        try:
            with self._cursor() as cur:
                cur.execute(sql)
        except pymysql.MySQLError as exc:
            if _code(exc) == _NO_TABLE:
                # Every FreePBX has it; a hand-made database may not. The reload still works.
                log.warning("FreePBX database has no admin table: its 'Apply Config' flag is not updated")
                return
            raise translate(exc, self.params) from exc

    def commit(self) -> None:
        if self._conn is None:
            raise RuntimeError("begin() first")
        try:
            self._conn.commit()
        except pymysql.MySQLError as exc:
            raise translate(exc, self.params) from exc

    def close(self) -> None:
        """Roll back anything uncommitted and disconnect."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.rollback()
        except pymysql.MySQLError:
            log.debug("rollback on close failed", exc_info=True)
        try:
            conn.close()
        except pymysql.MySQLError:
            log.debug("close failed", exc_info=True)


def check_reasons(reasons: Iterable[str]) -> tuple[str, ...]:
    """Validated, de-duplicated reasons in the canonical order."""
    wanted = set(reasons)
    for reason in wanted:
        _column(reason)
    if not wanted:
        raise FreepbxError(f"name at least one reason: {', '.join(FREEPBX_REASONS)}")
    return tuple(r for r in FREEPBX_REASONS if r in wanted)
