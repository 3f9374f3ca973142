"""The stakeholder-facing HTML evaluation report (jinja2 + matplotlib, self-contained)."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from evaluation.metrics import HeldoutClip
    from vidforge.store import ObjectStore

TEMPLATES = Path(__file__).parent / "templates"
#: metric → (True when lower is better, short explanation)
METRICS = {
    "heldout_loss": (True, "denoising loss on held-out clips"),
    "first_frame_psnr": (False, "generated first frame vs the conditioning image, dB"),
    "video_psnr": (False, "generated video vs the real clip, dB"),
    "temporal_psnr": (False, "consecutive generated frames, dB (smoothness)"),
    "temporal_gap_db": (True, "|smoothness − real clip's smoothness|, dB"),
}


def fmt(value: Any) -> str:
    """Numbers with 4 significant digits; dashes for missing."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _stage_metrics(store: ObjectStore, run_id: str, stage: str) -> list[dict[str, Any]]:
    key = f"runs/{run_id}/{stage}/metrics.jsonl"
    if not store.exists(key):
        return []
    return [json.loads(line) for line in store.get_bytes(key).decode().splitlines() if line.strip()]


def loss_plot(store: ObjectStore, run_id: str, stages: list[str]) -> str | None:
    """One line per stage: loss against the global step; base64 PNG, None without metrics."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    offset, drawn = 0, False
    for stage in stages:
        rows = [r for r in _stage_metrics(store, run_id, stage) if "loss" in r and "step" in r]
        if not rows:
            continue
        steps = [offset + int(r["step"]) for r in rows]
        ax.plot(steps, [float(r["loss"]) for r in rows], marker=".", label=stage)
        offset, drawn = steps[-1], True
    if not drawn:
        plt.close(fig)
        return None
    ax.set(xlabel="step (stages back to back)", ylabel="EDM loss", yscale="log", title="Training loss")
    ax.legend()
    ax.grid(alpha=0.3)
    return _png(fig)


def frames_strip(rows: list[np.ndarray], labels: list[str]) -> str:
    """A grid: one row per video (``[F, H, W, 3]`` in [0, 1]), one column per frame; base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(len(v) for v in rows)
    fig, axes = plt.subplots(len(rows), n, figsize=(1.3 * n, 1.4 * len(rows)), squeeze=False)
    for r, (video, label) in enumerate(zip(rows, labels, strict=True)):
        for c in range(n):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(video):
                ax.imshow(np.clip(video[c], 0, 1), interpolation="nearest")
        axes[r][0].set_title(label, fontsize=8, loc="left")
    return _png(fig)


def _metric_rows(cand: dict[str, float], champ: dict[str, float] | None) -> list[dict[str, Any]]:
    rows = []
    for name, (lower, _) in METRICS.items():
        c, b = cand.get(name), (champ or {}).get(name)
        change, cls = "—", ""
        if c is not None and b is not None:
            delta = c - b
            change = f"{delta:+.4g}"
            cls = "ok" if (delta <= 0) == lower or delta == 0 else "bad"
        rows.append({"name": name, "better": "lower" if lower else "higher", "candidate": c, "champion": b,
                     "change": change, "cls": cls})
    return rows


def render_report(store: ObjectStore, record: dict[str, Any], clips: list[HeldoutClip],
                  cand_videos: list[np.ndarray], champ_videos: list[np.ndarray] | None) -> str:
    """The report HTML for an ``eval.json`` record (images embedded)."""
    import jinja2

    from evaluation.metrics import to_unit

    stages = record["stages"]
    stage_rows = []
    for stage in stages:
        key = f"runs/{record['run_id']}/{stage}/result.json"
        if store.exists(key):
            stage_rows.append(json.loads(store.get_bytes(key)))
    samples = []
    for i, clip in enumerate(clips[:3]):
        videos, labels = [to_unit(clip.frames), cand_videos[i]], ["real", "candidate"]
        if champ_videos:
            videos.append(champ_videos[i])
            labels.append(f"champion v{record['champion_version']}")
        samples.append({"clip_id": clip.clip_id, "png": frames_strip(videos, labels)})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return env.get_template("report.html.j2").render(
        r=record, fmt=fmt, generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        metric_rows=_metric_rows(record["metrics"], record.get("champion")),
        explain="; ".join(f"{k}: {v[1]}" for k, v in METRICS.items()),
        loss_plot=loss_plot(store, record["run_id"], stages), stage_rows=stage_rows, samples=samples,
        has_champion=bool(champ_videos),
    )
