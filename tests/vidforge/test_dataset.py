from pathlib import Path

import pyarrow as pa
import pytest

from vidforge.dataset import (
    CLIP_FIELDS,
    CLIP_SCHEMA,
    DatasetInfo,
    Status,
    load_dataset,
    motion_bucket,
    table_to_parquet_bytes,
    write_dataset_info,
)
from vidforge.store import LocalStore


def _row(i: int, status: Status) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(CLIP_FIELDS)
    row.update(clip_id=f"c{i}", source_id="s", start_frame=0, end_frame=10, status=status.value, reason="")
    return row


def test_unpublished_version_is_not_readable(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put_bytes("datasets/d/v1/manifest.parquet", b"partial")
    with pytest.raises(FileNotFoundError, match="not published"):
        load_dataset(store, "d", "v1")


def test_published_version_roundtrips(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    rows = [_row(0, Status.KEPT), _row(1, Status.FILTERED), _row(2, Status.KEPT)]
    table = pa.Table.from_pylist(rows, schema=CLIP_SCHEMA)
    store.put_bytes("datasets/d/v1/manifest.parquet", table_to_parquet_bytes(table))
    info = DatasetInfo(
        name="d", version="v1", created_at="now", inputs=1, clips_in=3, clips_kept=2,
        clips_filtered=1, clips_quarantined=0, sources_quarantined=0, motion_bucket_edges=[0.1, 0.5],
    )
    write_dataset_info(store, info)
    ds = load_dataset(store, "d", "v1")
    assert ds.info == info
    assert list(ds.manifest.columns) == list(CLIP_FIELDS)
    assert list(ds.kept["clip_id"]) == ["c0", "c2"]


@pytest.mark.parametrize(
    ("score", "expected"), [(-1.0, 0), (0.05, 0), (0.1, 0), (0.2, 64), (0.35, 128), (0.6, 191), (9.0, 255)]
)
def test_motion_bucket_maps_quantile_rank_to_0_255(score: float, expected: int) -> None:
    assert motion_bucket(score, [0.1, 0.3, 0.5, 0.7]) == pytest.approx(expected, abs=1)


def test_motion_bucket_without_edges_is_neutral() -> None:
    assert motion_bucket(3.0, []) == 127
