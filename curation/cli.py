"""Curation commands; the top-level typer CLI (``vidforge.cli.COMMANDS``) mounts them.

``vidforge synth OUT_DIR`` → :func:`synth`, ``vidforge cuts VIDEO`` → :func:`cuts`,
``vidforge curate SOURCES... --name --version`` → :func:`curate`, ``vidforge
curate-cache-prune`` → :func:`curate_cache_prune`. Their signatures
are what typer shows; each delegates to a ``run_*`` function that takes the
console (and store) explicitly, which is what tests call. Heavy imports (PyAV,
OpenCV, PySceneDetect) happen inside the functions.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlparse

import typer
from rich.console import Console
from rich.table import Table

from vidforge.console import make_console, print_error

if TYPE_CHECKING:
    from curation.cache import CacheGeneration
    from vidforge.dataset import DatasetInfo
    from vidforge.store import ObjectStore


def _quiet_ffmpeg() -> None:
    """Route FFmpeg's own log lines through Python logging at ERROR (no encoder chatter)."""
    import av

    av.logging.set_level(av.logging.ERROR)


def run_synth(out_dir: Path, seed: int = 0, console: Console | None = None) -> None:
    """Write the synthetic demo suite (plus one corrupt file) into ``out_dir`` and summarise it."""
    from curation.synthetic import make_demo_suite, write_corrupt

    _quiet_ffmpeg()
    console = console or make_console()
    truths = make_demo_suite(out_dir, seed=seed)
    corrupt = write_corrupt(Path(out_dir) / "corrupt.mp4", seed=seed)
    table = Table(title=f"synthetic videos in {out_dir}")
    for col in ("video", "frames", "size", "cuts (hard / fade)", "shot speeds px/frame", "text"):
        table.add_column(col)
    for t in truths:
        table.add_row(
            Path(t.path).name, str(t.num_frames), f"{t.width}x{t.height}@{t.fps}",
            f"{t.hard_cuts} / {t.fade_cuts}", ", ".join(f"{s.speed:g}" for s in t.shots),
            ", ".join(f"{s.text!r} ({s.text_area:.1%})" for s in t.shots if s.text) or "-",
        )
    table.add_row(corrupt.name, "-", "-", "-", "-", "truncated (quarantine test)")
    console.print(table)


def run_cuts(video: Path, console: Console | None = None) -> list[int]:
    """Print (and return) the cut frames of ``video`` with the default profile."""
    from curation.cuts import detect_cuts

    _quiet_ffmpeg()
    console = console or make_console()
    found = detect_cuts(video)
    console.print(f"{video}: {len(found)} cut(s) at frames {found}")
    return found


def _applied_note(f: dict[str, Any]) -> str:
    """``motion_score < 0.5; flagged alone 2 of 16`` or ``lowest 25% of 16: cut 4.45; flagged alone 4``
    (plus the outcome's note) for one applied filter."""
    if f["kind"] == "percentile":
        cut = "" if f["threshold"] is None else f": cut {f['threshold']:.4g}"
        parts = [f"{f['removes']}est {f['setting']:.0%} of {f['judged']}{cut}", f"flagged alone {f['flagged']}"]
    else:
        op = "<" if f["kind"] == "min" else ">"
        parts = [f"{f['signal']} {op} {f['setting']:g}", f"flagged alone {f['flagged']} of {f['judged']}"]
    return "; ".join([*parts, f["note"]] if f["note"] else parts)


#: The note of a funnel row whose reason no stage expects (:mod:`curation.reasons`).
_UNEXPECTED_NOTE = "unexpected: likely a bug, not a bad input"


def funnel_table(info: DatasetInfo) -> Table:
    """The curation funnel: in, removed by each stage reason, then by each dataset-wide filter in
    precedence order (skipped and disabled filters say so, with why), kept. A reason no stage expects
    (:mod:`curation.reasons`) is noted as a likely bug."""
    from curation.reasons import is_known

    funnel: dict[str, Any] = info.extra.get("funnel", {})
    filters: list[dict[str, Any]] = (info.extra.get("filters") or {}).get("filters", [])
    table = Table(title=f"dataset {info.name}/{info.version}")
    table.add_column("step", no_wrap=True)  # reason codes stay whole
    table.add_column("clips", justify="right")
    table.add_column("note")
    table.add_row("sources in", str(info.inputs))
    resume: dict[str, Any] = info.extra.get("resume", {})
    if resume:
        table.add_row("  restored from cache", str(resume.get("restored", 0)))
        table.add_row("  processed", str(resume.get("processed", 0)))
    table.add_row("sources quarantined", str(info.sources_quarantined))
    for reason, n in sorted(funnel.get("source", {}).items()):
        if ":" in reason:
            table.add_row(f"  {reason}", str(n), _UNEXPECTED_NOTE if not is_known(reason) else "")
    table.add_row("clips in", str(info.clips_in))
    by_filter = {f["reason"] for f in filters}
    for reason, n in sorted(funnel.get("clip", {}).items()):
        if ":" in reason and reason not in by_filter:
            table.add_row(f"  removed by {reason}", str(n), _UNEXPECTED_NOTE if not is_known(reason) else "")
    for f in filters:
        if f["status"] == "applied":
            table.add_row(f"  removed by {f['reason']}", str(f["removed"]), _applied_note(f))
        else:
            table.add_row(f"  {f['reason']}", "-", f"{f['status']}: {f['note']}")
    table.add_row("clips filtered", str(info.clips_filtered))
    table.add_row("clips quarantined", str(info.clips_quarantined))
    table.add_row("clips kept", str(info.clips_kept))
    return table


def unexpected_summary(info: DatasetInfo, names: int = 3) -> str | None:
    """One line listing the sources and clips quarantined for a reason no stage expects, by reason (likely
    bugs, not bad inputs: see :mod:`curation.reasons`), with the file names of up to ``names`` of each reason's
    sources (a clip: its id); None when there are none."""
    rows: list[dict[str, Any]] = info.extra.get("unexpected") or []
    if not rows:
        return None
    levels = Counter(row["level"] for row in rows)
    by_reason: dict[str, list[str]] = {}
    for row in rows:
        by_reason.setdefault(row["reason"], []).append(
            Path(urlparse(row["id"]).path).name if row["level"] == "source" else row["id"])
    listed = [f"{reason} ({len(ids)}: {', '.join(ids[:names])}{', …' if len(ids) > names else ''})"
              for reason, ids in sorted(by_reason.items())]
    return (f"unexpected quarantines, likely bugs rather than bad inputs: {levels['source']} source(s), "
            f"{levels['clip']} clip(s): " + "; ".join(listed) + " (errors in quarantine.parquet and the manifest)")


def run_curate(
    sources: list[Path | str],
    name: str,
    version: str,
    store: ObjectStore,
    config_file: Path | None = None,
    console: Console | None = None,
    overrides: list[str] | None = None,
) -> DatasetInfo:
    """Curate ``sources`` into ``name``/``version`` in ``store`` and print the funnel.

    Args:
        config_file: a curation profile YAML (default ``configs/curation/default.yaml``).
        overrides: ``key.sub=value`` profile overrides (``pipeline.runner=ray``), applied on top
            of the file and validated with it.

    Raises:
        ValueError: an override is not ``key=value``.
        pydantic.ValidationError: an overridden key is unknown or its value invalid.
    """
    from curation.config import load_config
    from curation.pipeline import curate
    from vidforge.settings import parse_overrides

    _quiet_ffmpeg()
    console = console or make_console()
    config = load_config(config_file, parse_overrides(overrides or []))
    info = curate(sources, store=store, name=name, version=version, config=config, progress=True)
    console.print(funnel_table(info))
    summary = unexpected_summary(info)
    if summary:
        console.print(summary, style="bold red", highlight=False)
    return info


def run_cache_prune(
    store: ObjectStore,
    config_file: Path | None = None,
    overrides: list[str] | None = None,
    keep: list[str] | None = None,
    all_: bool = False,
    dry_run: bool = False,
    console: Console | None = None,
) -> list[CacheGeneration]:
    """Prune the resume cache (``pipeline.cache_prefix`` of the profile) in ``store``, print what it held.

    Keeps the generation the profile (plus ``overrides``) would use now, unless ``all_``, and
    every hash in ``keep``; returns the generations removed (or, with ``dry_run``, to be removed).

    Raises:
        ValueError: an override is not ``key=value``.
        pydantic.ValidationError: an overridden key is unknown or its value invalid.
    """
    from curation.cache import cache_generations, config_hash, prune_cache
    from curation.config import load_config
    from vidforge.settings import parse_overrides

    console = console or make_console()
    config = load_config(config_file, parse_overrides(overrides or []))
    prefix = config.pipeline.cache_prefix.strip("/")
    current = config_hash(config)
    kept = set(keep or []) | (set() if all_ else {current})
    generations = cache_generations(store, prefix)
    removed = prune_cache(store, prefix, kept, dry_run=dry_run, generations=generations)
    gone = {g.config_hash for g in removed}
    where = store.uri(prefix)
    if not generations:
        console.print(f"no cache generations under {where}", highlight=False)
        return removed
    table = Table(title=f"curation cache {where}" + (" (dry run)" if dry_run else ""), show_edge=False)
    table.add_column("config hash", no_wrap=True)
    for col in ("entries", "complete", "objects"):
        table.add_column(col, justify="right", min_width=5)
    table.add_column("newest (UTC)")
    table.add_column("status", no_wrap=True)
    for g in generations:  # fits 80 columns
        status = (("to remove" if dry_run else "removed") if g.config_hash in gone
                  else "current" if g.config_hash == current and not all_ else "kept")
        newest = g.newest.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if g.newest else "-"
        table.add_row(g.config_hash, str(g.entries), str(g.complete), str(g.objects), newest, status)
    console.print(table)
    for h in sorted(set(keep or []) - {g.config_hash for g in generations}):
        console.print(f"--keep {h}: no such generation", highlight=False)
    verb = "would remove" if dry_run else "removed"
    console.print(f"{verb} {len(removed)} of {len(generations)} generation(s), "
                  f"{sum(g.objects for g in removed)} object(s); kept {len(generations) - len(removed)}"
                  + ("" if all_ else f" (current config hash {current})"), highlight=False)
    return removed


def check_profile_overrides(overrides: list[str] | None) -> None:
    """Exit with a one-line message (status 2) when a ``--set`` names no curation profile section.

    ``vidforge curate --set store.uri=...`` puts a platform setting after the subcommand, where
    ``--set`` overrides the curation profile; say where it goes instead of a pydantic traceback.
    """
    from curation.config import CurationConfig
    from vidforge.settings import Settings

    for item in overrides or []:
        section = item.split("=", 1)[0].strip().split(".", 1)[0]
        if section in CurationConfig.model_fields:
            continue
        if section in Settings.model_fields:
            hint = (f"'{section}' is a platform setting: put it before the subcommand, "
                    f"vidforge --set {item} curate ...")
        else:
            hint = f"'{section}' is no curation profile section (one of {', '.join(CurationConfig.model_fields)})"
        print_error(f"--set {item}: {hint}", label="bad --set")
        raise typer.Exit(2)


def synth(
    out_dir: Annotated[Path, typer.Argument(help="Directory to write the videos and sidecars into.")],
    seed: Annotated[int, typer.Option(help="Seed of textures and colours.")] = 0,
) -> None:
    """Write synthetic test videos with known ground truth (plus one corrupt file)."""
    run_synth(out_dir, seed)


def cuts(video: Annotated[Path, typer.Argument(help="A video file.")]) -> None:
    """Detect shot cuts in a video (first frame of each new shot)."""
    run_cuts(video)


def curate(
    sources: Annotated[list[Path], typer.Argument(help="Video files (or file:// / s3:// URIs).")],
    name: Annotated[str, typer.Option("--name", help="Dataset name.")],
    version: Annotated[str, typer.Option("--version", help="Dataset version (re-running overwrites it).")],
    profile: Annotated[
        Path | None, typer.Option("--profile", help="Curation profile YAML (default: configs/curation/default.yaml).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a profile key: pipeline.runner=ray, ray.address=auto (repeatable)."),
    ] = None,
) -> None:
    """Curate videos into a versioned dataset in the configured object store."""
    from curation.validation import ManifestValidationError
    from vidforge.settings import get_settings
    from vidforge.store import open_store

    check_profile_overrides(set_)
    try:
        run_curate(list(sources), name, version, open_store(get_settings().store), config_file=profile,
                   overrides=set_)
    except ManifestValidationError as exc:  # a readable report, not a traceback; exit status 1
        print_error(str(exc), label="not published")
        raise typer.Exit(1) from exc


def curate_cache_prune(
    profile: Annotated[
        Path | None, typer.Option("--profile", help="Curation profile YAML (default: configs/curation/default.yaml).")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a profile key, as for curate (repeatable).")
    ] = None,
    keep: Annotated[
        list[str] | None, typer.Option("--keep", help="Also keep this config hash (repeatable).")
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Do not keep the current generation (only --keep ones).")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only report what would be removed.")] = False,
) -> None:
    """Delete old generations of the curation resume cache in the configured object store.

    A generation is one config hash's tree (any profile or curation-code change starts a new one);
    by default the one the profile (plus --set overrides) would use now is kept. The hash includes
    the installed curation code: prune with the code that curates.
    """
    from vidforge.settings import get_settings
    from vidforge.store import open_store

    check_profile_overrides(set_)
    run_cache_prune(open_store(get_settings().store), config_file=profile, overrides=set_, keep=keep,
                    all_=all_, dry_run=dry_run)
