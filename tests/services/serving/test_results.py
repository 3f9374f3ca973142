"""ResultStore on both object stores: keys per job and attempt, downloads, deletion, listing."""

from __future__ import annotations

from pathlib import Path

from services.serving.results import FRAMES, VIDEO, ResultStore
from vidforge.store import ObjectStore


def test_put_open_list_delete(any_store: ObjectStore, tmp_path: Path) -> None:
    results = ResultStore(any_store, "/serving/jobs/")
    src = tmp_path / "v.mp4"
    src.write_bytes(b"mp4 bytes")
    video = results.put_file(src, results.key("job-a", 1, VIDEO))
    frames = results.put_bytes(b"zip bytes", results.key("job-a", 1, FRAMES))
    results.put_bytes(b"other", results.key("job-b", 2, VIDEO))
    assert video == "serving/jobs/job-a/a1/video.mp4" and frames.endswith("job-a/a1/frames.zip")
    found = results.open(video)
    assert (found.path.read_bytes() if found.path else found.data) == b"mp4 bytes"
    assert (found.path is not None) == (any_store.local_path(video) is not None)
    assert sorted(results.job_ids()) == ["job-a", "job-b"]
    assert results.delete_job("job-a") == 2
    assert results.job_ids() == ["job-b"]


def test_open_missing_is_file_not_found(any_store: ObjectStore) -> None:
    import pytest

    with pytest.raises(FileNotFoundError):
        ResultStore(any_store, "p").open("p/job-x/a1/video.mp4")
