from __future__ import annotations

from pathlib import Path

from curation.items import ClipItem, Item
from curation.stages.upload import UploadStage, clip_key
from vidforge.store import LocalStore


def test_upload_puts_clips_under_the_dataset_prefix(tmp_path: Path) -> None:
    local = tmp_path / "c.mp4"
    local.write_bytes(b"clip-bytes")
    store = LocalStore(tmp_path / "store")
    clip = ClipItem(clip_id="abc", source_id="s", source_uri="", source_path="", span_start=0, span_end=1,
                    fps=24.0, width=1, height=1, clip_path=str(local))
    stage = UploadStage(store.settings(), "datasets/d/v1")
    stage.setup()
    stage.process(list[Item]([clip]))
    assert clip_key("datasets/d/v1", "abc") == "datasets/d/v1/clips/abc.mp4"
    assert clip.uri == store.uri("datasets/d/v1/clips/abc.mp4")
    assert store.get_bytes("datasets/d/v1/clips/abc.mp4") == b"clip-bytes"
