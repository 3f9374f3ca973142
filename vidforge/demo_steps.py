"""The steps of ``vidforge demo``: each runs a real process and reads its outputs back."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from vidforge.demo_registry import approve_as_reviewer, ensure_identities
from vidforge.ids import new_id
from vidforge.settings import Settings, get_settings
from vidforge.store import ObjectStore, open_store
from vidforge.testmedia import bikes_path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class DemoContext:
    """Paths, environment and ids shared by the demo's steps."""

    out_dir: Path
    dataset: str
    version: str
    run_id: str
    settings: Settings
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, out_dir: Path, dataset: str) -> DemoContext:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "logs").mkdir(exist_ok=True)
        settings = get_settings()
        airflow_home = Path(os.environ.get("AIRFLOW_HOME", Path.cwd() / ".airflow")).resolve()
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "VIDFORGE_HOME": str(settings.home),
            "PYTHONUNBUFFERED": "1",
        }
        stamp = new_id("demo")
        return cls(out_dir, dataset, stamp, stamp.replace("demo-", "run-"), settings, env)

    @property
    def store(self) -> ObjectStore:
        return open_store(self.settings.store)

    def read_json(self, key: str) -> dict[str, Any]:
        return dict(json.loads(self.store.get_bytes(key)))


def _bin(name: str) -> str:
    """An executable of this virtualenv (airflow, vidforge), else from PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def _run(ctx: DemoContext, console: Console, label: str, log: str, argv: list[str]) -> None:
    """Run ``argv`` with output to ``logs/<log>``; show a spinner; fail loudly with the log tail."""
    log_path = ctx.out_dir / "logs" / log
    t0 = time.monotonic()
    with console.status(f"{label} …"), log_path.open("w") as fh:
        proc = subprocess.run(argv, env=ctx.env, stdout=fh, stderr=subprocess.STDOUT, check=False)
    text = log_path.read_text(errors="replace")
    failed = proc.returncode != 0 or "state=failed" in text or "Task failed" in text
    if failed:
        console.print(f"[red]✗ {label} failed[/red] (exit {proc.returncode}); last lines of {log_path}:")
        console.print("\n".join(text.splitlines()[-40:]), markup=False, highlight=False)
        raise typer.Exit(1)
    console.print(f"[green]✓[/green] {label} [dim]({time.monotonic() - t0:.1f} s, log: {log_path})[/dim]")


def step_airflow(ctx: DemoContext, console: Console) -> None:
    Path(ctx.env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    _run(ctx, console, "Airflow metadata DB (SQLite) migrated", "airflow-db.log", [_bin("airflow"), "db", "migrate"])


def step_inputs(ctx: DemoContext, console: Console) -> list[str]:
    inputs = ctx.out_dir / "inputs"
    shutil.rmtree(inputs, ignore_errors=True)
    _run(ctx, console, "synthetic videos with ground truth written", "synth.log",
         [_bin("vidforge"), "synth", str(inputs)])
    shutil.copy(bikes_path(), inputs / "bikes.mp4")
    sources = sorted(str(p) for p in inputs.glob("*.mp4"))
    console.print(f"  inputs: {len(sources)} videos (synthetic with ground truth, bikes.mp4, one corrupt on purpose)")
    return sources


def dags_test(ctx: DemoContext, console: Console, dag_id: str, conf: dict[str, Any]) -> None:
    _run(ctx, console, f"Airflow DAG {dag_id}", f"{dag_id}.log",
         [_bin("airflow"), "dags", "test", dag_id, "--conf", json.dumps(conf)])


def step_evaluate_promote(ctx: DemoContext, console: Console, reviewer: str) -> None:
    """Run the evaluate/promote DAG; while it waits for an approval, the reviewer approves over HTTP."""
    log_path = ctx.out_dir / "logs" / "vidforge_evaluate_promote.log"
    t0 = time.monotonic()
    with log_path.open("w") as fh:
        proc = subprocess.Popen([_bin("airflow"), "dags", "test", "vidforge_evaluate_promote", "--conf",
                                 json.dumps({"run_id": ctx.run_id})], env=ctx.env, stdout=fh, stderr=subprocess.STDOUT)
        try:
            with console.status("Airflow DAG vidforge_evaluate_promote (evaluate → register → approval) …"):
                approve_as_reviewer(ctx, console, proc, reviewer)
            with console.status("Airflow DAG vidforge_evaluate_promote (approval seen → promote) …"):
                proc.wait(timeout=900)
        finally:
            if proc.poll() is None:
                proc.kill()
    text = log_path.read_text(errors="replace")
    if proc.returncode != 0 or "state=failed" in text or "Task failed" in text:
        console.print(f"[red]✗ Airflow DAG vidforge_evaluate_promote failed[/red]; last lines of {log_path}:")
        console.print("\n".join(text.splitlines()[-40:]), markup=False, highlight=False)
        raise typer.Exit(1)
    console.print(f"[green]✓[/green] Airflow DAG vidforge_evaluate_promote [dim]({time.monotonic() - t0:.1f} s, "
                  f"log: {log_path})[/dim]")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def step_serve(ctx: DemoContext, console: Console, image_png: bytes, keep: bool,
               tokens: dict[str, str]) -> dict[str, Any]:
    """Start ``vidforge serve`` (reading the registry over its API), wait until ready, run one job, save the mp4.

    The service resolves ``production`` as ``demo-serving`` (a registry viewer) and the
    job is submitted as ``demo-client`` (a serving token with jobs:submit and jobs:read).
    """
    import httpx

    from vidforge.demo_registry import SERVING_CLIENT, registry_server

    port = _free_port()
    with registry_server(ctx, "registry-for-serving.log") as registry_url:
        log = (ctx.out_dir / "logs" / "serving.log").open("w")
        env = {**ctx.env, "VIDFORGE_REGISTRY__TOKEN": tokens["demo-serving"]}
        proc = subprocess.Popen(
            [_bin("vidforge"), "--set", f"serving.port={port}", "--set", "serving.poll_interval_s=2",
             "--set", f"registry.url={registry_url}", "serve"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {tokens[SERVING_CLIENT]}"}
        try:
            with console.status("serving: waiting for the production model …"):
                _wait(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, 180, proc)
            with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
                r = client.post("/v1/jobs", files={"image": ("frame.png", image_png, "image/png")},
                                data={"num_frames": "8", "num_inference_steps": "8", "seed": "7", "fps": "8"})
                r.raise_for_status()
                job = r.json()
                with console.status(f"serving: job {job['job_id']} …"):
                    _wait(lambda: client.get(f"/v1/jobs/{job['job_id']}", params={"wait": 10}).json()["status"]
                          in ("succeeded", "failed", "cancelled"), 300, proc)
                status = client.get(f"/v1/jobs/{job['job_id']}").json()
                if status["status"] != "succeeded":
                    raise RuntimeError(f"generation job ended {status['status']}: {status.get('error')}")
                video = ctx.out_dir / "served.mp4"
                video.write_bytes(client.get(status["results"]["video_url"]).content)
            model = status["model"]
            console.print(f"[green]✓[/green] served model v{model['version']} (sha256 {model['sha256'][:12]}…) "
                          f"→ {video}")
            return {"served_video": str(video), "served_model_version": model["version"], "job": status}
        finally:
            if keep:
                console.print(f"service left running at {base} (pid {proc.pid}); registry stops with the demo")
            else:
                proc.terminate()
                proc.wait(timeout=30)
            log.close()


def _wait(ready: Callable[[], bool], timeout_s: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"service exited with {proc.returncode}; see demo-output/logs/serving.log")
        try:
            if ready():
                return
        except Exception:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"not ready after {timeout_s} s")


def first_frame_png(ctx: DemoContext, clip_uri: str) -> bytes:
    """The first frame of a curated clip, as PNG bytes (the demo's conditioning image)."""
    import io

    import av

    from vidforge.store import open_uri

    store, key = open_uri(clip_uri, ctx.settings.store)
    with av.open(io.BytesIO(store.get_bytes(key))) as container:
        frame = next(container.decode(video=0)).to_image()
    buf = io.BytesIO()
    frame.save(buf, format="PNG")
    return buf.getvalue()


def run_steps(ctx: DemoContext, console: Console, keep_serving: bool = False) -> dict[str, Any]:
    """All demo steps in order; returns the summary (without elapsed time)."""
    from vidforge.dataset import load_dataset

    console.rule("vidforge demo")
    step_airflow(ctx, console)
    tokens = ensure_identities(ctx, console)
    sources = step_inputs(ctx, console)
    dags_test(ctx, console, "vidforge_curate", {"sources": sources, "dataset": ctx.dataset, "version": ctx.version})
    ds = load_dataset(ctx.store, ctx.dataset, ctx.version)
    console.print(f"  dataset {ctx.dataset}/{ctx.version}: {ds.info.clips_kept} kept of {ds.info.clips_in} clips")
    dags_test(ctx, console, "vidforge_train", {"dataset": ctx.dataset, "version": ctx.version, "run_id": ctx.run_id})
    step_evaluate_promote(ctx, console, tokens["demo-reviewer"])
    promotion = ctx.read_json(f"evaluations/{ctx.run_id}/promotion.json")
    stages = [ctx.read_json(f"runs/{ctx.run_id}/{s}/result.json") for s in promotion["stages"]]
    served = step_serve(ctx, console, first_frame_png(ctx, str(ds.kept["uri"].iloc[0])), keep_serving, tokens)
    return {
        "dataset": ctx.dataset, "dataset_version": ctx.version, "inputs": ds.info.inputs,
        "clips_in": ds.info.clips_in, "clips_kept": ds.info.clips_kept,
        "clips_filtered": ds.info.clips_filtered, "clips_quarantined": ds.info.clips_quarantined,
        "sources_quarantined": ds.info.sources_quarantined,
        "run_id": ctx.run_id,
        "stages": [
            {k: s[k] for k in ("stage", "steps", "first_loss", "last_loss", "checkpoint_uri", "sha256")}
            for s in stages
        ],
        "model": promotion["model"], "model_version": promotion["model_version"], "alias": promotion["alias"],
        "gate": {**promotion["gate"], "metrics": promotion["metrics"]},
        "report": promotion["report_uri"],
        **served,
    }
