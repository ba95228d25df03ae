"""Decoder bombs built in memory: small files that declare far more audio than they are worth.

Silence compresses to a few bytes per frame whatever its rate or channel
count, so FFmpeg's own encoders make them; WAV headers are written by hand.
"""

from __future__ import annotations

import io
import struct

import av
import av.audio.stream
import numpy as np


def silence(fmt: str, codec: str, rate: int, layout: str, seconds: float, **mux: str) -> bytes:
    """``seconds`` of silence encoded by FFmpeg: a few bytes per frame, whatever the rate or channels."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt, options=mux) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, av.audio.stream.AudioStream)
        channels = stream.codec_context.layout.nb_channels
        step = 960 if "opus" in codec else 4608
        zeros = np.zeros((1, step * channels), np.int16)
        for index in range(round(seconds * rate / step)):
            frame = av.AudioFrame.from_ndarray(zeros, format="s16", layout=layout)
            frame.sample_rate = rate
            frame.pts = index * step
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def without_length(flac: bytes) -> bytes:
    """A FLAC file whose STREAMINFO says "length unknown", as a streamed encoder writes it."""
    data = bytearray(flac)
    assert data[:4] == b"fLaC"
    offset = 8 + 10  # after "fLaC", the block header and the block/frame sizes
    fields = int.from_bytes(data[offset : offset + 8], "big") & ~((1 << 36) - 1)
    data[offset : offset + 8] = fields.to_bytes(8, "big")
    return bytes(data)


def flac_8ch_384k(seconds: float) -> bytes:
    return without_length(silence("flac", "flac", 384_000, "7.1", seconds))


def wav_header(channels: int, rate: int, width: int, data_bytes: int) -> bytes:
    header = b"RIFF" + struct.pack("<I", min(36 + data_bytes, 0xFFFFFFFF)) + b"WAVEfmt "
    header += struct.pack(
        "<IHHIIHH", 16, 1, channels, rate, rate * channels * width, channels * width, 8 * width
    )
    return header + b"data" + struct.pack("<I", data_bytes)
