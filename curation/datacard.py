"""The data card of a dataset version: ``datacard.json`` (facts) and ``datacard.html`` (for people).

The card shows the funnel (inputs → sources quarantined → clips in → removed per
reason → kept), the dataset-wide filters (each one's setting, status — applied,
skipped or disabled, and why —, effective cut value, clips flagged and removed;
from ``info.extra["filters"]``, see :func:`curation.stages.filter.run_report`),
one histogram per numeric signal with every threshold of its filters marked
(absolute thresholds and effective percentile cuts), first-frame thumbnails of a
few kept clips, the configuration and code version, and the validation summary.
Signals no stage computed (all null, e.g. no model configured) are listed as
"skipped — not computed" with their skipped filters, never plotted.
The HTML is self-contained: images are embedded as base64 PNGs.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curation.reasons import is_known
from vidforge.dataset import Status, dataset_prefix

if TYPE_CHECKING:
    import pandas as pd

    from curation.validation import ValidationReport
    from vidforge.dataset import DatasetInfo
    from vidforge.store import ObjectStore

TEMPLATES = Path(__file__).parent / "templates"
#: The numeric signals a card reports, in display order.
SIGNALS: tuple[str, ...] = ("motion_score", "aesthetic", "clip_similarity", "text_area")
#: Status → histogram colour.
_COLOURS = {Status.KEPT.value: "#2da44e", Status.FILTERED.value: "#d4a72c", Status.QUARANTINED.value: "#cf222e"}


def filter_outcomes(info: DatasetInfo) -> list[dict[str, Any]]:
    """The dataset-wide filters' outcomes the pipeline recorded, in precedence order ([] when none)."""
    return list(((info.extra or {}).get("filters") or {}).get("filters") or [])


def funnel(info: DatasetInfo, manifest: pd.DataFrame) -> dict[str, Any]:
    """Counts from ``info`` plus the clips removed per reason (from the manifest) and per filter.

    Source-level quarantine reasons come from ``info.extra["funnel"]["source"]`` when the
    pipeline recorded them (``known``: a reason a stage records on purpose, see :mod:`curation.reasons`);
    ``filters`` lists every dataset-wide filter (see :func:`filter_outcomes`); ``unexpected`` every item
    quarantined for a reason no stage expects (``info.extra["unexpected"]``: likely bugs).
    """
    removed = manifest[manifest["status"] != Status.KEPT.value]
    by_reason = removed.groupby(["status", "reason"], dropna=False).size().reset_index(name="count")
    source_levels = (info.extra.get("funnel") or {}).get("source") or {}
    statuses = {s.value for s in Status}
    return {
        "inputs": info.inputs,
        "sources_quarantined": info.sources_quarantined,
        "source_reasons": [{"reason": k, "count": int(v), "known": is_known(k)}
                           for k, v in sorted(source_levels.items()) if k not in statuses],
        "clips_in": info.clips_in,
        "clips_filtered": info.clips_filtered,
        "clips_quarantined": info.clips_quarantined,
        "clips_kept": info.clips_kept,
        "removed": [{"status": str(r.status), "reason": str(r.reason or "—"), "count": int(r.count)}
                    for r in by_reason.sort_values(["status", "count"], ascending=[True, False]).itertuples()],
        "filters": filter_outcomes(info),
        "unexpected": list((info.extra or {}).get("unexpected") or []),
    }


def thresholds(signal: str, filters: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The thresholds the applied filters of ``signal`` used: ``{"filter", "kind", "label", "value"}`` each.

    An absolute filter gives its threshold (``motion_min < 0.5``); a percentile filter its effective
    cut, the value of the last clip it flags (``motion_percentile cut (lowest 25%)``).
    """
    out = []
    for f in filters:
        if f["signal"] != signal or f["status"] != "applied" or f["threshold"] is None:
            continue
        if f["kind"] == "percentile":
            label = f"{f['name']} cut ({f['removes']}est {f['setting']:.0%})"
        else:
            label = f"{f['name']} ({'<' if f['kind'] == 'min' else '>'} {f['setting']:g})"
        out.append({"filter": f["name"], "kind": f["kind"], "label": label, "value": float(f["threshold"])})
    return out


def signal_summary(
    signal: str, filters: Sequence[Mapping[str, Any]], manifest: pd.DataFrame, skip_reason: str | None = None
) -> dict[str, Any]:
    """Stats of one signal over all clips that have it, its thresholds and its filters' status.

    ``computed`` is False when every value is null (``reason`` then says why: ``skip_reason``
    when the configuration explains it, else "not computed"); ``filters`` lists
    ``{"name", "status", "note"}`` of the signal's filters either way.
    """
    own = [{"name": f["name"], "status": f["status"], "note": f["note"]} for f in filters if f["signal"] == signal]
    if signal not in manifest.columns or manifest[signal].isna().all():
        return {"name": signal, "computed": False, "reason": skip_reason or "not computed", "filters": own}
    values = manifest[signal].dropna().astype("float64")
    kept = manifest.loc[manifest["status"] == Status.KEPT.value, signal].dropna().astype("float64")
    return {
        "name": signal, "computed": True, "count": len(values),
        "min": float(values.min()), "max": float(values.max()), "mean": float(values.mean()),
        "kept_min": float(kept.min()) if len(kept) else None, "kept_max": float(kept.max()) if len(kept) else None,
        "thresholds": thresholds(signal, filters), "filters": own,
    }


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def histogram_png(summary: dict[str, Any], manifest: pd.DataFrame) -> str:
    """A histogram of one computed signal, stacked by status, thresholds as dashed lines; base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    name = summary["name"]
    groups = [(s, manifest.loc[manifest["status"] == s, name].dropna().astype("float64").to_numpy())
              for s in _COLOURS]
    groups = [(s, v) for s, v in groups if len(v)]
    fig, ax = plt.subplots(figsize=(5.2, 2.6))
    ax.hist([v for _, v in groups], bins=20, stacked=True, color=[_COLOURS[s] for s, _ in groups],
            label=[f"{s} ({len(v)})" for s, v in groups])
    for i, t in enumerate(summary["thresholds"]):  # absolute thresholds black, percentile cuts purple
        ax.axvline(t["value"], color="#8250df" if t["kind"] == "percentile" else "#222",
                   linestyle=("--", ":", "-.")[i % 3], linewidth=1.4, label=f"{t['label']} = {t['value']:.3g}")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel=name, ylabel="clips", title=name)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False)  # off the bars
    ax.grid(alpha=0.3)
    return _png(fig)


def thumbnail_png(path: str | Path, width: int = 160) -> str | None:
    """The first frame of a video, upright (display rotation applied), at most ``width`` px wide;
    base64 PNG, None when unreadable."""
    import av

    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            image = frame.to_image().rotate(frame.rotation, expand=True)  # PIL: counter-clockwise, as PyAV
    except (OSError, StopIteration, av.error.FFmpegError):
        return None
    image.thumbnail((width, width))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


#: The manifest's caption columns, one per captioner.
CAPTIONS: tuple[str, ...] = ("caption_image", "caption_video", "caption_summary")


def caption_coverage(manifest: pd.DataFrame, source: str = "") -> list[dict[str, Any]]:
    """Per captioner: kept clips, how many have a non-empty caption, and that fraction (None with no kept clip).

    ``source`` says where the captions came from (the profile's ``captions.backend``).
    """
    kept = manifest[manifest["status"] == Status.KEPT.value]
    out = []
    for column in CAPTIONS:
        have = int(kept[column].fillna("").astype(str).str.strip().ne("").sum()) if column in kept else 0
        out.append({"captioner": column.removeprefix("caption_"), "column": column, "source": source,
                    "kept": len(kept), "captioned": have, "coverage": have / len(kept) if len(kept) else None})
    return out


def build_datacard(info: DatasetInfo, manifest: pd.DataFrame, validation: ValidationReport) -> dict[str, Any]:
    """The ``datacard.json`` content (no images): funnel, signals, validation summary, config, code version."""
    from curation.stages.clip_scores import skip_reasons

    reasons = skip_reasons(info.config)
    return {
        "name": info.name, "version": info.version, "created_at": info.created_at,
        "code_version": info.code_version, "config": info.config,
        "funnel": funnel(info, manifest),
        "signals": [signal_summary(s, filter_outcomes(info), manifest, reasons.get(s)) for s in SIGNALS],
        "motion_bucket_edges": info.motion_bucket_edges,
        "captions": caption_coverage(manifest, str((info.config.get("captions") or {}).get("backend", ""))),
        "validation": {"success": validation.success, "suite": validation.suite, "gx_version": validation.gx_version,
                       "evaluated": validation.evaluated, "successful": validation.successful,
                       "failed": [asdict(r) for r in validation.failed]},
        "stages": (info.extra or {}).get("stages", []),
    }


def render_html(card: dict[str, Any], manifest: pd.DataFrame, clip_files: Mapping[str, str | Path],
                max_thumbnails: int = 8) -> str:
    """The self-contained HTML card: ``card`` plus histograms and thumbnails of up to ``max_thumbnails``
    kept clips (``clip_files``: clip_id → local video file)."""
    import jinja2

    plots = {s["name"]: histogram_png(s, manifest) for s in card["signals"] if s["computed"]}
    kept = manifest[manifest["status"] == Status.KEPT.value].sort_values("clip_id")
    thumbs = []
    for row in kept.itertuples():
        if len(thumbs) >= max_thumbnails:
            break
        png = thumbnail_png(clip_files[row.clip_id]) if row.clip_id in clip_files else None
        if png:
            thumbs.append({"clip_id": row.clip_id, "png": png, "caption": row.caption_summary or "",
                           "seconds": f"{row.start_s:.1f}–{row.end_s:.1f} s", "motion": row.motion_score})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return env.get_template("datacard.html.j2").render(
        c=card, plots=plots, thumbs=thumbs, kept_total=len(kept),
        config_json=json.dumps(card["config"], indent=2, sort_keys=True),
    )


def write_datacard(store: ObjectStore, info: DatasetInfo, manifest: pd.DataFrame, validation: ValidationReport,
                   clip_files: Mapping[str, str | Path] | None = None) -> tuple[str, str]:
    """Write ``datacard.json`` and ``datacard.html`` next to the manifest; return their URIs."""
    prefix = dataset_prefix(info.name, info.version)
    card = build_datacard(info, manifest, validation)
    html = render_html(card, manifest, clip_files or {})
    json_uri = store.put_bytes(f"{prefix}/datacard.json", json.dumps(card, indent=2).encode())
    html_uri = store.put_bytes(f"{prefix}/datacard.html", html.encode())
    return json_uri, html_uri
