"""bench/gpu_smoke: skips cleanly without CUDA, trains the tiny model on CPU, the real thing on a GPU."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest
import torch

from bench.gpu_smoke import main, model_config, parse_args, pick_preset, run

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_smoke.sh"
NO_CUDA = not torch.cuda.is_available()


def _result(line: str) -> dict[str, str]:
    assert line.startswith("RESULT name=gpu_smoke "), line
    return dict(pair.split("=", 1) for pair in line.split()[1:])


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA: the script would train")
def test_script_without_cuda_says_so_and_exits_0() -> None:
    proc = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert "no CUDA" in lines[0] and lines[-1] == "RESULT name=gpu_smoke skipped=no_cuda"


@pytest.mark.skipif(not NO_CUDA, reason="in-process CPU run would clash with a CUDA accelerator state")
def test_tiny_cpu_self_test_trains_and_reports(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCELERATE_USE_CPU", "true")  # what --device cpu sets; restored after the test
    assert main(["--tiny", "--device", "cpu"]) == 0
    fields = _result(capsys.readouterr().out.strip().splitlines()[-1])
    assert (fields["device"], fields["preset"], fields["frames"], fields["resolution"], fields["batch"]) == (
        "cpu", "tiny", "4", "32x32", "1")
    assert float(fields["params_m"]) > 0.5 and float(fields["sps"]) > 0 and float(fields["peak_mem_gb"]) > 0
    assert math.isfinite(float(fields["loss"]))


def test_presets_and_arguments() -> None:
    assert model_config("svd").unet.block_out_channels == (320, 640, 1280, 1280)
    assert model_config("half").unet.block_out_channels == (160, 320, 640, 640)
    assert pick_preset("auto", torch.device("cpu")) == "tiny" and pick_preset("half", torch.device("cpu")) == "half"
    args = parse_args([])
    assert (args.frames, args.height, args.width, args.batch) == (14, 320, 576, 1)
    with pytest.raises(SystemExit):
        parse_args(["--steps", "0"])


@pytest.mark.gpu
@pytest.mark.skipif(NO_CUDA, reason="needs an NVIDIA GPU")
def test_half_size_svd_trains_in_bf16_on_the_gpu() -> None:
    fields = run(parse_args(["--preset", "half", "--steps", "2"]))
    assert fields["device"] != "cpu" and float(fields["params_m"]) > 300 and fields["frames"] == 14
    assert math.isfinite(float(fields["loss"])) and float(fields["peak_mem_gb"]) > 1
