"""Hostile HTTP input against one running service: API fields, paths, queries, headers, logins, media.

Each value must get a clear refusal (4xx with the API's ``{error_id, message,
details}`` on ``/api``) or a harmless answer, never a 5xx or a traceback in the
log, and must change nothing: every database row and every file under the
service's root is compared before and after. Failures are collected per test
and reported together, each naming the exact input.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx
import pytest
from hypothesis import strategies as st

from hostile_support import (
    CONTROL,
    HOSTILE_TEXT,
    SEED_PIN,
    HostileWeb,
    generate,
    hostile_strings,
    json_values,
    report,
    tally,
)
from web_support import PASSWORD, SPEECH_WAV, login_session

API_REFUSALS = {400, 401, 403, 404, 405, 409, 413, 415, 422, 429}


def path_segment(value: str) -> str:
    """``value`` as one raw path segment: nothing normalised away, dots included."""
    return quote(value, safe="").replace(".", "%2E")


def problem(response: httpx.Response, what: str, allowed: Iterable[int]) -> str | None:
    """Why ``response`` is not an acceptable answer to hostile input (None: it is)."""
    code = response.status_code
    if code >= 500:
        return f"{what}: {code} {response.text[:200]!r}"
    if code not in set(allowed):
        return f"{what}: unexpected {code} {response.text[:200]!r}"
    if code >= 400 and response.request.url.path.startswith("/api/"):
        try:
            body = response.json()
        except ValueError:
            return f"{what}: {code} without a JSON error body: {response.text[:100]!r}"
        if not (isinstance(body, dict) and {"error_id", "message", "details"} <= body.keys()):
            return f"{what}: {code} error body is not {{error_id, message, details}}: {body!r:.200}"
    if "Traceback" in response.text:
        return f"{what}: a traceback in the answer"
    return None


# -- PATCH /api/v1/operators/{ext}: every field -----------------------------------------

_PIN = re.compile(r"[0-9]{4,20}", re.ASCII)


def _aware_in_range(text: str) -> bool:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        return False
    try:
        when.astimezone(datetime.now().astimezone().tzinfo)
        return 1 < when.year < 9999
    except OverflowError:
        return False


def valid_patch_value(field: str, value: Any) -> bool:
    """Whether the API should accept ``value`` for ``field`` (such values are not hostile here)."""
    if value is None:
        return field in ("name", "pin", "active_status", "expires_at")
    if field == "name":
        return isinstance(value, str) and len(value) <= 100 and not any(c in CONTROL for c in value)
    if field == "pin":
        return isinstance(value, str) and _PIN.fullmatch(value) is not None
    if field in ("enabled", "message_enabled"):
        return isinstance(value, bool)
    if field == "active_status":
        return value in (1, "1", "away") and not isinstance(value, bool)
    if field == "expires_at":
        return isinstance(value, str) and _aware_in_range(value)
    return False


FIELD_VALUES: dict[str, list[Any]] = {
    "name": [
        "a" * 101,
        "a" * 10_000,
        "\x00",
        "Anna\x00",
        "Anna\r\nX",
        "\x1b[31mred",
        "\u202eanna",
        "\x7f",
        "\ud800",
        5,
        1.5,
        True,
        [],
        {},
        ["Anna"],
        {"en": "Anna"},
    ],
    "pin": [
        "123",
        "1" * 21,
        "١٢٣٤",
        "１２３４",
        "12 34",
        "1234\n",
        " 1234",
        "abcd",
        "",
        "-1234",
        "12.34",
        1234,
        12345678,
        1.5e10,
        True,
        [],
        {},
        "1234\x00",
    ],
    "enabled": ["false", "true", "no", "off", "0", "", 0, 1, 2, -1, 0.0, [], {}, "null", "False"],
    "message_enabled": ["false", "off", "0", 0, 1, 1.0, [], {}, "yes"],
    "active_status": [
        0,
        10,
        -1,
        99999999999999999999999,
        1.5,
        "0",
        "10",
        "../1",
        "away\x00",
        "AWAY",
        "a" * 33,
        "",
        " 1",
        "١",
        True,
        False,
        [],
        {},
        "nosuch",
        1e308,
    ],
    "expires_at": [
        "tomorrow",
        "2030-01-01T00:00:00",
        "2030-01-01",
        "2030-02-30T00:00:00Z",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "10000-01-01T00:00:00Z",
        "2030-01-01T00:00:00+25:00",
        "",
        " ",
        "1700000000",
        1700000000,
        0,
        -1,
        1e20,
        True,
        [],
        {},
        "2030-01-01T00:00:00Z\x00",
        "NaN",
    ],
}


async def test_patch_fields_refuse_hostile_values(
    hostile_web: HostileWeb, caplog: pytest.LogCaptureFixture
) -> None:
    """Wrong types, huge, control characters, unicode digits, impossible dates: 400, nothing changed."""
    generated = generate(json_values(), 40)
    failures: list[str] = []
    tried = 0
    async with hostile_web.web.api() as api:
        # Control: every field takes a proper value, so the refusals below are the values' doing.
        proper = {
            "name": "Zoë Ünïcode 名前 🙂", "pin": "1234", "enabled": True, "active_status": "away",
            "message_enabled": False, "expires_at": "2031-01-01T00:00:00+03:00",
        }  # fmt: skip
        control = await api.patch("/api/v1/operators/102", json=proper)
        assert control.status_code == 200, control.text
        assert control.json()["name"] == proper["name"]
        assert control.json()["expires_at"].startswith("2030-12-31T21:00:00")
        audit_control = await api.get("/api/v1/audit", params={"since": "2020-01-01T00:00:00Z"})
        assert audit_control.status_code == 200, audit_control.text
        before = hostile_web.state()
        for field, table in FIELD_VALUES.items():
            for value in [*table, *generated]:
                if valid_patch_value(field, value):
                    continue
                tried += 1
                body = json.dumps({field: value}, allow_nan=True).encode()
                answer = await api.patch(
                    "/api/v1/operators/101", content=body, headers={"Content-Type": "application/json"}
                )
                if found := problem(answer, f"{field}={value!r:.80}", {400, 404}):
                    failures.append(found)
        failures += hostile_web.changes(before)
    tally("api-fields", tried)
    report(failures, caplog)


RAW_BODIES: list[tuple[str, bytes]] = [
    ("application/json", b""),
    ("application/json", b"null"),
    ("application/json", b"[]"),
    ("application/json", b'"name"'),
    ("application/json", b"1"),
    ("application/json", b"{"),
    ("application/json", b'{"name": NaN}'),
    ("application/json", b'{"name": Infinity}'),
    ("application/json", b'{"active_status": 1e999999}'),
    ("application/json", b'{"active_status": ' + b"9" * 5000 + b"}"),
    ("application/json", b'{"name": "a", "name": "\\u0000"}'),
    ("application/json", b'{"name": "\\ud800"}'),
    ("application/json", b'{"name": "\xff\xfe"}'),
    ("application/json", b"\xef\xbb\xbf{}"),
    ("application/json", '{"name": "x"}'.encode("utf-16")),
    ("application/json", b"[" * 10_000 + b"]" * 10_000),
    ("application/json", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ("application/json", b'{"extension": "102"}'),
    ("application/json", b'{"pin_hash": "x"}'),
    ("application/json", b'{"__proto__": {"admin": true}}'),
    ("application/json", b'{"name": "' + b"a" * 2_000_000 + b'"}'),
    ("text/plain", b'{"name": "x"}'),
    ("application/x-www-form-urlencoded", b"name=x"),
    (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--x--',
    ),
    ("application/json; charset=utf-16", b'{"name": "x"}'),
    ("application/xml", b"<name>x</name>"),
]


async def test_patch_bodies_refuse_hostile_documents(
    hostile_web: HostileWeb, caplog: pytest.LogCaptureFixture
) -> None:
    """Not-objects, broken JSON, duplicate keys, deep nesting, wrong content types, 2 MB: refused."""
    failures: list[str] = []
    async with hostile_web.web.api() as api:
        before = hostile_web.state()
        for content_type, body in RAW_BODIES:
            answer = await api.patch(
                "/api/v1/operators/101", content=body, headers={"Content-Type": content_type}
            )
            what = f"{content_type} {body[:60]!r} ({len(body)} bytes)"
            if found := problem(answer, what, {400, 413, 415}):
                failures.append(found)
        failures += hostile_web.changes(before)
    tally("api-fields", len(RAW_BODIES))
    report(failures, caplog)


# -- path parameters ----------------------------------------------------------------------

EXT_VALUES = [
    *HOSTILE_TEXT,
    "..",
    ".",
    "../101",
    "..%2f101",
    "101/../102",
    "101%00",
    "0101",
    "+101",
    "101.0",
    "1" * 21,
    "99999999999999999999",
    "٠١٠١",
    "𝟏𝟎𝟏",
    "101\n",
    "%31%30%31",
    "101?x=1",
    "101#x",
]
STATUS_VALUES = [
    "0",
    "10",
    "-1",
    "1.0",
    "01",
    "１",
    "١",
    "away\x00",
    "AWAY",
    "away ",
    "a" * 33,
    "../1",
    "..",
    "%31",
    "1;2",
    "$(id)",
    "*",
    "_",
    "-",
    "nosuch",
    "9",
    "busy",
    "\u200b1",
    "1" * 10_000,
]


async def test_path_parameters_refuse_hostile_values(
    hostile_web: HostileWeb, caplog: pytest.LogCaptureFixture
) -> None:
    """{ext} and {status}: traversal, encodings, unicode digits, 10k characters; nothing reached."""
    generated = generate(st.text(min_size=1, max_size=30).filter(lambda s: not s.isascii()), 20)
    exts = [v for v in [*EXT_VALUES, *generated] if v not in ("", "101", "102")]
    statuses = [*STATUS_VALUES, *generated[:10]]
    failures: list[str] = []
    async with hostile_web.web.api() as api:
        before = hostile_web.state()
        for ext in exts:
            seg = path_segment(ext)
            requests = [
                ("GET", f"/api/v1/operators/{seg}", None),
                ("PATCH", f"/api/v1/operators/{seg}", b'{"name": "pwned"}'),
                ("POST", f"/api/v1/operators/{seg}/off", None),
                ("DELETE", f"/api/v1/operators/{seg}/messages/1", None),
                ("GET", f"/operators/{seg}", None),
            ]
            for method, url, body in requests:
                answer = await api.request(
                    method, url, content=body, headers={"Content-Type": "application/json"}
                )
                allowed = {400, 403, 404, 405, 422} if url.startswith("/api/") else {200, 303, 400, 403, 404}
                if found := problem(answer, f"{method} {url[:80]}", allowed):
                    failures.append(found)
                elif not url.startswith("/api/") and answer.status_code == 200 and "pwned" in answer.text:
                    failures.append(f"{method} {url[:80]}: shows an operator page")
        for status in statuses:
            seg = path_segment(status)
            for method, url in [
                ("GET", f"/api/v1/operators/101/messages/{seg}"),
                ("DELETE", f"/api/v1/operators/101/messages/{seg}"),
                ("POST", f"/api/v1/operators/101/messages/{seg}/restore"),
                ("PUT", f"/api/v1/operators/101/messages/{seg}"),
            ]:
                body = SPEECH_WAV if method == "PUT" else None
                answer = await api.request(method, url, content=body)
                if found := problem(answer, f"{method} {url[:80]}", {400, 404, 405, 422}):
                    failures.append(found)
        failures += hostile_web.changes(before)
    tally("path-params", len(exts) + len(statuses))
    report(failures, caplog)


# -- query parameters ----------------------------------------------------------------------

NUMBERS = [
    "-1",
    "1e9",
    "abc",
    "1" * 30,
    "NaN",
    "0x10",
    "",
    " ",
    "1.5",
    "١",
    "-0",
    "2147483648",
    "99999999999",
]
DATES = [
    "yesterday",
    "2030-01-01",
    "2030-01-01T00:00:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "2030-13-01T00:00:00Z",
    "1e10",
    "-1",
    "2030-01-01T00:00:00Z\x00",
    "9" * 400,
]


async def test_query_parameters_refuse_or_survive_hostile_values(
    hostile_web: HostileWeb, caplog: pytest.LogCaptureFixture
) -> None:
    """search, state, offset, limit, since/until, format on the API and the UI pages."""
    texts = [*HOSTILE_TEXT, "%", "%%", "_", "\\", "'", "a" * 101]
    cases: list[tuple[str, dict[str, str], set[int]]] = []
    for value in texts:
        cases += [
            ("/api/v1/operators", {"search": value}, {200, 400}),
            ("/api/v1/audit", {"actor": value}, {200, 400}),
            ("/api/v1/audit", {"action": value}, {200, 400}),
            ("/api/v1/audit", {"extension": value}, {200, 400}),
            ("/api/v1/operators", {"state": value}, {400}),
            ("/", {"search": value, "state": value}, {200, 400}),
            ("/audit", {"actor": value, "extension": value}, {200, 400}),
            ("/", {"done": value, "error": value, "lang": value}, {200, 400}),
            ("/operators/101", {"done": value, "error": value}, {200, 400}),
            ("/login", {"next": value, "lang": value}, {200, 400}),
        ]
    for value in NUMBERS:
        cases += [
            ("/api/v1/operators", {"offset": value}, {200, 400}),
            ("/api/v1/operators", {"limit": value}, {200, 400}),
            ("/api/v1/audit", {"offset": value, "limit": value}, {200, 400}),
            ("/", {"offset": value}, {200, 400}),
            ("/audit", {"offset": value}, {200, 400}),
        ]
    for value in DATES:
        cases += [
            ("/api/v1/audit", {"since": value}, {200, 400}),
            ("/api/v1/audit", {"until": value}, {200, 400}),
        ]
    for value in ["wav32", "../wav", "WAV", "", "wav\x00", "mp3"]:
        cases.append(("/api/v1/operators/101/messages/1", {"format": value}, {400}))
    failures: list[str] = []
    session = httpx.AsyncClient(base_url=hostile_web.web.base, timeout=30)
    async with hostile_web.web.api() as api, session:
        await login_session(session, {"username": "alice", "password": PASSWORD})
        before = hostile_web.state()
        for path, params, allowed in cases:
            client = api if path.startswith("/api/") else session
            answer = await client.get(path, params=params)
            if found := problem(answer, f"GET {path} {params!r:.100}", allowed):
                failures.append(found)
            elif "<script>" in answer.text and "text/html" in answer.headers.get("content-type", ""):
                failures.append(f"GET {path} {params!r:.100}: the value is reflected unescaped")
        failures += hostile_web.changes(before)
    tally("query-params", len(texts) + len(NUMBERS) + len(DATES) + 6)
    report(failures, caplog)


async def test_login_next_never_leaves_the_site(
    hostile_web: HostileWeb, caplog: pytest.LogCaptureFixture
) -> None:
    """``/login?next=`` (then the login's redirect) always stays on this origin."""
    targets = [
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example",
        "http:evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/%2F/evil.example",
        "/%5Cevil.example",
        "javascript:alert(1)",
        " //evil.example",
        "/.//evil.example",
        "///evil.example",
        "/\\/evil.example",
        "\x00//evil.example",
    ]
    failures: list[str] = []
    base = hostile_web.web.base
    for target in targets:
        async with hostile_web.web.anonymous() as client:
            page = await client.get("/login", params={"next": target})
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf is not None
            answer = await client.post(
                "/login",
                data={"username": "alice", "password": PASSWORD, "csrf_token": csrf[1], "next": target},
            )
            location = answer.headers.get("location", "")
            resolved = urlsplit(urljoin(base + "/", location))
            if answer.status_code != 303 or resolved.netloc != urlsplit(base).netloc:
                failures.append(f"next={target!r}: {answer.status_code} Location {location!r}")
            elif any(c in location for c in "\\\t\n\r\x00") or location.startswith("//"):
                failures.append(f"next={target!r}: Location {location!r} is ambiguous to browsers")
    tally("query-params", len(targets))
    report(failures, caplog)


# -- headers ---------------------------------------------------------------------------------


async def raw_request(port: int, data: bytes, *, half_close: bool = False, timeout: float = 5) -> bytes:
    """Send bytes as they are (lies and all) and return what the server answers, if anything."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        if half_close:
            writer.write_eof()
        try:
            return await asyncio.wait_for(reader.read(65536), timeout)
        except TimeoutError:
            return b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def raw_exchange(port: int, request: bytes, timeout: float = 10) -> tuple[int | None, bytes]:
    """One request on its own connection, read to the end: the status and the body as sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        answer = b""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(answer) < 4_000_000 and (left := deadline - loop.time()) > 0:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), left)
            except TimeoutError:
                break
            if not chunk:
                break
            answer += chunk
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    return raw_status(head), body


def raw_status(answer: bytes) -> int | None:
    match = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    return int(match[1]) if match else None


AUTH_VALUES = [
    "",
    "Bearer",
    "Bearer ",
    "Bearer  x",
    "bearer x",
    "BEARER x",
    "Basic YWxpY2U6eA==",
    "Bearer " + "a" * 10_000,
    "Bearer x y",
    "Bearer \x7f",
    "Bearer é",
    "Token x",
    "Bearer ${jndi:ldap://x}",
    "Bearer ' OR 1=1 --",
    "Bearer %00",
    "Digest username=alice",
    "Bearer null",
    "Bearer undefined",
]
XFF_VALUES = [
    "",
    "unknown",
    "1.2.3.4, 5.6.7.8",
    "::1",
    "a" * 5000,
    ",,,,",
    "1.2.3.4 ,5.6.7.8",
    "[::1]:80",
    "127.0.0.1",
]


async def test_headers_refuse_or_survive_garbage(
    hostile_web: HostileWeb, caplog: pytest.LogCaptureFixture
) -> None:
    """Authorization, X-Forwarded-For, X-CSRF-Token, Host, Cookie, Accept-Language, very long headers."""
    failures: list[str] = []
    tried = 0
    base = hostile_web.web.base
    before = hostile_web.state()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        port = hostile_web.web.service.config.http.port
        for value in AUTH_VALUES:
            tried += 1
            for method, path, body in (
                ("GET", "/api/v1/operators", b""),
                ("PATCH", "/api/v1/operators/101", b'{"name": "pwned"}'),
            ):
                request = (
                    f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
                    + b"Authorization: "
                    + value.encode("utf-8")
                    + b"\r\nContent-Type: application/json\r\n"
                    + b"Content-Length: %d\r\n\r\n" % len(body)
                    + body
                )
                status, raw_body = await raw_exchange(port, request)
                if status is None or status >= 500 or status not in {400, 401, 403, 431}:
                    failures.append(f"{method} with Authorization {value!r:.60}: {status} {raw_body[:100]!r}")
        for value in XFF_VALUES:
            tried += 1
            answer = await client.get(
                "/api/v1/me",
                headers={"Authorization": f"Bearer {hostile_web.token}", "X-Forwarded-For": value},
            )
            if found := problem(answer, f"X-Forwarded-For {value!r:.60}", {200}):
                failures.append(found)
        for value in ["en;q=NaN", "*" * 5000, "ru-RU,en;q=0.5,,,;", "\x7f", "zz", "q=1;q=2", ""]:
            tried += 1
            answer = await client.get("/login", headers={"Accept-Language": value})
            if found := problem(answer, f"Accept-Language {value!r:.60}", {200}):
                failures.append(found)
        for value in [
            "vs_session=" + "a" * 4000,
            "vs_session=';--",
            "vs_session=",
            "lang=../../x",
            "lang=xx; lang=ru",
            "vs_session=%00",
            "vs_login=x; vs_session=y",
        ]:
            tried += 1
            answer = await client.get("/api/v1/me", headers={"Cookie": value})
            if found := problem(answer, f"Cookie {value!r:.60}", {401}):
                failures.append(found)
    # A session (cookie) change needs the session's CSRF token; garbage tokens are refused.
    async with httpx.AsyncClient(base_url=base, timeout=30) as session:
        csrf = await login_session(session, {"username": "alice", "password": PASSWORD})
        before = hostile_web.state()
        for value in [
            "",
            "x",
            csrf[:-1],
            csrf + "x",
            csrf.upper(),
            csrf.lower(),
            "null",
            "a" * 10_000,
            "é" * 10,
        ]:
            tried += 1
            answer = await session.patch(
                "/api/v1/operators/101", json={"name": "pwned"}, headers={b"X-CSRF-Token": value.encode()}
            )
            if found := problem(answer, f"X-CSRF-Token {value!r:.40}", {403, 431}):
                failures.append(found)
        failures += hostile_web.changes(before)
    port = hostile_web.web.service.config.http.port
    token = hostile_web.token.encode()
    raw_cases: list[tuple[str, bytes, bool, set[int | None]]] = [
        ("Host: garbage", b"GET /login HTTP/1.1\r\nHost: \x7f\xff\r\n\r\n", False, {200, 400}),
        ("no Host", b"GET /login HTTP/1.1\r\n\r\n", False, {200, 400}),
        ("Host 10k", b"GET /login HTTP/1.1\r\nHost: " + b"a" * 10_000 + b"\r\n\r\n", False, {200, 400, 431}),
        (
            "100 kB header",
            b"GET /login HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 100_000 + b"\r\n\r\n",
            False,
            {200, 400, 431, None},
        ),
        (
            "2000 headers",
            b"GET /login HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 2000 + b"\r\n",
            False,
            {200, 400, 431},
        ),
        (
            "CL negative",
            b"PATCH /api/v1/operators/101 HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            False,
            {400},
        ),
        (
            "CL not a number",
            b"PATCH /api/v1/operators/101 HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n",
            False,
            {400},
        ),
        (
            "CL twice",
            b"PATCH /api/v1/operators/101 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            b"Content-Length: 20\r\n\r\n{}",
            False,
            {400},
        ),
        (
            "CL and chunked",
            b"PATCH /api/v1/operators/101 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            False,
            {400, 401},
        ),
        (
            "CL larger than body",
            b"PATCH /api/v1/operators/101 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + token
            + b'\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name": "pwned"}',
            True,
            {400, None},
        ),
        (
            "CL smaller than body",
            b"PATCH /api/v1/operators/101 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + token
            + b'\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{"name": "pwned"}',
            False,
            {400},
        ),
        (
            "CL huge",
            b"PUT /api/v1/operators/101/messages/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + token
            + b"\r\nContent-Length: 99999999999999999999\r\n\r\nRIFF",
            False,
            {400, 413},
        ),
        (
            "bad chunk size",
            b"PATCH /api/v1/operators/101 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + token
            + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            False,
            {400, None},
        ),
        ("header without colon", b"GET /login HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", False, {400}),
        ("NUL in header", b"GET /login HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", False, {400}),
        ("method garbage", b"P\x00ST / HTTP/1.1\r\nHost: x\r\n\r\n", False, {400}),
        ("method from the client", b"PROPFIND /api/v1/me HTTP/1.1\r\nHost: x\r\n\r\n", False, {401, 405}),
        ("HTTP/9.9", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", False, {303, 400, 505, None}),
        (
            "absolute URI elsewhere",
            b"GET http://evil.example/api/v1/me HTTP/1.1\r\nHost: x\r\n\r\n",
            False,
            {401, 400, 404},
        ),
    ]
    before = hostile_web.state()
    for name, data, half_close, allowed in raw_cases:
        tried += 1
        raw_answer = await raw_request(port, data, half_close=half_close)
        status = raw_status(raw_answer)
        if status not in allowed or (status is not None and status >= 500):
            failures.append(f"raw {name}: {status} {raw_answer[:120]!r}")
    failures += hostile_web.changes(before)
    # Still serving after all of it.
    async with hostile_web.web.api() as api:
        assert (await api.get("/api/v1/me")).status_code == 200
    tally("headers", tried)
    report(failures, caplog)


async def test_metrics_labels_do_not_grow_with_client_methods(hostile_web: HostileWeb) -> None:
    """Methods a client invents must not become metric labels (one series each: unbounded memory)."""
    port = hostile_web.web.service.config.http.port
    for index in range(30):
        await raw_request(port, f"X{index:04d}Y /healthz HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    async with hostile_web.web.anonymous() as client:
        metrics = (await client.get("/metrics")).text
    invented = re.findall(r'method="X\d{4}Y"', metrics)
    tally("headers", 30)
    assert not invented, f"{len(invented)} label values from invented methods"


# -- login forms -------------------------------------------------------------------------------


async def test_login_forms_refuse_hostile_fields(
    hostile_web: HostileWeb, caplog: pytest.LogCaptureFixture
) -> None:
    """Admin and operator logins: hostile names, passwords, PINs, CSRF tokens, encodings; no session."""
    users = [*HOSTILE_TEXT, "alice\x00", "ALICE", "alice ", " alice", "alicе"]  # the last has a Cyrillic е
    secrets_ = [
        "",
        "\x00",
        PASSWORD + "\x00",
        PASSWORD.upper(),
        "a" * 100_000,
        "' OR '1'='1",
        SEED_PIN + "\n",
    ]
    failures: list[str] = []
    tried = 0
    before = hostile_web.state()
    async with hostile_web.web.anonymous() as client:
        page = await client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        token = csrf[1]

        async def attempt(path: str, what: str, **post: Any) -> None:
            answer = await client.post(path, **post)
            location = answer.headers.get("location", "")
            if found := problem(answer, what, {303, 400, 401, 413, 415, 429}):
                failures.append(found)
            elif answer.status_code == 303 and not location.startswith("/login"):
                failures.append(f"{what}: logged in (redirect to {location!r})")
            if "vs_session" in answer.headers.get(
                "set-cookie", ""
            ) and 'vs_session=""' not in answer.headers.get("set-cookie", ""):
                failures.append(f"{what}: a session cookie was set")

        for user in users:
            tried += 1
            await attempt(
                "/login",
                f"username {user!r:.40}",
                data={"username": user, "password": "wrong", "csrf_token": token},
            )
            await attempt(
                "/login/operator",
                f"extension {user!r:.40}",
                data={"extension": user, "pin": SEED_PIN + "0", "csrf_token": token},
            )
        for secret in secrets_:
            tried += 1
            await attempt(
                "/login",
                f"password {secret!r:.40}",
                data={"username": "alice", "password": secret, "csrf_token": token},
            )
            await attempt(
                "/login/operator",
                f"pin {secret!r:.40}",
                data={"extension": "101", "pin": secret, "csrf_token": token},
            )
        for bad_csrf in ["", "x", token + "x", token[:-1], "\x00", "a" * 10_000]:
            tried += 1
            await attempt(
                "/login",
                f"csrf_token {bad_csrf!r:.40}",
                data={"username": "alice", "password": PASSWORD, "csrf_token": bad_csrf},
            )
        raw_forms: list[tuple[str, bytes]] = [
            ("application/x-www-form-urlencoded", b"username=%zz&password=%&csrf_token=" + token.encode()),
            ("application/x-www-form-urlencoded", b"username=%ff%fe&password=x&csrf_token=" + token.encode()),
            ("application/x-www-form-urlencoded", b"&".join(b"f%d=1" % i for i in range(50))),
            (
                "application/x-www-form-urlencoded",
                b"username=alice&username=bob&password=x&csrf_token=" + token.encode(),
            ),
            ("application/x-www-form-urlencoded", b"username=" + b"a" * 3_000_000),
            (
                "multipart/form-data; boundary=b",
                b'--b\r\nContent-Disposition: form-data; name="username"; '
                b'filename="../../x"\r\n\r\nalice\r\n--b--\r\n',
            ),
            ("multipart/form-data", b"--b\r\n\r\n"),
            (
                "multipart/form-data; boundary=b",
                b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n",
            ),
            (
                "application/json",
                json.dumps({"username": "alice", "password": PASSWORD, "csrf_token": token}).encode(),
            ),
            ("text/plain", b"username=alice"),
        ]
        for content_type, body in raw_forms:
            tried += 1
            await attempt(
                "/login",
                f"{content_type} {body[:50]!r}",
                content=body,
                headers={"Content-Type": content_type},
            )
    failures += hostile_web.changes(before)
    tally("login-forms", tried)
    report(failures, caplog)


# -- /media/<name> -------------------------------------------------------------------------------


async def test_media_names_reach_nothing_but_media(
    hostile_web: HostileWeb, caplog: pytest.LogCaptureFixture
) -> None:
    """Traversal, encodings, case and suffix games under ``/media/``: 404, never another file."""
    svc = hostile_web.web.service
    current = await svc.messages.current("101", 1)
    assert current is not None
    sha = current.sha256
    names = [
        "../voicestatus.db",
        "..%2fvoicestatus.db",
        "%2e%2e%2fvoicestatus.db",
        "%252e%252e%252fvoicestatus.db",
        "..\\voicestatus.db",
        "....//voicestatus.db",
        "/etc/passwd",
        "%2fetc%2fpasswd",
        f"{sha}.WAV",
        f"{sha.upper()}.wav",
        f"{sha}.wav/..",
        f"{sha}.wav%00.txt",
        f"{sha}.wav16x",
        f"{sha}.mp3",
        f"{sha}",
        f"{sha[:-1]}.wav",
        f"{sha}0.wav",
        f"{sha}.wav.wav",
        f"./{sha}.wav",
        f"{sha}.wav;x",
        ".wav",
        "a" * 10_000 + ".wav",
        f"{'０' * 64}.wav",
        f"{sha}.wav\n",
        f"{sha}.wav16/../../voicestatus.db",
        "%00",
        "..",
        ".",
        "~",
        "*.wav",
        "voicestatus.db",
        "tmp",
        f"../media/{sha}.wav",
    ]
    names += generate(hostile_strings(40), 20)
    failures: list[str] = []
    db_head = hostile_web.db_file.read_bytes()[:16]
    before = hostile_web.state()
    port = hostile_web.web.service.config.http.port
    for name in names:
        raw = name if "%" in name or "/" in name else quote(name, safe="")
        for method in ("GET", "HEAD"):
            request = f"{method} /media/{raw} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
            status, body = await raw_exchange(port, request)
            if status is None or status not in {400, 404, 405}:
                failures.append(f"{method} /media/{raw[:70]}: {status} {body[:60]!r}")
            if db_head in body or b"root:" in body:
                failures.append(f"{method} /media/{raw[:70]}: served a file outside the media store")
    ok = await raw_exchange(
        port, f"GET /media/{sha}.wav HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    assert ok[0] == 200, "the real message is served (the test reaches the media route)"
    failures += hostile_web.changes(before)
    tally("media-names", len(names))
    report(failures, caplog)


# -- the UI's operator forms ------------------------------------------------------------------


async def test_operator_page_forms_refuse_hostile_fields(
    hostile_web: HostileWeb, caplog: pytest.LogCaptureFixture
) -> None:
    """``POST /operators/{ext}/action``: bad actions, dates, offsets, names, PINs, statuses change nothing."""
    forms: list[dict[str, str]] = [
        {"action": "nosuch"}, {"action": ""}, {"action": "ON"}, {"action": "on\x00"}, {"action": "a" * 300},
        {"action": "delete", "status": "0"}, {"action": "delete", "status": "../1"},
        {"action": "restore", "status": "١"}, {"action": "delete", "status": ""},
        {"action": "expiry", "expires_at": "9999-12-31T23:59", "tz_offset": "900"},
        {"action": "expiry", "expires_at": "0001-01-01T00:00", "tz_offset": "-900"},
        {"action": "expiry", "expires_at": "2030-01-01T00:00", "tz_offset": "99999"},
        {"action": "expiry", "expires_at": "2030-01-01T00:00", "tz_offset": "1e3"},
        {"action": "expiry", "expires_at": "2030-01-01T00:00+05:00", "tz_offset": "0"},
        {"action": "expiry", "expires_at": "not a date", "tz_offset": "0"},
        {"action": "expiry", "expires_at": "2030-01-01T00:00", "tz_offset": "١٢"},
        {"action": "settings", "active_status": "1", "admin_fields": "1", "name": "A\x00", "enabled": "on"},
        {"action": "settings", "active_status": "1", "admin_fields": "1", "name": "x" * 200, "enabled": "on"},
        {"action": "settings", "active_status": "1", "pin": "١٢٣٤"},
        {"action": "settings", "active_status": "1", "pin": "12"},
        {"action": "settings", "active_status": "1", "pin": "1234\n"},
        {"action": "settings", "active_status": "99"},
        {"action": "settings", "active_status": "../away"},
    ]  # fmt: skip
    failures: list[str] = []
    async with httpx.AsyncClient(base_url=hostile_web.web.base, timeout=30) as session:
        csrf = await login_session(session, {"username": "alice", "password": PASSWORD})
        before = hostile_web.state()
        for form in forms:
            answer = await session.post("/operators/101/action", data={**form, "csrf_token": csrf})
            location = answer.headers.get("location", "")
            if answer.status_code >= 500:
                failures.append(f"form {form!r:.100}: {answer.status_code}")
            elif answer.status_code != 303 or "error=" not in location:
                failures.append(f"form {form!r:.100}: {answer.status_code} to {location!r}, not an error")
        failures += hostile_web.changes(before)
    tally("api-fields", len(forms))
    report(failures, caplog)
