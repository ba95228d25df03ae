"""The AMI client against a local fake AMI server speaking the line protocol."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest

from support import wait_until
from voicestatus.asterisk.ami import (
    AmiActionError,
    AmiAuthError,
    AmiClient,
    AmiError,
    AmiUnreachable,
)
from voicestatus.asterisk.astdb import AmiAstDb, AstDbChange
from voicestatus.errors import ConfigError, VoiceStatusError

SECRET = "s3cret-ami"
DIALPLAN_OUTPUT = ["[ Context 'voicestatus-menu' created by 'pbx_config' ]", "-= 1 extension =-"]


class FakeAmi:
    """Enough of Asterisk's manager: Login, Logoff, Command, DBGet/DBPut/DBDel.

    Like Asterisk it sends an event nobody asked for before each answer, and
    it can be told to stay silent or to hang up mid-answer.
    """

    def __init__(self) -> None:
        self.db: dict[tuple[str, str], str] = {("op_alert", "101"): "true"}
        self.received: list[dict[str, str]] = []
        self.raw = b""
        self.banner = b"Asterisk Call Manager/9.0.0\r\n"
        self.silent_on: str | None = None
        self.hang_up_on: str | None = None
        self.can_command = True
        self.connections = 0
        self.open_connections = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"tcp://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def actions(self) -> list[str]:
        return [a["Action"] for a in self.received]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_connections += 1
        try:
            writer.write(self.banner)
            while (action := await self._read_action(reader)) is not None:
                name = action.get("Action", "")
                if name == self.silent_on:
                    await reader.read()  # say nothing until the client goes away
                    return
                if name == self.hang_up_on:
                    writer.write(b"Response: Success\r\nActionID: " + action["ActionID"].encode() + b"\r\n")
                    return
                writer.write(b"Event: PeerStatus\r\nPeer: PJSIP/101\r\n\r\n")
                for packet in self._answer(action):
                    head = [f"{k}: {v}" for k, v in packet]
                    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
                await writer.drain()
                if name == "Logoff" or (name == "Login" and action.get("Secret") != SECRET):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open_connections -= 1
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _read_action(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        action: dict[str, str] = {}
        while True:
            line = await reader.readline()
            self.raw += line
            if not line:
                return None
            text = line.decode().rstrip("\r\n")
            if not text:
                self.received.append(action)
                return action
            key, _, value = text.partition(": ")
            action[key] = value

    def _answer(self, action: dict[str, str]) -> list[list[tuple[str, str]]]:
        name, aid = action.get("Action", ""), ("ActionID", action.get("ActionID", ""))
        ok, error = ("Response", "Success"), ("Response", "Error")
        key = (action.get("Family", ""), action.get("Key", ""))
        if name == "Login":
            good = action.get("Username") == "vs" and action.get("Secret") == SECRET
            message = "Authentication accepted" if good else "Authentication failed"
            return [[ok if good else error, aid, ("Message", message)]]
        if name == "Logoff":
            return [[("Response", "Goodbye"), aid, ("Message", "Thanks for all the fish.")]]
        if name == "Command":
            if not self.can_command:
                return [[error, aid, ("Message", "Permission denied")]]
            if action["Command"] == "dialplan show nosuch":
                no = ("Output", "There is no existence of 'nosuch' context")
                return [[error, aid, ("Message", "Command output follows"), no]]
            out = [("Output", line) for line in DIALPLAN_OUTPUT]
            return [[ok, aid, ("Message", "Command output follows"), *out]]
        if name == "DBPut":
            self.db[key] = action["Val"]
            return [[ok, aid, ("Message", "Updated database successfully")]]
        if name == "DBDel":
            if self.db.pop(key, None) is None:
                return [[error, aid, ("Message", "Database entry could not be deleted")]]
            return [[ok, aid, ("Message", "Key deleted successfully")]]
        if name == "DBGet":
            if key not in self.db:
                return [[error, aid, ("Message", "Database entry not found")]]
            return [
                [ok, aid, ("EventList", "start"), ("Message", "Result will follow")],
                [("Event", "DBGetResponse"), ("Family", key[0]), ("Key", key[1]), ("Val", self.db[key]), aid],
                [("Event", "DBGetComplete"), aid, ("EventList", "Complete"), ("ListItems", "1")],
            ]
        return [[error, aid, ("Message", "Invalid/unknown command")]]


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    fake = FakeAmi()
    await fake.start()
    yield fake
    await fake.stop()


def client(fake: FakeAmi, password: str = SECRET, timeout: float = 2.0) -> AmiClient:
    return AmiClient(fake.url, "vs", password, timeout=timeout)


async def test_command_returns_output_and_logs_off(ami: FakeAmi) -> None:
    async with client(ami) as conn:
        assert await conn.command("dialplan", "show", "voicestatus-menu") == DIALPLAN_OUTPUT
        assert await conn.command("dialplan", "show", "nosuch") == [
            "There is no existence of 'nosuch' context"
        ]
    assert ami.actions() == ["Login", "Command", "Command", "Logoff"]
    assert ami.received[0]["Events"] == "off"
    ids = [a["ActionID"] for a in ami.received]
    assert len(set(ids)) == len(ids), "every action carries its own ActionID"
    await wait_until(lambda: ami.open_connections == 0, 2, "the connection to close")


async def test_astdb_get_put_delete(ami: FakeAmi) -> None:
    async with client(ami) as conn:
        assert await conn.db_get("op_alert", "101") == "true"
        assert await conn.db_get("op_alert", "102") is None
        await conn.db_put("voicestatus", "101", "voicestatus/101")
        assert await conn.db_get("voicestatus", "101") == "voicestatus/101"
        assert await conn.db_del("voicestatus", "101") is True
        assert await conn.db_del("voicestatus", "101") is False
    assert ("voicestatus", "101") not in ami.db


async def test_wrong_secret_is_an_auth_error_and_never_logged(
    ami: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AmiAuthError) as caught:
        async with client(ami, password="wrong-" + SECRET):
            pass
    assert isinstance(caught.value, VoiceStatusError)
    assert caught.value.error_id == "asterisk-ami-unauthorized"
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(client(ami))
    async with client(ami) as conn:
        await conn.command("core", "show", "version")
    assert SECRET not in caplog.text
    assert ami.raw.count(SECRET.encode()) == 2, "the secret is sent once per login and nowhere else"


async def test_refused_command_is_an_action_error(ami: FakeAmi) -> None:
    ami.can_command = False
    async with client(ami) as conn:
        with pytest.raises(AmiActionError, match="write = command"):
            await conn.command("dialplan", "show", "voicestatus-menu")
        with pytest.raises(AmiActionError, match="unknown"):
            await conn.action("NoSuchAction")


async def test_line_breaks_never_reach_the_wire(ami: FakeAmi) -> None:
    async with client(ami) as conn:
        with pytest.raises(ValueError, match="one line"):
            await conn.db_put("voicestatus", "101", "x\r\nAction: Command")
        with pytest.raises(ValueError, match="unsafe"):
            await conn.command("database", "show; core stop now")
    assert ami.actions() == ["Login", "Logoff"]
    with pytest.raises(ConfigError):
        AmiClient(ami.url, "vs", "two\nlines")
    with pytest.raises(ConfigError, match="tcp://host:port"):
        AmiClient("http://127.0.0.1:5038", "vs", SECRET)


async def test_silence_times_out_as_unreachable(ami: FakeAmi) -> None:
    ami.silent_on = "Command"
    async with client(ami, timeout=0.3) as conn:
        with pytest.raises(AmiUnreachable) as caught:
            await conn.command("core", "show", "version")
    assert caught.value.error_id == "asterisk-ami-unreachable"
    assert caught.value.status_code == 503
    await wait_until(lambda: ami.open_connections == 0, 2, "the connection to close")


async def test_hang_up_mid_answer_is_unreachable(ami: FakeAmi) -> None:
    ami.hang_up_on = "DBPut"
    async with client(ami) as conn:
        with pytest.raises(AmiUnreachable):
            await conn.db_put("voicestatus", "101", "voicestatus/101")
        with pytest.raises(AmiUnreachable, match="not connected"):
            await conn.db_get("op_alert", "101")


async def test_not_an_ami_server_or_nothing_there(ami: FakeAmi) -> None:
    ami.banner = b"HTTP/1.1 400 Bad Request\r\n"
    with pytest.raises(AmiUnreachable, match="ami_url"):
        async with client(ami):
            pass
    url = ami.url
    await ami.stop()
    with pytest.raises(AmiError, match="unreachable"):
        async with AmiClient(url, "vs", SECRET, timeout=2.0):
            pass


async def test_astdb_changes_apply_in_order_over_one_login(ami: FakeAmi) -> None:
    ami.db[("voicestatus", "102")] = "voicestatus/102"
    astdb = AmiAstDb(ami.url, "vs", SECRET)
    await astdb.apply(
        [
            AstDbChange("voicestatus", "101", "voicestatus/101"),
            AstDbChange("voicestatus", "102", None),
            AstDbChange("voicestatus", "103", None),  # already gone: fine
        ]
    )
    assert ami.db[("voicestatus", "101")] == "voicestatus/101"
    assert ("voicestatus", "102") not in ami.db
    assert ami.actions() == ["Login", "DBPut", "DBDel", "DBDel", "Logoff"]
    assert ami.connections == 1
    await astdb.apply([])
    assert ami.connections == 1, "nothing to change, no login"
    with pytest.raises(ValueError, match="unsafe"):
        await astdb.apply([AstDbChange("voicestatus", "101", "a b")])
