from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from curation.remux import PacketIndex, copy_span, index_packets, plan_span
from curation.synthetic import GroundTruth


def _frames(path: str | Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray") for f in c.decode(video=0)]


def test_index_matches_decoded_frames(bikes: Path, bikes_cuts: list[int]) -> None:
    index = index_packets(bikes)
    assert index.num_frames == len(_frames(bikes)) == 250
    assert set(bikes_cuts) <= set(index.keyframes) and index.keyframes[0] == 0
    assert sorted(index.decode_order) == list(range(250)) and index.decode_order != list(range(250))
    assert index.seconds(25) == pytest.approx(1.0) and index.seconds(250) == pytest.approx(10.0)


@pytest.mark.parametrize("span", [(30, 76), (40, 76), (100, 120), (242, 250)])
def test_copy_is_bit_exact_and_snapped_before(bikes: Path, tmp_path: Path, span: tuple[int, int]) -> None:
    index = index_packets(bikes)
    plan = plan_span(index, *span)
    assert plan is not None
    a, b = plan
    assert a == max(k for k in index.keyframes if k <= span[0])
    assert a < b <= span[1] and span[1] - b <= 4  # B-frame reordering costs at most a few frames
    copy_span(bikes, tmp_path / "c.mp4", index, a, b)
    clip, full = _frames(tmp_path / "c.mp4"), _frames(bikes)
    assert len(clip) == b - a
    assert all(np.array_equal(x, y) for x, y in zip(clip, full[a:b], strict=True))


def test_snap_after_and_slack(demo_by_name: dict[str, GroundTruth]) -> None:
    truth = demo_by_name["short_shot"]  # fixed GOP, no keyframes at cuts
    index = index_packets(truth.path)
    gop = truth.gop
    start = truth.cuts[1]
    assert start % gop != 0
    assert plan_span(index, start, truth.num_frames, "before")[0] == start // gop * gop
    assert plan_span(index, start, truth.num_frames, "after")[0] == (start // gop + 1) * gop
    near = (start // gop + 1) * gop - 1  # one frame before a keyframe
    assert plan_span(index, near, truth.num_frames, "before", slack=2)[0] == near + 1
    assert plan_span(index, 1, 5, "after") is None  # next keyframe is past the end


def test_copy_rejects_a_plan_the_file_cannot_satisfy(bikes: Path, tmp_path: Path) -> None:
    index = index_packets(bikes)
    fake = PacketIndex([*index.pts, index.pts[-1] + 512], [*index.decode_order, 250], index.keyframes,
                       index.time_base)
    with pytest.raises(ValueError, match="copied"):
        copy_span(bikes, tmp_path / "c.mp4", fake, 242, 251)
