"""The CPU bench scripts run end to end and end with a parseable RESULT line (figures are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str) -> dict[str, str]:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True,
                          timeout=600, check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    name = script.removesuffix(".py")
    assert last.startswith(f"RESULT name={name} "), last
    return dict(pair.split("=", 1) for pair in last.split()[1:])


@pytest.mark.slow
def test_cuts_bench_scores_every_detector() -> None:
    result = _run("cuts.py", "--repeats", "1")
    assert float(result["f1_vidforge"]) == 1.0  # the default detector finds every cut of the bench videos
    assert float(result["f1_long_vidforge"]) == 1.0  # ... and of the 40-s 640x360 video
    assert 0.0 < float(result["f1_content"]) <= 1.0 and float(result["speedup_vs_content"]) > 0
    assert int(result["hard_negative_false_cuts_vidforge"]) == 0  # sweeps, whip pans, flashes: no cut
    assert int(result["hard_negative_false_cuts_content"]) >= 0


@pytest.mark.slow
def test_curation_bench_once_and_each_agree() -> None:
    result = _run("curation.py", "--repeats", "1", "--size", "320x180")
    assert result["identical"] == "true"  # decode-once and decode-per-stage give the same signals
    assert int(result["clips"]) > 10 and float(result["speedup"]) > 0


@pytest.mark.slow
def test_train_bench_compares_with_the_bare_loop() -> None:
    result = _run("train.py", "--steps", "2", "--rounds", "1", "--warmup", "1")
    assert float(result["sps_vidforge"]) > 0 and float(result["sps_bare"]) > 0 and float(result["ratio"]) > 0


@pytest.mark.slow
def test_evaluation_bench_times_every_metric_family() -> None:
    result = _run("evaluation.py", "--repeats", "1", "--samples", "2", "--frames", "4", "--size", "32")
    for key in ("ms_generate", "ms_fidelity", "ms_temporal", "ms_lpips", "ms_clip", "ms_fvd_batched", "ms_fid_batched",
                "ms_denoising", "ms_score_total"):
        assert float(result[key]) > 0, key
    assert float(result["real_stats_cache_speedup"]) > 1  # reading cached statistics beats recomputing them


@pytest.mark.slow
def test_serving_bench_compares_the_service_with_the_direct_call() -> None:
    result = _run("serving.py", "--repeats", "1", "--steps", "2", "--frames", "2", "--load-jobs", "2",
                  "--concurrency", "2")
    assert result["identical"] == "true"  # the service produced the frames the direct call did
    assert float(result["overhead"]) > 0 and float(result["jobs_per_s"]) > 0
    assert float(result["p95_s"]) >= float(result["p50_s"]) > 0
