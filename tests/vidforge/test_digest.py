from pathlib import Path

import pytest

from vidforge.digest import sha256_file, sha256_tree


def _tree(root: Path) -> Path:
    (root / "a").mkdir(parents=True)
    (root / "a" / "w.bin").write_bytes(b"weights")
    (root / "c.json").write_text("{}")
    return root


def test_tree_digest_is_stable_and_content_sensitive(tmp_path: Path) -> None:
    one = sha256_tree(_tree(tmp_path / "one"))
    assert one == sha256_tree(_tree(tmp_path / "two"))
    (tmp_path / "two" / "a" / "w.bin").write_bytes(b"weightz")
    assert sha256_tree(tmp_path / "two") != one


def test_tree_digest_sees_renames_and_new_files(tmp_path: Path) -> None:
    base = sha256_tree(_tree(tmp_path / "t"))
    (tmp_path / "t" / "c.json").rename(tmp_path / "t" / "d.json")
    renamed = sha256_tree(tmp_path / "t")
    (tmp_path / "t" / "extra").write_text("")
    assert len({base, renamed, sha256_tree(tmp_path / "t")}) == 3


def test_file_digest_matches_known_value(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    assert sha256_file(tmp_path / "f") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_tree_digest_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        sha256_tree(tmp_path / "missing")
