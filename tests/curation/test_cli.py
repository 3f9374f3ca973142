"""Tests of curation/cli.py (named apart from tests/vidforge/test_cli.py: pytest's default
import mode needs unique basenames)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from curation.cli import run_cache_prune, run_curate, run_cuts, run_synth
from curation.items import SourceItem
from vidforge.store import LocalStore


def test_synth_cuts_and_curate_print_summaries(tmp_path: Path, bikes: Path, bikes_cuts: list[int]) -> None:
    console = Console(record=True, width=200)
    run_synth(tmp_path / "synth", seed=1, console=console)
    written = sorted(p.name for p in (tmp_path / "synth").glob("*.mp4"))
    assert "corrupt.mp4" in written and len(written) == 5
    assert run_cuts(bikes, console=console) == bikes_cuts
    info = run_curate([bikes, tmp_path / "synth" / "corrupt.mp4"], name="c", version="v1",
                      store=LocalStore(tmp_path / "store"), console=console)
    text = console.export_text()
    assert "cuts.mp4" in text and f"cut(s) at frames {bikes_cuts}" in text
    assert "removed by split:too_short" in text and "probe:unreadable" in text
    for f in info.extra["filters"]["filters"]:  # every dataset-wide filter, in order, with its count or status
        row = f"removed by {f['reason']} " if f["status"] == "applied" else f"{f['reason']} "
        assert row in text, row
    at = [text.index(f"{f['reason']} ") for f in info.extra["filters"]["filters"]]
    assert at == sorted(at)
    assert "motion_percentile" in text and "skipped: aesthetic not computed" in text
    assert "clips kept" in text and str(info.clips_kept) in text


def test_commands_mount_on_the_top_level_cli(tmp_path: Path, bikes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from vidforge.cli import app

    monkeypatch.setenv("VIDFORGE_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    result = runner.invoke(app, ["cuts", str(bikes)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["curate", str(bikes), "--name", "cli", "--version", "v1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "home" / "store" / "datasets" / "cli" / "v1" / "dataset.json").is_file()


def test_curate_prints_restored_and_processed_sources(tmp_path: Path) -> None:
    import re

    from curation.synthetic import ShotSpec, VideoSpec, write_video

    specs = [VideoSpec(seed=i, width=96, height=72, shots=(ShotSpec(30, speed=2.0),)) for i in range(2)]
    videos: list[Path | str] = [write_video(spec, tmp_path / f"{i}.mp4").path for i, spec in enumerate(specs)]
    store = LocalStore(tmp_path / "store")
    for restored, processed in ((0, 2), (2, 0)):
        console = Console(record=True, width=200)
        run_curate(videos, name="c", version="v1", store=store, console=console)
        text = console.export_text()
        assert re.search(rf"restored from cache\s*│\s*{restored}\s*│", text), text
        assert re.search(rf"processed\s*│\s*{processed}\s*│", text), text


def test_curate_profile_overrides_are_validated(tmp_path: Path) -> None:
    import pydantic

    store = LocalStore(tmp_path / "store")
    with pytest.raises(pydantic.ValidationError, match="runner"):
        run_curate([tmp_path / "none.mp4"], name="c", version="v1", store=store, overrides=["pipeline.runner=spark"])
    with pytest.raises(ValueError, match="key=value"):
        run_curate([tmp_path / "none.mp4"], name="c", version="v1", store=store, overrides=["pipeline.runner"])
    assert store.list() == []


@pytest.mark.slow
def test_curate_set_selects_the_ray_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--set pipeline.runner=ray`` starts a private local Ray for the run and stops it afterwards."""
    import ray
    from typer.testing import CliRunner

    from curation.synthetic import write_corrupt
    from vidforge.cli import app
    from vidforge.dataset import load_dataset

    monkeypatch.setenv("VIDFORGE_HOME", str(tmp_path / "home"))
    corrupt = write_corrupt(tmp_path / "corrupt.mp4")
    result = CliRunner().invoke(app, ["curate", str(corrupt), "--name", "r", "--version", "v1",
                                      "--set", "pipeline.runner=ray", "--set", "ray.num_cpus=1"])
    assert result.exit_code == 0, result.output
    assert "probe:unreadable" in result.output
    assert not ray.is_initialized()
    info = load_dataset(LocalStore(tmp_path / "home" / "store"), "r", "v1").info
    assert info.config["pipeline"]["runner"] == "ray" and info.config["ray"]["num_cpus"] == 1


def test_curate_reports_a_failed_validation_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import great_expectations as gx
    from typer.testing import CliRunner

    import curation.validation as validation
    from curation.synthetic import demo_specs, write_video
    from vidforge.cli import app

    real_suite = validation.build_suite

    def stricter(config: object) -> object:  # the real suite plus one rule the real data breaks
        suite = real_suite(config)  # type: ignore[arg-type]
        rule = gx.expectations.ExpectColumnValuesToBeBetween(column="motion_score", max_value=0.0)
        rule.meta = {"columns": ["motion_score"]}
        suite.add_expectation(rule)
        return suite

    monkeypatch.setattr(validation, "build_suite", stricter)
    monkeypatch.setenv("VIDFORGE_HOME", str(tmp_path / "home"))
    video = write_video(demo_specs()["cuts"], tmp_path / "cuts.mp4").path
    result = CliRunner().invoke(app, ["curate", str(video), "--name", "cli", "--version", "v1"])
    assert result.exit_code == 1, result.output
    assert "not published" in result.output and "failed validation" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "home" / "store" / "datasets" / "cli" / "v1" / "dataset.json").exists()


def _tiny_video(tmp_path: Path) -> Path:
    from curation.synthetic import ShotSpec, VideoSpec, write_video

    return Path(write_video(VideoSpec(width=96, height=72, shots=(ShotSpec(30, speed=2.0),)), tmp_path / "v.mp4").path)


def test_cache_prune_keeps_the_generation_the_profile_uses_now(tmp_path: Path) -> None:
    from curation.cache import cache_generations, config_hash
    from curation.config import load_config

    video, store = _tiny_video(tmp_path), LocalStore(tmp_path / "store")
    snap = ["clip.snap=after"]  # another per-source config: another generation
    current = config_hash(load_config())
    other = config_hash(load_config(overrides={"clip": {"snap": "after"}}))
    run_curate([video], name="c", version="v1", store=store, console=Console(record=True))
    run_curate([video], name="c", version="v2", store=store, console=Console(record=True), overrides=snap)
    assert {g.config_hash for g in cache_generations(store, "curation-cache")} == {current, other}

    before, console = store.list(), Console(record=True, width=200)
    assert [g.config_hash for g in run_cache_prune(store, dry_run=True, console=console)] == [other]
    text = console.export_text()
    assert store.list() == before
    assert "(dry run)" in text and "would remove 1 of 2 generation(s)" in text and f"config hash {current}" in text
    assert any(other in line and "to remove" in line for line in text.splitlines())
    assert any(current in line and "current" in line for line in text.splitlines())

    console = Console(record=True, width=200)
    assert [g.config_hash for g in run_cache_prune(store, overrides=snap, console=console)] == [current]
    assert "removed 1 of 2 generation(s)" in console.export_text()
    assert [g.config_hash for g in cache_generations(store, "curation-cache")] == [other]
    assert store.exists("datasets/c/v1/dataset.json")  # published datasets are not the cache
    info = run_curate([video], name="c", version="v3", store=store, console=Console(record=True), overrides=snap)
    assert info.extra["resume"] == {**info.extra["resume"], "restored": 1, "processed": 0}

    console = Console(record=True, width=200)
    assert run_cache_prune(store, all_=True, keep=[other, "feedfeedfeedfeed"], console=console) == []
    assert "--keep feedfeedfeedfeed: no such generation" in console.export_text()
    assert [g.config_hash for g in run_cache_prune(store, all_=True, console=Console(record=True))] == [other]
    assert store.list("curation-cache") == []
    console = Console(record=True, width=200)
    assert run_cache_prune(store, console=console) == []
    assert "no cache generations under" in console.export_text()


def test_cache_prune_command_on_the_top_level_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from curation.cache import cache_generations, config_hash
    from curation.config import load_config
    from vidforge.cli import app

    monkeypatch.setenv("VIDFORGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "40")  # messages are never hard-wrapped, however narrow the terminal
    runner, video = CliRunner(), _tiny_video(tmp_path)
    for extra in ([], ["--set", "clip.snap=after"]):
        result = runner.invoke(app, ["curate", str(video), "--name", "c", "--version", "v1", *extra])
        assert result.exit_code == 0, result.output
    store = LocalStore(tmp_path / "home" / "store")
    current = config_hash(load_config())
    assert len(cache_generations(store, "curation-cache")) == 2

    before = store.list()
    result = runner.invoke(app, ["curate-cache-prune", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would remove 1 of 2 generation(s)" in result.output and store.list() == before

    result = runner.invoke(app, ["curate-cache-prune"])
    assert result.exit_code == 0, result.output
    assert "removed 1 of 2 generation(s)" in result.output
    assert [g.config_hash for g in cache_generations(store, "curation-cache")] == [current]

    result = runner.invoke(app, ["curate-cache-prune", "--all"])
    assert result.exit_code == 0, result.output
    assert "removed 1 of 1 generation(s)" in result.output and store.list("curation-cache") == []
    result = runner.invoke(app, ["curate-cache-prune", "--set", "pipeline.runner=spark"])
    assert result.exit_code != 0


def test_curate_sums_up_sources_quarantined_for_unexpected_reasons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stage raising an exception it does not expect (a bug, as the probe's EPERM on a file without a seek index
    was) quarantines the source with the stage and exception named, and the run says so apart from bad inputs."""
    import json

    from curation.stages import probe as probe_module
    from curation.synthetic import ShotSpec, VideoSpec, write_video

    videos = [write_video(VideoSpec(seed=i, width=96, height=72, shots=(ShotSpec(30, speed=2.0),)),
                          tmp_path / f"{name}.mp4").path for i, name in enumerate(("good", "unlucky"))]
    real = probe_module.probe_source

    def probe_with_a_bug(item: SourceItem) -> None:
        if item.source_path.endswith("unlucky.mp4"):
            raise PermissionError(1, "Operation not permitted")
        real(item)

    monkeypatch.setattr(probe_module, "probe_source", probe_with_a_bug)
    store = LocalStore(tmp_path / "store")
    console = Console(record=True, width=250)
    info = run_curate([*videos, tmp_path / "missing.mp4"], name="c", version="v1", store=store, console=console,
                      overrides=["pipeline.resume=false"])
    text = console.export_text()
    assert "probe:permission_error" in text and "unexpected: likely a bug" in text
    assert ("unexpected quarantines, likely bugs rather than bad inputs: 1 source(s), 0 clip(s): "
            "probe:permission_error (1: unlucky.mp4)") in text
    (row,) = info.extra["unexpected"]  # probe:not_found (the missing file) is a bad input, not listed
    assert (row["level"], row["reason"], Path(row["id"]).name) == ("source", "probe:permission_error", "unlucky.mp4")
    assert row["error"].startswith("unexpected PermissionError in stage 'probe' (at ")
    assert "[Errno 1] Operation not permitted" in row["error"]
    card = json.loads(store.get_bytes("datasets/c/v1/datacard.json"))
    assert card["funnel"]["unexpected"] == info.extra["unexpected"]
    assert {r["reason"]: r["known"] for r in card["funnel"]["source_reasons"]} == {
        "probe:not_found": True, "probe:permission_error": False}
    html = store.get_bytes("datasets/c/v1/datacard.html").decode()
    assert "1 item(s) quarantined for a reason no stage expects" in html


def test_unexpected_summary_lists_a_few_names_per_reason() -> None:
    from curation.cli import unexpected_summary
    from vidforge.dataset import DatasetInfo

    def info(rows: list[dict[str, str]]) -> DatasetInfo:
        return DatasetInfo(name="n", version="v", created_at="", inputs=5, clips_in=1, clips_kept=0, clips_filtered=0,
                           clips_quarantined=1, sources_quarantined=4, extra={"unexpected": rows})

    sources = [{"level": "source", "id": f"s3://bucket/in/{i}.mkv", "reason": "probe:permission_error"}
               for i in range(4)]
    clip = {"level": "clip", "id": "c0ffee", "reason": "frames:value_error"}
    assert unexpected_summary(info([])) is None
    assert unexpected_summary(info([*sources, clip])) == (
        "unexpected quarantines, likely bugs rather than bad inputs: 4 source(s), 1 clip(s): frames:value_error "
        "(1: c0ffee); probe:permission_error (4: 0.mkv, 1.mkv, 2.mkv, …) (errors in quarantine.parquet and the "
        "manifest)")


@pytest.mark.parametrize(("flag", "says"), [
    ("store.uri=s3://elsewhere", "'store' is a platform setting: put it before the subcommand, "
                                 "vidforge --set store.uri=s3://elsewhere curate ..."),
    ("nonsense.key=1", "'nonsense' is no curation profile section"),
])
@pytest.mark.parametrize("command", ["curate", "curate-cache-prune"])
def test_a_set_after_the_subcommand_that_is_no_profile_key_fails_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str, says: str, command: str
) -> None:
    from typer.testing import CliRunner

    from vidforge.cli import app

    monkeypatch.setenv("VIDFORGE_STORE__URI", str(tmp_path / "store"))
    args = [command, *([str(tmp_path / "v.mp4"), "--name", "n", "--version", "v"] if command == "curate" else [])]
    result = CliRunner().invoke(app, [*args, "--set", flag])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "extra_forbidden" not in result.output
    assert says in " ".join(result.output.split())
    assert not (tmp_path / "store").exists()  # nothing ran
