"""Reading videos for motion recovery: PyAV decoding, rotation metadata, constant-rate resampling.

Frames are returned upright (the container's display-matrix rotation is
applied, as players do) and resampled to a constant rate by their
presentation timestamps: for each output time ``t0 + k / fps`` the decoded
frame whose timestamp is nearest is used (frames are repeated or dropped,
never blended), so variable-frame-rate phone videos give evenly spaced frames.

Every problem a user can cause (missing file, corrupt file, no video stream,
codec without a decoder, no frames) raises :class:`~humokit.errors.FileFormatError`
with a one-line message.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from humokit.errors import FileFormatError, InputError


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` learns about a video.

    Attributes:
        path: the file.
        width, height: upright frame size in pixels (after rotation).
        fps: the stream's average frame rate (frames per second).
        duration: seconds covered by the frames (estimate from the container).
        num_frames: frame count reported by the container (0 when unknown).
        rotation: display rotation in degrees (counter-clockwise, multiple of 90).
        codec: decoder name.
    """

    path: Path
    width: int
    height: int
    fps: float
    duration: float
    num_frames: int
    rotation: int
    codec: str


def _open(path: str | Path):  # type: ignore[no-untyped-def]
    import av

    path = Path(path)
    if not path.exists():
        raise FileFormatError(path, "no such file")
    if path.is_dir():
        raise FileFormatError(path, "is a folder, not a video")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise FileFormatError(path, f"not a readable video (corrupt or unknown format: {_short(exc)})") from None
    if not container.streams.video:
        container.close()
        raise FileFormatError(path, "contains no video stream")
    stream = container.streams.video[0]
    ctx = stream.codec_context
    name = getattr(ctx, "name", None) if ctx is not None else None
    if ctx is None or not name or name == "none":
        tag = getattr(stream.codec_context, "codec_tag", None) if ctx is not None else None
        container.close()
        raise FileFormatError(path, f"unsupported video codec{f' {tag!r}' if tag else ''} (no decoder available)")
    stream.thread_type = "AUTO"
    return container, stream


def _short(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc).splitlines()[0][:120]


def _rotation(frame) -> int:  # type: ignore[no-untyped-def]
    rot = getattr(frame, "rotation", 0) or 0
    return int(round(float(rot) / 90.0)) * 90 % 360


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=k)) if k else image


def probe_video(path: str | Path) -> VideoInfo:
    """Open a video, decode its first frame and report its size, rate and rotation.

    Raises:
        FileFormatError: missing/corrupt file, no video stream, no decoder, no frames.
    """
    import av

    container, stream = _open(path)
    try:
        try:
            first = next(container.decode(stream), None)
        except av.error.DecoderNotFoundError:
            raise FileFormatError(path, f"unsupported video codec {stream.codec_context.name!r}") from None
        except av.error.FFmpegError as exc:
            raise FileFormatError(path, f"cannot decode the video ({_short(exc)})") from None
        if first is None:
            raise FileFormatError(path, "contains no frames")
        rot = _rotation(first)
        w, h = (first.height, first.width) if rot in (90, 270) else (first.width, first.height)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if not (math.isfinite(fps) and fps > 0):
            fps = 30.0
        dur = 0.0
        if stream.duration is not None and stream.time_base is not None:
            dur = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            dur = container.duration / 1e6
        return VideoInfo(Path(path), int(w), int(h), fps, dur, int(stream.frames or 0), rot, stream.codec_context.name)
    finally:
        container.close()


def _decoded(path: str | Path) -> Iterator[tuple[float, "object"]]:
    """(time seconds, av.VideoFrame) for each decodable frame, in presentation order."""
    import av

    container, stream = _open(path)
    tb = float(stream.time_base) if stream.time_base else None
    rate = float(stream.average_rate) if stream.average_rate else 30.0
    n = 0
    last_t = -math.inf
    try:
        it = container.decode(stream)
        while True:
            try:
                frame = next(it)
            except StopIteration:
                break
            except av.error.DecoderNotFoundError:
                raise FileFormatError(path, f"unsupported video codec {stream.codec_context.name!r}") from None
            except av.error.FFmpegError as exc:
                if n == 0:
                    raise FileFormatError(path, f"cannot decode the video ({_short(exc)})") from None
                break  # truncated tail: keep what decoded
            if frame.pts is not None and tb is not None:
                t = frame.pts * tb
            else:
                t = n / rate
            if t <= last_t:  # out-of-order or duplicate timestamps: keep time monotone
                t = last_t + 1e-6
            last_t = t
            n += 1
            yield t, frame
        if n == 0:
            raise FileFormatError(path, "contains no frames")
    finally:
        container.close()


def iter_frames(
    path: str | Path,
    *,
    fps: float | None = None,
    max_side: int | None = None,
) -> Iterator[tuple[int, float, np.ndarray]]:
    """Decode a video as upright RGB frames at a constant rate.

    Args:
        path: video file.
        fps: output rate (default: the stream's average rate).
        max_side: downscale frames whose longer side exceeds this (pixels);
            ``None`` keeps the full resolution.
    Yields:
        ``(index, time seconds from the first frame, image (H, W, 3) uint8)``.
    """
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise InputError(f"fps must be positive, got {fps}")
    if fps is None:
        fps = probe_video(path).fps
    step = 1.0 / fps
    src_rate = probe_video(path).fps
    prev: tuple[float, object] | None = None
    t0: float | None = None
    k = 0

    def convert(frame) -> np.ndarray:  # type: ignore[no-untyped-def]
        rot = _rotation(frame)
        w, h = frame.width, frame.height
        if max_side is not None and max(w, h) > max_side:
            s = max_side / max(w, h)
            frame = frame.reformat(width=max(2, int(round(w * s))), height=max(2, int(round(h * s))))
        return _upright(frame.to_ndarray(format="rgb24"), rot)

    for t, frame in _decoded(path):
        if t0 is None:
            t0 = t
        t -= t0
        while True:
            target = k * step
            if t < target:
                break
            # the current frame is at or after the target: choose the nearer of prev / current
            if prev is not None and (target - prev[0]) < (t - target):
                yield k, target, convert(prev[1])
            else:
                yield k, target, convert(frame)
            k += 1
        prev = (t, frame)
    if prev is not None:  # the last frame lasts one source frame interval
        t_end = prev[0] + 1.0 / src_rate
        while k * step < t_end - 1e-6:
            yield k, k * step, convert(prev[1])
            k += 1
