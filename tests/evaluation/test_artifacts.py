from pathlib import Path

import pytest

from evaluation.artifacts import DigestMismatchError, fetch_pipeline_dir, model_meta
from vidforge.digest import sha256_tree
from vidforge.settings import StoreSettings
from vidforge.store import LocalStore, S3Store


def _artifact(root: Path) -> Path:
    (root / "unet").mkdir(parents=True)
    (root / "unet" / "w.safetensors").write_bytes(b"w" * 100)
    (root / "vidforge.json").write_text('{"height": 8}')
    return root


def test_local_artifact_used_in_place_and_verified(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    uri = store.put_dir(_artifact(tmp_path / "a"), "runs/r/final")
    digest = sha256_tree(tmp_path / "a")
    path = fetch_pipeline_dir(uri, tmp_path / "dl", StoreSettings(), digest)
    assert path == store.local_path("runs/r/final")
    assert model_meta(path) == {"height": 8}
    with pytest.raises(DigestMismatchError, match="does not match"):
        fetch_pipeline_dir(uri, tmp_path / "dl", StoreSettings(), "0" * 64)


def test_s3_artifact_downloaded_and_verified(tmp_path: Path, s3_endpoint: str, s3_bucket: str) -> None:
    store = S3Store(f"s3://{s3_bucket}", endpoint_url=s3_endpoint)
    uri = store.put_dir(_artifact(tmp_path / "a"), "runs/r/final")
    path = fetch_pipeline_dir(uri, tmp_path / "dl", StoreSettings(s3_endpoint_url=s3_endpoint),
                              sha256_tree(tmp_path / "a"))
    assert path == tmp_path / "dl" and (path / "unet" / "w.safetensors").read_bytes() == b"w" * 100


def test_missing_meta_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"vidforge\.json"):
        model_meta(tmp_path)
