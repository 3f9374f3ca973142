"""Saved pipelines are portable: the public class names, loadable by the oldest declared transformers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from training.model import load_pipeline, save_pipeline
from training.model.io import PORTABLE_PROCESSOR

REPO_ROOT = Path(__file__).resolve().parents[3]
#: A ``pip install --target`` directory holding the oldest transformers pyproject allows, e.g.
#: ``uv pip install --target /tmp/tf-floor --no-deps transformers==4.45.0 "tokenizers<0.21" "huggingface_hub<1"``.
FLOOR_ENV = "VIDFORGE_TRANSFORMERS_FLOOR"


def test_saved_pipeline_names_the_portable_processor(tiny_pipe: Any, tmp_path: Path) -> None:
    out = save_pipeline(tiny_pipe, tmp_path / "p")
    index = json.loads((out / "model_index.json").read_text())
    assert index["feature_extractor"] == ["transformers", PORTABLE_PROCESSOR]
    config = json.loads((out / "feature_extractor" / "preprocessor_config.json").read_text())
    assert config["image_processor_type"] == PORTABLE_PROCESSOR
    again = load_pipeline(out)
    assert again.feature_extractor.image_mean == tiny_pipe.feature_extractor.image_mean


def _floor_version() -> str:
    text = (REPO_ROOT / "pyproject.toml").read_text()
    match = re.search(r'"transformers>=([0-9.]+)"', text)
    assert match, "pyproject declares no transformers floor"
    return match.group(1)


_LOAD_WITH_FLOOR = """
import json, sys, transformers
root = sys.argv[1]
index = json.load(open(root + "/model_index.json"))
for part in ("feature_extractor", "image_encoder"):
    library, name = index[part]
    getattr(transformers, name).from_pretrained(root + "/" + part, local_files_only=True)
print(transformers.__version__)
"""


@pytest.mark.skipif(not os.environ.get(FLOOR_ENV), reason=f"set {FLOOR_ENV} to a transformers-floor install")
def test_saved_pipeline_loads_with_the_lowest_declared_transformers(tiny_pipe: Any, tmp_path: Path) -> None:
    out = save_pipeline(tiny_pipe, tmp_path / "p")
    env = {**os.environ, "PYTHONPATH": os.environ[FLOOR_ENV], "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", _LOAD_WITH_FLOOR, str(out)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    from packaging.version import Version

    assert Version(done.stdout.strip().splitlines()[-1]) == Version(_floor_version())
