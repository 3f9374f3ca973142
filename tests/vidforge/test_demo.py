"""The whole platform end to end: ``vidforge demo`` through real Airflow DAG runs and HTTP serving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
@pytest.mark.timeout(2400)  # two full demos; ~5 min on an idle 2-core machine
def test_demo_runs_end_to_end_twice_and_hot_swaps(tmp_path: Path) -> None:
    import av

    env = {
        **os.environ, "VIDFORGE_HOME": str(tmp_path / "home"), "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "NO_COLOR": "1",
    }
    env = {k: v for k, v in env.items() if not k.startswith("VIDFORGE_") or k == "VIDFORGE_HOME"}
    vidforge = str(Path(sys.executable).parent / "vidforge")
    summaries = []
    for i in range(2):
        out = tmp_path / f"out{i}"
        proc = subprocess.run([vidforge, "demo", "--out-dir", str(out)], env=env, capture_output=True, text=True,
                              timeout=1200, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        summaries.append(json.loads((out / "summary.json").read_text()))
    first, second = summaries
    for s in summaries:
        assert s["clips_in"] == s["clips_kept"] + s["clips_filtered"] + s["clips_quarantined"] > 0
        assert s["sources_quarantined"] == 1  # the corrupt input, quarantined not crashed
        assert [st["stage"] for st in s["stages"]] == ["stage1_image", "stage2_video", "stage3_finetune"]
        assert all(st["steps"] > 0 and st["last_loss"] > 0 for st in s["stages"])
        assert s["gate"]["passed"] and s["alias"] == "production"
        with av.open(s["served_video"]) as c:
            assert sum(1 for _ in c.decode(video=0)) == 8
    assert (first["model_version"], second["model_version"]) == (1, 2)
    assert second["served_model_version"] == 2  # the service picked up the newly promoted version
    assert second["gate"]["champion_version"] == 1
    assert first["dataset_version"] != second["dataset_version"]


