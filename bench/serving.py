"""Serving overhead benchmark: a job through the HTTP service vs the same generation in-process, same run.

One tiny SVD pipeline (``configs/model/tiny.yaml``, seed 0) is saved as model
version 1 in a temporary registry (SQLite) served over loopback HTTP; the
generation service runs as its own process (``services.serving.main.run``,
``--workers`` workers, ``--threads`` torch threads) and reads the registry's API. The
direct side is a second process of the same kind without the service: it loads
the same directory with the same thread count and, when told, calls what a
worker calls — ``generate_frames`` on the image the service would feed (the
upload resized to the job's resolution) and ``encode_mp4`` — timing the call in
its own process. Both sides thus run in a fresh process holding one model; only
the service machinery (HTTP, upload checks, database, claim, progress writes,
object store, download) differs.

A service job is timed from the start of ``POST /v1/jobs`` to the last byte of
``GET /v1/jobs/{id}/video`` (status long-polled with ``wait``). The two sides
alternate (ABBA order) for ``--repeats`` rounds after one untimed warm-up each; each side's
median is reported and ``overhead`` = service median / direct median. Both
produce the same frames (checked). Then ``--load-jobs`` jobs are submitted by
``--concurrency`` client threads at once: p50/p95 of their latencies and jobs/s.

Usage: ``python bench/serving.py [--repeats 5] [--steps 40] [--frames 4] [--size 64]``.
The last line is ``RESULT name=serving key=value ...``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx
import numpy as np
import uvicorn

from services.registry.api import create_app as registry_app
from services.registry.store import RegistryPolicy, RegistryStore
from services.serving.generate import GenerationParams
from services.serving.images import ImageBounds, prepare
from services.serving.store import JobStore
from training.model import build_pipeline, load_model_config, save_pipeline
from vidforge.digest import sha256_tree
from vidforge.identity import Principal, Role
from vidforge.settings import get_settings
from vidforge.store import LocalStore

ROOT = Path(__file__).resolve().parents[1]
MODEL = "vidforge-i2v"
WORKER: list[tuple[float, float]] = []
"""``(queued_s, run_s)`` of each service job, as the service recorded them."""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} not reached in {timeout} s")


def make_registry(root: Path, artifact: Path, uri: str) -> tuple[Any, str, str]:
    """A registry with version 1 promoted to production; its settings and a viewer token."""
    settings = get_settings(overrides={"home": str(root / "registry-home"), "registry": {
        "db_url": f"sqlite:///{root / 'registry.db'}", "allowed_uri_prefixes": [uri.rsplit('/', 1)[0]]}})
    store = RegistryStore.open(settings.registry.db_url, RegistryPolicy((uri.rsplit("/", 1)[0],)))
    _, admin_plain = store.create_token("bench-admin", "admin", None)
    admin = store.resolve_token(admin_plain)
    _, viewer = store.create_token("bench-serving", "viewer", admin)
    pipeline, reviewer = Principal("bench-pipeline", Role.APPROVER), Principal("bench-reviewer", Role.APPROVER)
    store.create_version(MODEL, pipeline, artifact_uri=uri, sha256=sha256_tree(artifact), gate_passed=True,
                         run_id="bench")
    store.add_approval(MODEL, 1, reviewer, "approved", "bench")
    store.set_alias(MODEL, "production", 1, pipeline, expected_version=None)
    store.dispose()
    return settings, viewer, uri.rsplit("/", 1)[0]


def start_service(root: Path, registry_url: str, viewer: str, allowed: str, args: argparse.Namespace) -> tuple[
        subprocess.Popen[bytes], str, str]:
    """The service in a child process; returns it, its base URL and a client token."""
    port = free_port()
    overrides = {
        "home": str(root / "serving-home"), "log_level": "WARNING",
        "registry": {"url": registry_url, "model_name": MODEL, "allowed_uri_prefixes": [allowed]},
        "serving": {"host": "127.0.0.1", "port": port, "torch_threads": args.threads, "workers": args.workers,
                    "max_steps": max(50, args.steps), "max_frames": max(32, args.frames), "poll_interval_s": 5,
                    "max_active_jobs_per_token": 1000, "max_queue": 1000, "submit_burst": 1000},
    }
    settings = get_settings(overrides=overrides)
    jobs = JobStore.from_settings(settings)
    _, client_token = jobs.create_token("bench-client", "jobs:submit,jobs:read", "bench")
    jobs.dispose()
    code = ("import json, sys\nfrom vidforge.settings import get_settings\nfrom services.serving.main import run\n"
            "run(get_settings(overrides=json.loads(sys.argv[1])))\n")
    env = {**os.environ, "VIDFORGE_REGISTRY__TOKEN": viewer}
    proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(overrides)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, 180, "service readiness")
    return proc, base, client_token


def service_job(client: httpx.Client, image: bytes, fields: dict[str, str]) -> tuple[float, bytes]:
    """Seconds from submit to the last byte of the mp4, and the mp4 (the job's own timings go to ``WORKER``)."""
    started = time.perf_counter()
    r = client.post("/v1/jobs", files={"image": ("in.png", image, "image/png")}, data=fields)
    r.raise_for_status()
    job_id = r.json()["job_id"]
    while True:
        job = client.get(f"/v1/jobs/{job_id}", params={"wait": 30}).json()
        if job["status"] not in ("queued", "running"):
            break
    if job["status"] != "succeeded":
        raise RuntimeError(f"job {job_id} ended {job['status']}: {job['error']}")
    video = client.get(f"/v1/jobs/{job_id}/video").content
    WORKER.append((job["queued_s"], job["run_s"]))
    return time.perf_counter() - started, video


_DIRECT = """
import json, sys, time
import torch
from services.serving.generate import GenerationParams, encode_mp4, generate_frames
from services.serving.images import decode_png
from training.model import load_pipeline
path, threads, params, image = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
torch.set_num_threads(threads)
pipe = load_pipeline(path)
pipe.set_progress_bar_config(disable=True)
params = GenerationParams.from_dict(params)
picture = decode_png(open(image, "rb").read())
print("ready", flush=True)
for line in sys.stdin:
    started = time.perf_counter()
    frames = generate_frames(pipe, picture, params)
    encode_mp4(frames, params.fps, line.strip())
    print(time.perf_counter() - started, flush=True)
"""


class DirectSide:
    """``generate_frames`` + ``encode_mp4`` in a process of their own, timed there."""

    def __init__(self, model_dir: Path, params: GenerationParams, image_png: Path, threads: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _DIRECT, str(model_dir), str(threads), json.dumps(params.to_dict()),
             str(image_png)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def job(self, out: Path) -> tuple[float, bytes]:
        """Seconds of one generation + encoding, and the mp4."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{out}\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline()), out.read_bytes()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(30)


def decode(data: bytes) -> np.ndarray:
    import av

    with av.open(io.BytesIO(data)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def load_phase(base: str, token: str, image: bytes, fields: dict[str, str], jobs: int, concurrency: int
               ) -> tuple[list[float], float]:
    """Latencies of ``jobs`` jobs sent by ``concurrency`` threads at once, and the wall time."""
    latencies: list[float] = []
    todo = list(range(jobs))
    lock = threading.Lock()

    def client_loop() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            while True:
                with lock:
                    if not todo:
                        return
                    todo.pop()
                seconds, _ = service_job(client, image, fields)
                with lock:
                    latencies.append(seconds)

    started = time.perf_counter()
    threads = [threading.Thread(target=client_loop) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - started


def overhead_phase(args: argparse.Namespace, client: httpx.Client, direct: DirectSide, upload: bytes,
                   fields: dict[str, str], out: Path) -> dict[str, Any]:
    """Interleaved timed jobs of both sides (after one warm-up each): medians, ratio, same-frames check."""
    _, svc_mp4 = service_job(client, upload, fields)  # warm-up, untimed
    _, dir_mp4 = direct.job(out)
    identical = bool(np.array_equal(decode(svc_mp4), decode(dir_mp4)))
    times: dict[str, list[float]] = {"service": [], "direct": []}
    for r in range(args.repeats):
        for side in ("service", "direct") if r % 2 == 0 else ("direct", "service"):  # ABBA
            seconds = (service_job(client, upload, fields) if side == "service" else direct.job(out))[0]
            times[side].append(seconds)
            print(f"round {r + 1} {side:8s} {seconds:7.3f} s", flush=True)
    med = {side: statistics.median(v) for side, v in times.items()}
    timed = WORKER[1:]  # the warm-up job first
    run_s, queued_s = statistics.median(r for _, r in timed), statistics.median(q for q, _ in timed)
    overhead = med["service"] / med["direct"]
    print(f"service jobs as recorded: median queued {queued_s:.3f} s, run (claim to finish) {run_s:.3f} s")
    print(f"median service {med['service']:.3f} s, direct {med['direct']:.3f} s, overhead {overhead:.3f} "
          f"(target <= 1.03), same frames: {identical}")
    return {"overhead": f"{overhead:.3f}", "service_s": f"{med['service']:.3f}", "direct_s": f"{med['direct']:.3f}",
            "worker_run_s": f"{run_s:.3f}", "queued_s": f"{queued_s:.3f}", "identical": str(identical).lower()}


def load_figures(args: argparse.Namespace, base: str, token: str, upload: bytes, fields: dict[str, str]
                 ) -> dict[str, Any]:
    """p50/p95 latency and jobs/s of ``--load-jobs`` jobs sent by ``--concurrency`` clients at once."""
    latencies, wall = load_phase(base, token, upload, fields, args.load_jobs, args.concurrency)
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    print(f"load: {args.load_jobs} jobs by {args.concurrency} clients in {wall:.1f} s: p50 {p50:.2f} s, "
          f"p95 {p95:.2f} s, {args.load_jobs / wall:.3f} jobs/s ({args.workers} worker(s))")
    return {"load_jobs": args.load_jobs, "concurrency": args.concurrency, "p50_s": f"{p50:.3f}",
            "p95_s": f"{p95:.3f}", "jobs_per_s": f"{args.load_jobs / wall:.3f}", "workers": args.workers}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed jobs per side, interleaved")
    parser.add_argument("--steps", type=int, default=40, help="denoising steps (generation must dominate)")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--size", type=int, default=64, help="height = width (multiple of 8)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of each side")
    parser.add_argument("--load-jobs", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="worker threads of the service")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="vidforge-bench-serving-"))
    artifacts = LocalStore(root / "artifacts")
    path = save_pipeline(build_pipeline(load_model_config("tiny"), seed=0), artifacts.local_path("tiny/v1"))
    reg_settings, viewer, allowed = make_registry(root, path, artifacts.uri("tiny/v1"))
    reg_port = free_port()
    registry = uvicorn.Server(uvicorn.Config(registry_app(reg_settings, dispatch_webhooks=False), host="127.0.0.1",
                                             port=reg_port, log_level="warning"))
    threading.Thread(target=registry.run, daemon=True).start()
    proc, base, token = start_service(root, f"http://127.0.0.1:{reg_port}", viewer, allowed, args)
    try:
        from PIL import Image

        buf = io.BytesIO()
        pixels = np.random.default_rng(0).integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(buf, format="PNG")
        upload = buf.getvalue()
        fields = {"num_frames": str(args.frames), "num_inference_steps": str(args.steps), "seed": "7", "fps": "7",
                  "height": str(args.size), "width": str(args.size), "motion_bucket_id": "127"}
        params = GenerationParams(height=args.size, width=args.size, num_frames=args.frames,
                                  num_inference_steps=args.steps, fps=7, motion_bucket_id=127, noise_aug_strength=0.02,
                                  min_guidance_scale=1.0, max_guidance_scale=3.0, seed=7)
        fed = root / "fed.png"  # what the service feeds the pipeline: the upload resized to the job's size
        fed.write_bytes(prepare(upload, ImageBounds(1 << 24, 8, 1 << 24), (args.size, args.size)))
        direct = DirectSide(path, params, fed, args.threads)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=300) as client:
            figures = overhead_phase(args, client, direct, upload, fields, root / "direct.mp4")
        direct.close()
        figures |= load_figures(args, base, token, upload, fields)
    finally:
        proc.terminate()
        proc.wait(30)
        registry.should_exit = True
    setup = {"repeats": args.repeats, "steps": args.steps, "frames": args.frames, "size": f"{args.size}x{args.size}",
             "threads": args.threads, "cpus": os.cpu_count()}
    print("RESULT name=serving " + " ".join(f"{k}={v}" for k, v in (figures | setup).items()))


if __name__ == "__main__":
    main()
