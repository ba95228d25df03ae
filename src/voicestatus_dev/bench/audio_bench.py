"""How long the audio work behind a new message takes, for 60 s of audio.

Three inputs, as messages arrive in practice: a phone recording (the 8 kHz
WAV Asterisk writes), and uploads as MP3 and WebM/Opus from a browser. Each
goes through exactly what the product runs on accept (decode, trim,
loudness, 8 and 16 kHz variants); the median of a few runs is reported.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable

import av
import numpy as np

from voicestatus.audio.decode import decode_audio, read_wav
from voicestatus.audio.pcm import Pcm
from voicestatus.audio.process import ProcessingSettings, process_recording
from voicestatus.audio.wav import encode_wav

SECONDS = 60.0
REPEATS = 5


def speech_like(seconds: float, rate: int) -> Pcm:
    """Voice-band bursts of about a second with short pauses, like someone talking."""
    t = np.arange(round(seconds * rate)) / rate
    carrier = sum(np.sin(2 * np.pi * f * t) for f in (180.0, 410.0, 690.0, 1270.0, 2200.0))
    gate = (np.sin(2 * np.pi * 0.8 * t) > -0.6).astype(np.float64)
    rng = np.random.default_rng(7)
    samples = 0.12 * carrier * gate + 0.002 * rng.standard_normal(len(t))
    return Pcm(samples.astype(np.float32), rate)


def encode(pcm: Pcm, container: str, codec: str) -> bytes:
    """``pcm`` encoded as a browser or a phone app would upload it."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=pcm.rate, layout="mono")
        if not isinstance(stream, av.AudioStream):
            raise TypeError(f"{codec} is not an audio codec")
        samples = (np.clip(pcm.samples, -1, 1) * 32767).astype(np.int16)
        step = 960
        for start in range(0, len(samples), step):
            frame = av.AudioFrame.from_ndarray(
                samples[None, start : start + step], format="s16", layout="mono"
            )
            frame.sample_rate = pcm.rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def _median_ms(work: Callable[[], object], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        timings.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(timings)


def run_audio_bench(seconds: float = SECONDS, repeats: int = REPEATS) -> dict[str, float]:
    """Milliseconds per 60 s message for each input kind."""
    settings = ProcessingSettings()
    recording = encode_wav(speech_like(seconds, 8000).samples, 8000)
    upload = speech_like(seconds, 48000)
    mp3 = encode(upload, "mp3", "mp3")
    webm = encode(upload, "webm", "libopus")
    return {
        "recording_wav8k_ms": _median_ms(lambda: process_recording(read_wav(recording), settings), repeats),
        "upload_mp3_ms": _median_ms(lambda: process_recording(decode_audio(mp3), settings), repeats),
        "upload_webm_opus_ms": _median_ms(lambda: process_recording(decode_audio(webm), settings), repeats),
    }
