from pathlib import Path

import pytest

from vidforge.settings import get_settings, parse_overrides


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("VIDFORGE_") and not key.startswith("VIDFORGE_TEST_"):
            monkeypatch.delenv(key)


def test_embedded_defaults_live_under_home(tmp_path: Path) -> None:
    s = get_settings(overrides={"home": str(tmp_path)})
    assert s.store.uri == (tmp_path / "store").as_uri()
    assert s.registry.db_url == f"sqlite:///{tmp_path / 'registry.db'}"
    assert s.serving.cache_dir == str(tmp_path / "serving-cache")


def test_layering_file_then_env_then_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "vf.yaml"
    cfg.write_text("registry:\n  model_name: from-file\n  db_url: sqlite:///file.db\nserving:\n  port: 1111\n")
    s = get_settings(cfg)
    assert (s.registry.model_name, s.serving.port) == ("from-file", 1111)

    monkeypatch.setenv("VIDFORGE_REGISTRY__MODEL_NAME", "from-env")
    s = get_settings(cfg)
    assert s.registry.model_name == "from-env"
    assert s.registry.db_url == "sqlite:///file.db"  # untouched by env: the file still applies

    s = get_settings(cfg, overrides=parse_overrides(["registry.model_name=from-cli", "serving.port=2222"]))
    assert (s.registry.model_name, s.serving.port) == ("from-cli", 2222)
    assert s.registry.db_url == "sqlite:///file.db"


def test_config_file_from_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "vf.yaml"
    cfg.write_text("log_level: DEBUG\n")
    monkeypatch.setenv("VIDFORGE_CONFIG", str(cfg))
    assert get_settings().log_level == "DEBUG"


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.yaml"):
        get_settings(tmp_path / "nope.yaml")


def test_invalid_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="port"):
        get_settings(overrides={"serving": {"port": "not-a-number"}})


@pytest.mark.parametrize("bad", ["novalue", "=x", ""])
def test_parse_overrides_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError, match=r"key\.sub=value"):
        parse_overrides([bad])


def test_parse_overrides_nests_dotted_keys() -> None:
    assert parse_overrides(["a.b.c=1", "a.d=x=y", "e=2"]) == {"a": {"b": {"c": "1"}, "d": "x=y"}, "e": "2"}


def test_nest_dotted_merges_dotted_and_nested_keys_in_order() -> None:
    from vidforge.settings import nest_dotted

    got = nest_dotted({"a.b": 1, "a": {"c": None}, "x.y.z": [1]})
    assert got == {"a": {"b": 1, "c": None}, "x": {"y": {"z": [1]}}}  # values keep their types
    assert nest_dotted({"p.q": 1, "p": 2}) == {"p": 2}  # a later plain value replaces the dict
