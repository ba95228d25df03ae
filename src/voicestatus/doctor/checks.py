"""``voicestatus doctor``: every check an admin wants before going live.

Each check answers one question, and when the answer is no it says what to
do about it. Checks only look: nothing is created or changed (the database
file in particular is never created by asking whether it is current).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from voicestatus.ari.client import AriClient
from voicestatus.asterisk.ami import AmiClient
from voicestatus.asterisk.dialplan_text import MENU_CONTEXT, UNAVAILABLE_CONTEXT
from voicestatus.asterisk.sounds import ALL_SOUNDS
from voicestatus.config import Config
from voicestatus.doctor import freepbx_check, probe, storage_checks
from voicestatus.doctor.findings import Finding
from voicestatus.errors import AriAuthError, AriError, AriNotFound, VoiceStatusError
from voicestatus.web.media import media_url

log = logging.getLogger(__name__)

MEDIA_MODULE = "res_http_media_cache.so"
# What the AMI user needs: Command (doctor, import-legacy) is class "command";
# DBGet/DBPut/DBDel (the AstDB mirror) are class "system".
AMI_RIGHTS = "read = system,command and write = system,command"
AMI_FIX = (
    "check [asterisk] ami_url, ami_username and ami_password against the user in "
    f"/etc/asterisk/manager_custom.conf ({AMI_RIGHTS}; voicestatus install --print shows it) "
    "and that Asterisk is running"
)
# A failing check always says what to do; these apply when a check fails with an error
# (a server down, a refused login) rather than with a finding of its own.
FALLBACK_FIXES = {
    "ari": "check [ari] url, username and password, and that Asterisk and its HTTP server are running",
    "app": "start the service: systemctl start voicestatus (or voicestatus serve)",
    "media-module": f"asterisk -rx 'module load {MEDIA_MODULE}'",
    "public-url": "set [http] public_url to an address the Asterisk host reaches",
    "dialplan": AMI_FIX,
    "prompts": "check that Asterisk is running and ARI answers (see 'ari')",
    "database": "check [database] url and that the database server is running",
    "media-store": "check [media] dir: it must exist and be writable by the service",
}


def languages(config: Config) -> list[str]:
    """The prompt languages in use: those the status catalogue names, English always."""
    found = {"en"}
    for status in config.statuses:
        found |= set(status.names)
    return sorted(found)


class Doctor:
    """Runs the checks against one configuration."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.ari = AriClient(config.ari.url, config.ari.username, config.ari.password, timeout=5)
        self.ari_ok = False
        self.running = False

    async def run(self) -> list[Finding]:
        findings = [Finding("config", "ok", "configuration is valid")]
        steps: list[Callable[[], Awaitable[Finding]]] = [
            self.check_ari, self.check_app, self.check_media_module, self.check_public_url,
            self.check_dialplan, self.check_prompts, self.check_freepbx, self.check_database,
            self.check_media_store,
        ]  # fmt: skip
        try:
            for step in steps:
                name = step.__name__[6:].replace("_", "-")
                try:
                    finding = await step()
                except VoiceStatusError as exc:
                    finding = Finding(name, "fail", exc.message)
                if finding.status != "ok" and not finding.fix:
                    fix = FALLBACK_FIXES.get(finding.check, "fix what the detail says, then run doctor again")
                    finding = Finding(finding.check, finding.status, finding.detail, fix)
                findings.append(finding)
        finally:
            await self.ari.aclose()
        return findings

    async def check_ari(self) -> Finding:
        fix_auth = "set [ari] username/password to a user in ari.conf (voicestatus install --print)"
        try:
            info = await self.ari.asterisk_info()
        except AriAuthError:
            return Finding(
                "ari", "fail", f"Asterisk at {self.config.ari.url} refused the credentials", fix_auth
            )
        except AriError as exc:
            return Finding(
                "ari", "fail", exc.message,
                "check [ari] url; in http.conf: enabled = yes and bindaddr/bindport as in the url",
            )  # fmt: skip
        self.ari_ok = True
        return Finding(
            "ari", "ok", f"Asterisk {info.system.version if info.system else ''} at {self.config.ari.url}"
        )

    def _needs_ari(self, name: str) -> Finding | None:
        return (
            None if self.ari_ok else Finding(name, "fail", "skipped: ARI is not reachable", "fix 'ari' first")
        )

    async def check_app(self) -> Finding:
        if (skip := self._needs_ari("app")) is not None:
            return skip
        app = self.config.ari.app
        try:
            await self.ari.get_application(app)
        except AriNotFound:
            return Finding(
                "app", "warn", f"Stasis app {app!r} is not registered: the service is not running",
                "start it: systemctl start voicestatus (or voicestatus serve)",
            )  # fmt: skip
        self.running = True
        return Finding("app", "ok", f"Stasis app {app!r} is registered (the service is running)")

    async def check_media_module(self) -> Finding:
        if (skip := self._needs_ari("media-module")) is not None:
            return skip
        modules = await self.ari.list_modules()
        status = next((m.get("status", "") for m in modules if m.get("name") == MEDIA_MODULE), None)
        if status is not None and str(status).lower() == "running":
            return Finding("media-module", "ok", f"{MEDIA_MODULE} is loaded")
        return Finding(
            "media-module", "fail", f"{MEDIA_MODULE} is not loaded, so Asterisk cannot play our messages",
            f"asterisk -rx 'module load {MEDIA_MODULE}' and make sure modules.conf does not noload it",
        )  # fmt: skip

    async def check_public_url(self) -> Finding:
        if (skip := self._needs_ari("public-url")) is not None:
            return skip
        base = self.config.http.public_url.rstrip("/")
        fix = (
            "set [http] public_url to an address the Asterisk host reaches (and [http] listen "
            "to an interface it arrives on); check firewalls"
        )
        a = self.config.ari
        if self.running:
            sample = _stored_media(Path(self.config.media.dir))
            if sample is None:
                return Finding(
                    "public-url", "warn", "no message stored yet to probe with", "record one, run again"
                )
            url = media_url(sample, base=base)
            error = await probe.play_probe(a.url, a.username, a.password, url)
        else:
            url = base + probe.PROBE_PATH
            try:
                async with probe.probe_server(self.config.http.host, self.config.http.port):
                    error = await probe.play_probe(a.url, a.username, a.password, url)
            except OSError as exc:
                return Finding(
                    "public-url", "fail", f"cannot listen on {self.config.http.listen}: {exc.strerror}",
                    "free the port or change [http] listen",
                )  # fmt: skip
        if error:
            return Finding("public-url", "fail", f"Asterisk could not play {url}: {error}", fix)
        return Finding("public-url", "ok", f"Asterisk fetched and played {url}")

    async def check_dialplan(self) -> Finding:
        asterisk = self.config.asterisk
        if not asterisk.ami_username:
            return Finding(
                "dialplan", "warn", "not checked: no AMI user configured",
                f"set [asterisk] ami_username/ami_password (a manager_custom.conf user with {AMI_RIGHTS})",
            )  # fmt: skip
        missing = []
        async with AmiClient.from_config(asterisk) as ami:
            for context in (MENU_CONTEXT, UNAVAILABLE_CONTEXT):
                output = " ".join(await ami.command("dialplan", "show", context))
                if "There is no existence" in output or f"'{context}'" not in output:
                    missing.append(context)
        if missing:
            return Finding(
                "dialplan", "fail", f"context(s) not loaded: {', '.join(missing)}",
                "FreePBX: voicestatus freepbx dialplan && fwconsole reload; plain Asterisk: "
                "voicestatus dialplan -o /etc/asterisk/voicestatus.conf, #include it, dialplan reload",
            )  # fmt: skip
        return Finding("dialplan", "ok", f"{MENU_CONTEXT} and {UNAVAILABLE_CONTEXT} are loaded")

    async def check_prompts(self) -> Finding:
        if (skip := self._needs_ari("prompts")) is not None:
            return skip
        wanted = languages(self.config)
        sounds = list(ALL_SOUNDS)

        async def langs(sound: str) -> set[str]:
            try:
                data = (await self.ari.request("GET", f"/sounds/{quote(sound, safe='')}")).json()
            except AriNotFound:
                return set()
            return {str(f.get("language", "")) for f in data.get("formats", [])}

        found = await asyncio.gather(*(langs(s) for s in sounds))
        missing = {
            lang: [s for s, have in zip(sounds, found, strict=True) if lang not in have] for lang in wanted
        }
        bad = {lang: names for lang, names in missing.items() if names}
        if bad:
            detail = "; ".join(f"{lang}: {len(n)} missing ({', '.join(n[:4])}...)" for lang, n in bad.items())
            pkgs = " ".join(f"asterisk-core-sounds-{lang}-wav" for lang in bad)
            return Finding(
                "prompts", "fail", detail,
                f"install the core sounds ({pkgs}, or from downloads.asterisk.org) into the sounds dir",
            )  # fmt: skip
        return Finding("prompts", "ok", f"{len(sounds)} prompts present in {', '.join(wanted)}")

    async def check_freepbx(self) -> Finding:
        return await freepbx_check.check_freepbx(self.config)

    async def check_database(self) -> Finding:
        return await storage_checks.check_database(self.config)

    async def check_media_store(self) -> Finding:
        return await storage_checks.check_media_store(self.config)


def _stored_media(root: Path) -> str | None:
    if not root.is_dir():
        return None
    for path in root.glob("??/*.wav"):
        return path.stem
    return None
