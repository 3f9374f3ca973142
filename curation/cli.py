"""Curation commands; the top-level typer CLI (``vidforge.cli.COMMANDS``) mounts them.

``vidforge synth OUT_DIR`` → :func:`synth`, ``vidforge cuts VIDEO`` → :func:`cuts`,
``vidforge curate SOURCES... --name --version`` → :func:`curate`. Their signatures
are what typer shows; each delegates to a ``run_*`` function that takes the
console (and store) explicitly, which is what tests call. Heavy imports (PyAV,
OpenCV, PySceneDetect) happen inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
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
    console = console or Console()
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
    console = console or Console()
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


def funnel_table(info: DatasetInfo) -> Table:
    """The curation funnel: in, removed by each stage reason, then by each dataset-wide filter in
    precedence order (skipped and disabled filters say so, with why), kept."""
    funnel: dict[str, Any] = info.extra.get("funnel", {})
    filters: list[dict[str, Any]] = (info.extra.get("filters") or {}).get("filters", [])
    table = Table(title=f"dataset {info.name}/{info.version}")
    table.add_column("step")
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
            table.add_row(f"  {reason}", str(n))
    table.add_row("clips in", str(info.clips_in))
    by_filter = {f["reason"] for f in filters}
    for reason, n in sorted(funnel.get("clip", {}).items()):
        if ":" in reason and reason not in by_filter:
            table.add_row(f"  removed by {reason}", str(n))
    for f in filters:
        if f["status"] == "applied":
            table.add_row(f"  removed by {f['reason']}", str(f["removed"]), _applied_note(f))
        else:
            table.add_row(f"  {f['reason']}", "-", f"{f['status']}: {f['note']}")
    table.add_row("clips filtered", str(info.clips_filtered))
    table.add_row("clips quarantined", str(info.clips_quarantined))
    table.add_row("clips kept", str(info.clips_kept))
    return table


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
    console = console or Console()
    config = load_config(config_file, parse_overrides(overrides or []))
    info = curate(sources, store=store, name=name, version=version, config=config, progress=True)
    console.print(funnel_table(info))
    return info


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

    try:
        run_curate(list(sources), name, version, open_store(get_settings().store), config_file=profile,
                   overrides=set_)
    except ManifestValidationError as exc:  # a readable report, not a traceback; exit status 1
        Console(stderr=True).print(f"[bold red]not published:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(1) from exc
