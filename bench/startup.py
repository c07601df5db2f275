"""Cold start and memory: time from `transcribe-emulator serve` to the first job completed, and
resident memory idle and after a diarized job.

    python bench/startup.py                                  # this checkout's emulator
    python bench/startup.py --emulator-bin /other/venv/bin/transcribe-emulator --label before

Run from the repository root with the project's virtualenv (boto3, psutil from the test
extras). Each run uses a fresh data dir, free ports and the embedded S3, as a new user's
first start does. Figures:
- ready_s: spawn -> /_emulator/health answers "ok" (older emulators without readiness: 200);
- first_job_s: spawn -> a 4.9 s clip (ls_61-70968-0000) COMPLETED, the upload included;
- job_s: StartTranscriptionJob -> COMPLETED of that first job;
- rss_idle_mb: the emulator process (not its SeaweedFS child) 2 s after that job;
- rss_diarized_mb: the same after a ShowSpeakerLabels job on the 30 s two-speaker pyannote_sample;
- s3_rss_mb: the SeaweedFS child, for reference.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support import CREDENTIALS, audio_path, free_port, free_s3_base, wait_for_job  # noqa: E402


def _wait_ready(endpoint: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"emulator exited {proc.returncode}")
        try:
            response = httpx.get(endpoint + "/_emulator/health", timeout=2)
            if response.status_code == 200 and response.json().get("status", "ok") == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise TimeoutError("emulator not ready")


def measure(emulator_bin: str) -> dict:
    port, s3_port = free_port(), free_s3_base()
    endpoint = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        args = [emulator_bin, "serve", "--port", str(port), "--s3-port", str(s3_port), "--data-dir",
                f"{tmp}/data", "--https-port", "0", "--websocket-port", "0"]
        spawned = time.monotonic()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_ready(endpoint, proc)
            out = {"ready_s": time.monotonic() - spawned}
            client = boto3.client("transcribe", endpoint_url=endpoint, **CREDENTIALS)
            s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}", **CREDENTIALS)
            s3.create_bucket(Bucket="media")
            s3.upload_file(str(audio_path("ls_61-70968-0000")), "media", "clip.flac")
            started = time.monotonic()
            client.start_transcription_job(TranscriptionJobName="first", LanguageCode="en-US",
                                           Media={"MediaFileUri": "s3://media/clip.flac"})
            assert wait_for_job(client, "first")["TranscriptionJobStatus"] == "COMPLETED"
            done = time.monotonic()
            out.update(first_job_s=done - spawned, job_s=done - started)
            time.sleep(2)
            emulator = psutil.Process(proc.pid)
            out["rss_idle_mb"] = emulator.memory_info().rss / 2**20
            s3.upload_file(str(audio_path("pyannote_sample")), "media", "two.wav")
            started = time.monotonic()
            client.start_transcription_job(
                TranscriptionJobName="diarized", LanguageCode="en-US", Media={"MediaFileUri": "s3://media/two.wav"},
                Settings={"ShowSpeakerLabels": True, "MaxSpeakerLabels": 4},
            )
            assert wait_for_job(client, "diarized")["TranscriptionJobStatus"] == "COMPLETED"
            out["diarized_job_s"] = time.monotonic() - started
            out["rss_diarized_mb"] = emulator.memory_info().rss / 2**20
            out["s3_rss_mb"] = sum(c.memory_info().rss for c in emulator.children(recursive=True)) / 2**20
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                out_code = proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out_code = proc.wait()
        out["exit_code"] = out_code
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emulator-bin", default=str(Path(sys.executable).parent / "transcribe-emulator"))
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    runs = [measure(args.emulator_bin) for _ in range(args.runs)]
    print(f"## {args.label} ({args.emulator_bin})")
    for key in runs[0]:
        values = ", ".join(f"{r[key]:.2f}" if isinstance(r[key], float) else str(r[key]) for r in runs)
        print(f"{key:18s} {values}")
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"startup-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
        json.dumps({"label": args.label, "bin": args.emulator_bin, "runs": runs}, indent=1)
    )


if __name__ == "__main__":
    main()
