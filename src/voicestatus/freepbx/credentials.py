"""Where the FreePBX database is and how to log in to it.

On a FreePBX host the answer is already written down: ``/etc/freepbx.conf``
is a small PHP file assigning ``$amp_conf['AMPDBUSER']`` and friends. Asking an
administrator to copy a password we can read ourselves would only add a
place for it to go stale, so ``[freepbx] database_url`` is an override for
hosts where the database lives elsewhere, and the PHP file is the default.
The file is parsed, never executed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from voicestatus.config import FreepbxConfig
from voicestatus.errors import ConfigError

DEFAULT_PORT = 3306
# Where Debian and Sangoma/CentOS put the server's socket for host "localhost".
LOCAL_SOCKETS = ("/run/mysqld/mysqld.sock", "/var/lib/mysql/mysql.sock", "/var/run/mysqld/mysqld.sock")

_ASSIGNMENT = re.compile(
    r"""\$amp_conf\s*\[\s*(['"])(?P<key>\w+)\1\s*\]\s*=\s*"""
    r"""(?:'(?P<single>(?:[^'\\]|\\.)*)'|"(?P<double>(?:[^"\\]|\\.)*)")\s*;""",
    re.DOTALL,
)


@dataclass(frozen=True)
class DatabaseParams:
    """Connection parameters for PyMySQL; ``describe()`` never shows the password."""

    user: str
    password: str
    database: str = "asterisk"
    host: str = "localhost"
    port: int = DEFAULT_PORT
    unix_socket: str | None = None
    source: str = ""

    def describe(self) -> str:
        where = f"socket {self.unix_socket}" if self.unix_socket else f"{self.host}:{self.port}"
        return f"database {self.database!r} as {self.user!r} at {where}"


def _php_unescape(text: str, quote: str) -> str:
    if quote == "'":
        return re.sub(r"\\([\\'])", r"\1", text)
    return re.sub(r"\\([\\\"$])", r"\1", text)


def parse_freepbx_conf(text: str) -> dict[str, str]:
    """The literal string assignments to ``$amp_conf[...]`` in a freepbx.conf."""
    values: dict[str, str] = {}
    for match in _ASSIGNMENT.finditer(text):
        if match.group("single") is not None:
            values[match.group("key")] = _php_unescape(match.group("single"), "'")
        else:
            values[match.group("key")] = _php_unescape(match.group("double"), '"')
    return values


def _local_socket(host: str) -> str | None:
    if host != "localhost":
        return None
    return next((s for s in LOCAL_SOCKETS if Path(s).exists()), None)


def from_freepbx_conf(path: Path) -> DatabaseParams:
    """Read the credentials FreePBX itself uses."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise ConfigError(
            f"{path} does not exist, so the FreePBX database credentials cannot be read from it. "
            "On a FreePBX host it is /etc/freepbx.conf: point to the right file with --freepbx-conf PATH "
            "or [freepbx] config_file, or give the database itself with --database-url-stdin, "
            "$VOICESTATUS_FREEPBX__DATABASE_URL or [freepbx] database_url."
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path}: {exc.strerror or exc}. Run as a user that can read it "
            '(root or asterisk), or set [freepbx] database_url = "mysql://user:pass@host/asterisk".'
        ) from exc
    conf = parse_freepbx_conf(text)
    missing = [k for k in ("AMPDBUSER", "AMPDBPASS") if k not in conf]
    if missing:
        raise ConfigError(f"{path}: no $amp_conf['{missing[0]}'] found; is this FreePBX's freepbx.conf?")
    host = conf.get("AMPDBHOST") or "localhost"
    port_text = conf.get("AMPDBPORT") or str(DEFAULT_PORT)
    if not port_text.isdigit():
        raise ConfigError(f"{path}: AMPDBPORT {port_text!r} is not a port number")
    return DatabaseParams(
        user=conf["AMPDBUSER"],
        password=conf["AMPDBPASS"],
        database=conf.get("AMPDBNAME") or "asterisk",
        host=host,
        port=int(port_text),
        unix_socket=conf.get("AMPDBSOCK") or _local_socket(host),
        source=str(path),
    )


def from_url(url: str) -> DatabaseParams:
    """``mysql://user:pass@host[:port]/db[?unix_socket=/path]``."""
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mariadb", "mysql+pymysql"):
        raise ConfigError("[freepbx] database_url must look like mysql://user:password@host/asterisk")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ConfigError("[freepbx] database_url has an invalid port") from None
    socket = parse_qs(parts.query).get("unix_socket", [None])[0]
    host = parts.hostname or "localhost"
    return DatabaseParams(
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")) or "asterisk",
        host=host,
        port=port,
        unix_socket=socket or _local_socket(host),
        source="[freepbx] database_url",
    )


def database_params(config: FreepbxConfig) -> DatabaseParams:
    """The configured URL if any, else FreePBX's own configuration file."""
    if config.database_url:
        return from_url(config.database_url)
    return from_freepbx_conf(Path(config.config_file))
