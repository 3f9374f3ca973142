"""The stakeholder-facing HTML evaluation report: one self-contained file per candidate.

Everything is inlined (animated WebP previews, PNG plots as ``data:`` URIs, CSS);
nothing is fetched from the network when it is opened. Sections: the verdict
and every gate check with its reason; the metric table (candidate, champion,
change, bootstrap intervals, paired-difference intervals, what was not computed
and why); per evaluation sample the conditioning image and the reference, the
candidate and the champion videos playing side by side; the
motion-faithfulness plot; the training loss of the three stages; lineage
(evaluation set, dataset with its data card, run, code version).
"""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evaluation.scoring import LOWER_IS_BETTER, to_unit

if TYPE_CHECKING:
    from evaluation.scoring import EvalSample
    from vidforge.store import ObjectStore

TEMPLATES = Path(__file__).parent / "templates"
#: metric → short explanation shown in the table
EXPLAIN = {
    "heldout_loss": "EDM denoising loss on the evaluation clips",
    "first_frame_psnr": "generated first frame vs the conditioning image, dB",
    "video_psnr": "generated video vs the reference clip, dB",
    "ssim": "structural similarity to the reference clip",
    "lpips": "learned perceptual distance to the reference clip",
    "temporal_psnr": "consecutive generated frames, dB (smoothness)",
    "temporal_gap_db": "|smoothness − reference's smoothness|, dB",
    "flow_warp_error": "error after warping each frame onto the next with optical flow",
    "clip_image": "CLIP cosine, conditioning image vs generated frames",
    "clip_text": "CLIP cosine, caption vs generated frames",
    "fvd": "Fréchet video distance to the evaluation set (I3D)",
    "fid": "Fréchet inception distance of frames to the evaluation set",
    "motion_faithfulness": "rank correlation of requested motion bucket and measured motion",
}
PREVIEW_PX = 160  # previews are upscaled (nearest) to about this height so tiny models stay visible


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


def animated_webp(video: np.ndarray, fps: float = 7.0) -> str:
    """An endlessly looping animated WebP (lossless) of ``[T, H, W, 3]`` in [0, 1]; base64."""
    from PIL import Image

    frames = (np.clip(video, 0, 1) * 255).round().astype(np.uint8)
    scale = max(1, PREVIEW_PX // frames.shape[1])
    images = [Image.fromarray(f).resize((f.shape[1] * scale, f.shape[0] * scale), Image.NEAREST) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="WEBP", save_all=True, append_images=images[1:], duration=int(1000 / max(fps, 1)),
                   loop=0, lossless=True)
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


def motion_plot(motion: dict[str, Any]) -> str | None:
    """Measured mean flow against the requested motion bucket, per image, candidate vs champion; base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not motion.get("candidate"):
        return None
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for who, style in (("candidate", "-o"), ("champion", "--s")):
        for i, flows in enumerate(motion.get(who) or []):
            ax.plot(motion["buckets"], flows, style, label=f"{who}, image {i + 1}")
    ax.set(xlabel="requested motion_bucket_id", ylabel="measured mean flow (px/frame)", title="Motion faithfulness")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def _iv(d: dict[str, Any] | None) -> str:
    return "—" if not d else f"[{d['low']:.4g}, {d['high']:.4g}]"


def metric_rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per known metric: values, change with its sign judged, intervals, or why it is missing."""
    cand, champ = r["metrics"], r.get("champion") or {}
    rows = []
    for name, lower in LOWER_IS_BETTER.items():
        c, b = cand.get(name), champ.get(name)
        change, cls = "—", ""
        if c is not None and b is not None:
            delta = c - b
            change = f"{delta:+.4g}"
            cls = "" if delta == 0 else ("ok" if (delta < 0) == lower else "bad")
        rows.append({"name": name, "better": "lower" if lower else "higher", "explain": EXPLAIN.get(name, ""),
                     "candidate": c, "champion": b, "change": change, "cls": cls,
                     "ci": _iv(r.get("intervals", {}).get(name)),
                     "champion_ci": _iv(r.get("champion_intervals", {}).get(name)),
                     "paired": _iv(r.get("paired", {}).get(name)),
                     "missing": r.get("not_computed", {}).get(name, "")})
    return rows


def render_report(store: ObjectStore, record: dict[str, Any], samples: list[EvalSample],
                  cand_videos: list[np.ndarray], champ_videos: list[np.ndarray] | None) -> str:
    """The report HTML for an ``eval.json`` record (previews and plots embedded)."""
    import jinja2

    from vidforge.version import code_version

    stages = record["stages"]
    stage_rows = []
    for stage in stages:
        key = f"runs/{record['run_id']}/{stage}/result.json"
        if store.exists(key):
            stage_rows.append(json.loads(store.get_bytes(key)))
    previews = []
    for i, s in enumerate(samples):
        real = to_unit(s.frames)
        previews.append({
            "sample_id": s.sample_id, "caption": s.caption, "bucket": s.motion_bucket,
            "cond": animated_webp(real[:1]), "reference": animated_webp(real, s.fps),
            "candidate": animated_webp(cand_videos[i], s.fps),
            "champion": animated_webp(champ_videos[i], s.fps) if champ_videos else None,
        })
    dataset = f"{record['dataset_name']}/{record['dataset_version']}"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return env.get_template("report.html.j2").render(
        r=record, fmt=fmt, generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        metric_rows=metric_rows(record), loss_plot=loss_plot(store, record["run_id"], stages),
        motion_plot=motion_plot(record.get("motion", {})), stage_rows=stage_rows, previews=previews,
        has_champion=bool(champ_videos), code_version=code_version(),
        datacard_uri=store.uri(f"datasets/{dataset}/datacard.html"), dataset=dataset,
    )
