"""Seeking is a shortcut, never a dependency: what every curation reader does where a seek fails or misses.

FFmpeg seeks with an index: Matroska's Cues (or the keyframe flags of the blocks read
so far), mp4's ``moov``, FLV's keyframe metadata. Files written by streaming muxers,
cameras and screen recorders often have none, and FFmpeg then answers a seek with an
error (EPERM, "Operation not permitted", for a Matroska file without Cues or keyframe
flags, or an FLV file asked for a time before its first keyframe) or lands somewhere
else than asked (MPEG-TS seeks by decode time and lands late; ASF and RealMedia land
on an earlier keyframe). Such files are valid, and every frame of them decodes.

So every reader in curation that seeks — the segment-parallel decoder
(:mod:`curation.media.decode`), stream-copy clipping (:mod:`curation.media.remux`) and re-encoding
(:mod:`curation.media.reencode`) — seeks with :func:`seek_keyframe`, reads forward from
wherever the seek lands, picks frames or packets by their timestamps, and when the seek
fails or landed past the first one it wants, reads the file again from the start (a new
container: after a failed seek a demuxer's position is undefined). Reading from the
start costs time, never frames, so the result is that of a seekable copy of the file.
The probe (:mod:`curation.stages.probe`) and the clip frame sampler (:mod:`curation.media.frames`)
do not seek at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import av

from vidforge.logging import get_logger

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.stream import VideoStream

log = get_logger(__name__)


def seek_keyframe(container: InputContainer, stream: VideoStream, pts: int) -> bool:
    """Seek ``container`` to the keyframe at or before ``pts`` (in ``stream.time_base``) of ``stream``.

    The demuxer may land earlier or later than asked (see the module docstring): the caller
    reads forward and checks what it gets.

    Returns:
        True when the demuxer seeked; False when it refused (an FFmpeg or OS error: no index).
        After False the container's position is undefined: read the file from a new container.
    """
    try:
        container.seek(pts, stream=stream, backward=True, any_frame=False)
    except (av.FFmpegError, OSError) as e:
        log.info("cannot seek: reading from the start instead", file=container.name, pts=pts, error=str(e))
        return False
    return True
