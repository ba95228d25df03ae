"""The media store: content-addressed, atomic, and closed to hostile names."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest

from voicestatus.audio import ProcessedAudio, encode_wav
from voicestatus.errors import InvalidInput
from voicestatus.storage.media import MediaNotFound, MediaStore, MediaStoreError
from voicestatus_dev.analysis import tone


def message(freq: float = 1000, seconds: float = 1.0) -> ProcessedAudio:
    wav8k = encode_wav(tone(freq, seconds, rate=8000).samples, 8000)
    wav16k = encode_wav(tone(freq, seconds, rate=16000).samples, 16000)
    return ProcessedAudio(
        sha256=hashlib.sha256(wav8k).hexdigest(),
        wav8k=wav8k,
        wav16k=wav16k,
        duration=seconds,
        talk_duration=seconds,
        loudness_lufs=-20.0,
        peak_dbfs=-6.0,
    )


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


def test_put_writes_both_variants_under_their_sha(store: MediaStore) -> None:
    audio = message()

    store.put(audio)

    sha = audio.sha256
    assert store.path(sha, "wav") == store.root / sha[:2] / f"{sha}.wav"
    assert store.path(sha, "wav").read_bytes() == audio.wav8k
    assert store.path(sha, "wav16").read_bytes() == audio.wav16k
    assert store.exists(sha)
    assert all_files(store.root) == [store.path(sha, "wav"), store.path(sha, "wav16")]
    assert list(store.tmp_dir.iterdir()) == []


def test_put_is_idempotent(store: MediaStore) -> None:
    audio = message()
    store.put(audio)
    inode = store.path(audio.sha256, "wav").stat().st_ino

    store.put(audio)

    assert store.path(audio.sha256, "wav").stat().st_ino == inode
    assert len(all_files(store.root)) == 2


def test_failed_write_leaves_neither_a_partial_file_nor_a_temp_file(
    store: MediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)

    with pytest.raises(MediaStoreError, match="No space left"):
        store.put(message())

    assert all_files(store.root) == []


def test_readers_never_see_a_partial_file(store: MediaStore) -> None:
    messages = [message(300 + 10 * i, seconds=3.0) for i in range(20)]
    expected = {store.path(m.sha256, "wav"): len(m.wav8k) for m in messages}
    torn: list[Path] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for path, size in expected.items():
                try:
                    seen = path.stat().st_size
                except FileNotFoundError:
                    continue
                if seen != size:
                    torn.append(path)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for audio in messages:
            store.put(audio)
    finally:
        done.set()
        watcher.join(timeout=10)

    assert torn == []
    assert all(store.exists(m.sha256) for m in messages)


def test_delete(store: MediaStore) -> None:
    audio = message()
    store.put(audio)

    store.delete(audio.sha256)
    store.delete(audio.sha256)

    assert not store.exists(audio.sha256)
    assert all_files(store.root) == []


@pytest.mark.parametrize(
    "bad",
    [
        "../x",
        "../" + "a" * 61,
        "A" * 64,
        "a" * 63,
        "a" * 65,
        "a" * 64 + "\n",
        "g" * 64,
        "",
        "/etc/passwd",
    ],
)
def test_path_refuses_anything_but_a_lowercase_sha256(store: MediaStore, bad: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        store.path(bad, "wav")
    assert caught.value.status_code == 400
    with pytest.raises(InvalidInput):
        store.exists(bad)
    with pytest.raises(InvalidInput):
        store.delete(bad)


def test_path_refuses_unknown_formats(store: MediaStore) -> None:
    with pytest.raises(InvalidInput):
        store.path("a" * 64, "mp3")  # type: ignore[arg-type]


def test_check_writable(store: MediaStore) -> None:
    store.check_writable()
    assert list(store.tmp_dir.iterdir()) == []

    store.tmp_dir.rmdir()
    store.tmp_dir.write_text("not a directory")
    with pytest.raises(MediaStoreError, match="not writable") as caught:
        store.check_writable()
    assert caught.value.error_id == "media-store-error"


def test_root_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")

    with pytest.raises(MediaStoreError, match="Cannot create the media directory"):
        MediaStore(tmp_path / "file" / "media")


def test_mirror_writes_and_removes_the_operator_file(store: MediaStore, tmp_path: Path) -> None:
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    first, second = message(440), message(1000)
    store.put(first)
    store.put(second)
    target = sounds / "voicestatus" / "101.wav"

    store.mirror(sounds, "101", first.sha256)
    assert target.read_bytes() == first.wav8k
    assert stat.S_IMODE(target.stat().st_mode) == 0o644

    store.mirror(sounds, "101", second.sha256)
    assert target.read_bytes() == second.wav8k

    store.mirror(sounds, "101", None)
    store.mirror(sounds, "101", None)
    assert all_files(sounds) == []


@pytest.mark.parametrize(
    "extension",
    ["../101", "101/../../x", "", "1" * 21, "10 1", "101\n", "١٠١", "*600", "-1", "101.wav"],
)
def test_mirror_refuses_hostile_extensions(store: MediaStore, tmp_path: Path, extension: str) -> None:
    audio = message()
    store.put(audio)

    for sha in (audio.sha256, None):
        with pytest.raises(InvalidInput):
            store.mirror(tmp_path, extension, sha)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["media"]


def test_mirror_of_unknown_media_is_not_found(store: MediaStore, tmp_path: Path) -> None:
    with pytest.raises(MediaNotFound):
        store.mirror(tmp_path, "101", "b" * 64)


def test_mirror_into_a_missing_sounds_dir_says_how_to_fix_it(store: MediaStore, tmp_path: Path) -> None:
    audio = message()
    store.put(audio)

    with pytest.raises(MediaStoreError, match="sounds_dir"):
        store.mirror(tmp_path / "nowhere", "101", audio.sha256)


def test_stored_file_is_byte_identical_to_what_was_hashed(store: MediaStore) -> None:
    audio = message()
    store.put(audio)

    data = store.path(audio.sha256, "wav").read_bytes()

    assert hashlib.sha256(data).hexdigest() == audio.sha256
    assert np.frombuffer(data[44:], dtype="<i2").size == 8000
