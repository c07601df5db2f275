"""The bigger wire fuzz, run by hand (not part of the suite): counts per area, tried / 5xx /
refused (4xx) / accepted (2xx), against a fresh emulator started from a source tree.

    .venv/bin/python -m tests.e2e.fuzz_wire --requests 10000            # this tree
    .venv/bin/python -m tests.e2e.fuzz_wire --source /tmp/wire-before   # another checkout

Areas: `fuzz` (hypothesis-generated signed requests of every operation, tests/e2e/wire_requests),
`nulls` (the null sweep), `surrogates` (lone surrogates and NUL in every string member of every
operation's minimal request), `tampered` (signatures that must not verify: "accepted" counts the
ones that did), `big` (over-limit bodies: RSS growth of the emulator reported).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

import httpx
import psutil
from hypothesis import HealthCheck, given, settings

from tests.e2e import wire_requests as w
from tests.support import EmulatorProcess

HOSTILE_STRINGS = ["\ud800", "a\udfffb", "\x00", "a\x00b"]


class Counts:
    def __init__(self):
        self.areas: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.samples: dict[str, list[str]] = collections.defaultdict(list)

    def add(self, area: str, response: httpx.Response | None, what: str = "") -> None:
        counter = self.areas[area]
        counter["tried"] += 1
        if response is None:
            counter["no answer"] += 1
            return
        status = response.status_code
        kind = "5xx" if status >= 500 else "refused" if status >= 400 else "accepted"
        counter[kind] += 1
        if kind == "5xx" and len(self.samples[area]) < 10:
            self.samples[area].append(f"{what} -> {status} {response.text[:200]}")

    def report(self) -> str:
        lines = []
        for area, c in self.areas.items():
            extra = "".join(f" {k}={v}" for k, v in c.items() if k not in ("tried", "5xx", "refused", "accepted"))
            lines.append(
                f"{area}: tried={c['tried']} 5xx={c['5xx']} refused={c['refused']} accepted={c['accepted']}{extra}"
            )
            lines += [f"    {s}" for s in self.samples[area]]
        return "\n".join(lines)


def post(client: httpx.Client, endpoint: str, target: str, body: bytes, path: str = "/", headers=None):
    try:
        return client.post(
            endpoint + path, content=body, headers=headers or w.signed_headers(endpoint, target, body, path)
        )
    except httpx.HTTPError:
        return None


def run_fuzz(counts: Counts, client, endpoint: str, n: int) -> None:
    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(w.requests())
    def one(request):
        operation, target, body = request
        counts.add("fuzz", post(client, endpoint, target, body), f"{target} {body[:120]!r}")

    one()


def run_nulls(counts: Counts, client, endpoint: str) -> None:
    for operation in w.operations():
        for label, params in w.null_variants(operation):
            body = json.dumps(params).encode()
            counts.add("nulls", post(client, endpoint, "Transcribe." + operation, body), f"{operation} {label}")


def _string_slots(shape, depth: int = 0):
    """(build, label) for each string a request of `shape` can carry, two levels deep: build(text)
    returns a value of `shape` (its valid minimum) with `text` in that one place."""
    kind = shape.type_name
    if kind == "string":
        yield (lambda text: text), ""
    elif depth >= 3:
        return
    elif kind == "structure":
        for name, member in shape.members.items():
            for build, label in _string_slots(member, depth + 1):
                yield (
                    (lambda text, name=name, build=build: {**w.valid_value(shape), name: build(text)}),
                    f".{name}{label}",
                )
    elif kind == "list":
        for build, label in _string_slots(shape.member, depth + 1):
            yield (lambda text, build=build: [build(text)]), f"[0]{label}"
    elif kind == "map":
        value = w.valid_value(shape.value)
        yield (lambda text: {text: value}), "{key}"
        for build, label in _string_slots(shape.value, depth + 1):
            yield (lambda text, build=build: {w.valid_value(shape.key): build(text)}), f"{{value}}{label}"


def run_surrogates(counts: Counts, client, endpoint: str) -> None:
    for operation in w.operations():
        shape = w.input_shape(operation)
        if shape is None:
            continue
        for build, label in _string_slots(shape):
            for text in HOSTILE_STRINGS:
                body = json.dumps(build(text)).encode()
                counts.add(
                    "surrogates",
                    post(client, endpoint, "Transcribe." + operation, body),
                    f"{operation}{label} {text!r}",
                )


def tamper_cases(endpoint: str):
    """(label, path, headers, body) of requests whose signature must not verify."""
    a = json.dumps(
        {"TranscriptionJobName": "wire-tamper-a", "LanguageCode": "en-US", "Media": {"MediaFileUri": w.MISSING_MEDIA}}
    ).encode()
    b = a.replace(b"wire-tamper-a", b"wire-tamper-b")
    target = "Transcribe.StartTranscriptionJob"
    sha_a = hashlib.sha256(a).hexdigest()

    def signed(body, extra=None, path="/"):
        return w.signed_headers(endpoint, target, body, path, extra=extra)

    yield "body changed", "/", signed(a), b
    yield "signed content-sha256 of A, body B", "/", signed(a, {"X-Amz-Content-SHA256": sha_a}), b
    unsigned = signed(a)
    unsigned["X-Amz-Content-SHA256"] = sha_a
    yield "unsigned content-sha256 of A, body B", "/", unsigned, b
    yield "UNSIGNED-PAYLOAD signed", "/", signed(b, {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}), b
    yield (
        "STREAMING-AWS4-HMAC-SHA256-EVENTS signed",
        "/",
        signed(b, {"X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-EVENTS"}),
        b,
    )
    headers = signed(b)
    headers["X-Amz-Target"] = "Transcribe.DeleteTranscriptionJob"
    yield "target changed", "/", headers, b
    yield "path changed", "/other", signed(b), b
    headers = signed(b)
    auth = headers["Authorization"]
    headers["Authorization"] = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    yield "signature digit changed", "/", headers, b
    headers = signed(b)
    headers["X-Amz-Date"] = headers["X-Amz-Date"][:-3] + ("00Z" if not headers["X-Amz-Date"].endswith("00Z") else "01Z")
    yield "date changed", "/", headers, b


def run_tampered(counts: Counts, client, endpoint: str) -> None:
    for label, path, headers, body in tamper_cases(endpoint):
        response = post(client, endpoint, "", body, path, headers)
        counts.add("tampered", response, label)
        if response is not None and response.status_code < 400:
            counts.samples["tampered"].append(f"ACCEPTED: {label}")


def run_big(counts: Counts, client, endpoint: str, pid: int) -> None:
    process = psutil.Process(pid)
    size = 64 * 1024 * 1024

    def chunks():
        piece = b'{"x":"' + b"a" * (1024 * 1024 - 6)
        yield piece
        for _ in range(size // len(piece)):
            yield b"a" * (1024 * 1024)
        yield b'"}'

    for label, content in (("64 MiB with Content-Length", b"a" * size), ("64 MiB chunked", chunks())):
        before = process.memory_info().rss
        target = "Transcribe.ListTranscriptionJobs"
        headers = {"Content-Type": w.CONTENT_TYPE, "X-Amz-Target": target}  # unauthenticated, as in the issue
        try:
            response = client.post(endpoint + "/", content=content, headers=headers, timeout=120)
        except httpx.HTTPError as e:
            response = None
            counts.samples["big"].append(f"{label}: {type(e).__name__}")
        grown = (process.memory_info().rss - before) / 2**20
        counts.add("big", response, label)
        counts.areas["big"][f"rss+MiB[{label}]"] = round(grown)
        if response is not None:
            counts.samples["big"].append(f"{label}: {response.status_code} {response.text[:120]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--source", help="source tree to run the emulator from (PYTHONPATH)")
    parser.add_argument("--areas", default="tampered,nulls,surrogates,big,fuzz")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    env = {"PYTHONPATH": str(Path(args.source).resolve())} if args.source else {}
    data = Path(tempfile.mkdtemp(prefix="wire-fuzz-")) / "data"
    emulator = EmulatorProcess(data, extra_args=["--lazy-models"], env=env).start()
    counts = Counts()
    started = time.monotonic()
    try:
        with httpx.Client(timeout=60) as client:
            areas = args.areas.split(",")
            if "tampered" in areas:
                run_tampered(counts, client, emulator.endpoint)
            if "nulls" in areas:
                run_nulls(counts, client, emulator.endpoint)
            if "surrogates" in areas:
                run_surrogates(counts, client, emulator.endpoint)
            if "big" in areas:
                run_big(counts, client, emulator.endpoint, emulator.proc.pid)
            if "fuzz" in areas:
                run_fuzz(counts, client, emulator.endpoint, args.requests)
    finally:
        emulator.stop()
    print(f"source: {args.source or os.getcwd()}  ({time.monotonic() - started:.0f} s)")
    print(counts.report())


if __name__ == "__main__":
    main()
