from collections.abc import Callable
from pathlib import Path

import pytest

from vidforge.settings import StoreSettings
from vidforge.store import LocalStore, ObjectStore, S3Store, open_store, open_uri


@pytest.fixture
def store(any_store: ObjectStore) -> ObjectStore:
    return any_store


def test_bytes_roundtrip_and_uri(store: ObjectStore) -> None:
    uri = store.put_bytes("a/b/c.txt", b"hello")
    assert uri == store.uri("a/b/c.txt") and uri.endswith("/a/b/c.txt")
    assert store.get_bytes("a/b/c.txt") == b"hello"
    assert store.key_of(uri) == "a/b/c.txt"
    assert store.exists("a/b/c.txt") and not store.exists("a/b/missing")


def test_missing_key_raises_file_not_found(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.get_bytes("nope/x")
    with pytest.raises(FileNotFoundError):
        store.get_file("nope/x", tmp_path / "dl")


def test_list_is_recursive_sorted_and_prefix_exact(store: ObjectStore) -> None:
    for key in ["d/2", "d/1", "d/sub/3", "dd/4", "e"]:
        store.put_bytes(key, key.encode())
    assert store.list("d") == ["d/1", "d/2", "d/sub/3"]  # not dd/4
    assert store.list() == ["d/1", "d/2", "d/sub/3", "dd/4", "e"]
    assert store.delete_prefix("d") == 3
    assert store.list() == ["dd/4", "e"]
    if isinstance(store, LocalStore):  # no empty directories left behind
        assert not (store.root / "d").exists() and (store.root / "dd").is_dir()


def test_dir_roundtrip_preserves_tree(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "x" / "y").mkdir(parents=True)
    (src / "top.bin").write_bytes(bytes(range(256)) * 100)
    (src / "x" / "y" / "deep.txt").write_text("deep")
    store.put_dir(src, "runs/r1/final")
    out = store.get_dir("runs/r1/final", tmp_path / "out")
    assert (out / "top.bin").read_bytes() == (src / "top.bin").read_bytes()
    assert (out / "x" / "y" / "deep.txt").read_text() == "deep"
    with pytest.raises(FileNotFoundError):
        store.get_dir("runs/none", tmp_path / "out2")


@pytest.mark.parametrize("bad", ["", "/", "a/../b", "a//b", "./a"])
def test_invalid_keys_rejected(store: ObjectStore, bad: str) -> None:
    with pytest.raises(ValueError, match="invalid object key"):
        store.put_bytes(bad, b"x")


def test_key_of_rejects_foreign_uri(store: ObjectStore) -> None:
    with pytest.raises(ValueError, match="not under"):
        store.key_of("s3://elsewhere/key")


def test_open_uri_reaches_the_same_object(store: ObjectStore) -> None:
    uri = store.put_bytes("k/v.bin", b"payload")
    endpoint = store.client.meta.endpoint_url if isinstance(store, S3Store) else None
    other, key = open_uri(uri, StoreSettings(s3_endpoint_url=endpoint))
    assert other.get_bytes(key) == b"payload"


def test_local_store_writes_atomically(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put_bytes("a.txt", b"1")
    assert not list(tmp_path.glob(".*.tmp"))
    assert store.local_path("a.txt") == tmp_path / "a.txt"


@pytest.mark.parametrize(
    ("uri", "kind"),
    [("file:///tmp/vf-store-test", LocalStore), ("s3://bucket/prefix", S3Store)],
)
def test_open_store_by_scheme(uri: str, kind: Callable[..., ObjectStore]) -> None:
    assert isinstance(open_store(StoreSettings(uri=uri)), kind)


def test_open_store_rejects_unknown_scheme() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        open_store(StoreSettings(uri="gs://bucket"))


def test_fetch_dir_uses_local_dirs_in_place_and_downloads_others(store: ObjectStore, tmp_path: Path) -> None:
    from vidforge.store import fetch_dir

    store.put_bytes("m/final/a.txt", b"A")
    endpoint = store.client.meta.endpoint_url if isinstance(store, S3Store) else None
    path = fetch_dir(store.uri("m/final"), tmp_path / "dl", StoreSettings(s3_endpoint_url=endpoint))
    assert (path / "a.txt").read_bytes() == b"A"
    assert path == (store.local_path("m/final") if isinstance(store, LocalStore) else tmp_path / "dl")
    with pytest.raises(FileNotFoundError):
        fetch_dir(store.uri("m/none"), tmp_path / "dl2", StoreSettings(s3_endpoint_url=endpoint))


def test_fetch_file_uses_local_files_in_place_and_downloads_others(store: ObjectStore, tmp_path: Path) -> None:
    from vidforge.store import fetch_file

    store.put_bytes("m/model.onnx", b"M")
    settings = StoreSettings(s3_endpoint_url=store.client.meta.endpoint_url if isinstance(store, S3Store) else None)
    dest = tmp_path / "dl" / "model.onnx"
    path = fetch_file(store.uri("m/model.onnx"), dest, settings)
    assert path.read_bytes() == b"M"
    assert path == (store.local_path("m/model.onnx") if isinstance(store, LocalStore) else dest)
    for missing in (store.uri("m/none.onnx"), store.uri("m"), str(tmp_path / "none.onnx")):
        with pytest.raises(FileNotFoundError):
            fetch_file(missing, tmp_path / "dl2" / "x", settings)


def test_settings_reopen_the_same_store(store: ObjectStore) -> None:
    reopened = open_store(store.settings())
    assert type(reopened) is type(store)
    assert reopened.root_uri == store.root_uri
    store.put_bytes("x/y.txt", b"same")
    assert reopened.get_bytes("x/y.txt") == b"same"


def test_local_settings_survive_odd_characters(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "a dir%20with #odd")
    assert open_store(store.settings()).root == store.root
