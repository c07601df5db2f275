"""Integration tests for the embedded SeaweedFS S3 server (real `weed` process, loopback only)."""

from __future__ import annotations

import hashlib
import io
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from emulator.storage.seaweed import EmbeddedS3, SeaweedPorts, find_weed_binary

ACCESS_KEY = "AKIAEMULATORTEST"
SECRET_KEY = "emulator-secret-key-0123456789"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Like Go's listeners: ignore TIME_WAIT leftovers, still fail on a live listener.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(attempts: int = 200) -> int:
    """An S3 port whose whole SeaweedPorts.from_base() set is currently free on 127.0.0.1."""
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + 10008 > 65535:
            # The kernel's ephemeral range often sits above what the admin gRPC offset allows.
            base = random.randint(15000, 55000)
        ports = SeaweedPorts.from_base(base)
        if all(_bindable(p) for p in ports.all()):
            return base
    raise RuntimeError("no free port block found")


def make_server(data_dir: Path) -> EmbeddedS3:
    return EmbeddedS3(data_dir, SeaweedPorts.from_base(free_port_block()), ACCESS_KEY, SECRET_KEY)


def minio_client(server: EmbeddedS3, secret_key: str = SECRET_KEY):
    from minio import Minio

    return Minio(f"127.0.0.1:{server.ports.s3}", ACCESS_KEY, secret_key, secure=False, region="us-east-1")


def boto3_client(server: EmbeddedS3):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def process_gone(pid: int) -> bool:
    """True once `pid` has exited (a zombie awaiting its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def listening_sockets(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP listening socket owned by `pid`, IPv4 and IPv6."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A = LISTEN
                continue
            addr_hex, port_hex = local.split(":")
            if len(addr_hex) == 8:
                addr = socket.inet_ntop(socket.AF_INET, bytes.fromhex(addr_hex)[::-1])
            else:
                words = [bytes.fromhex(addr_hex[i : i + 8])[::-1] for i in range(0, 32, 8)]
                addr = socket.inet_ntop(socket.AF_INET6, b"".join(words))
            found.add((addr, int(port_hex, 16)))
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = make_server(tmp_path_factory.mktemp("seaweed"))
    s.start()
    yield s
    s.stop()


# --- pure logic -----------------------------------------------------------------------


def test_port_scheme():
    p = SeaweedPorts.from_base(20000)
    assert (p.s3, p.master, p.master_grpc, p.volume, p.volume_grpc) == (20000, 20001, 20002, 20003, 20004)
    assert (p.filer, p.filer_grpc, p.s3_grpc, p.admin, p.admin_grpc) == (20005, 20006, 20007, 20008, 30008)
    assert len(set(p.all())) == 10
    SeaweedPorts.from_base(65535 - 10008)
    with pytest.raises(ValueError):
        SeaweedPorts.from_base(65535 - 10007)
    with pytest.raises(ValueError):
        SeaweedPorts.from_base(0)


def test_find_weed_binary():
    weed = find_weed_binary()
    assert weed.is_file() and os.access(weed, os.X_OK)


# --- lifecycle ------------------------------------------------------------------------


def test_start_stop(tmp_path):
    s = make_server(tmp_path / "d")
    t0 = time.monotonic()
    s.start()
    elapsed = time.monotonic() - t0
    pid = s.pid
    try:
        assert pid is not None
        assert s.endpoint == f"http://127.0.0.1:{s.ports.s3}"
        assert elapsed < 15, f"start took {elapsed:.1f}s"
        assert minio_client(s).list_buckets() == []
        # The secret lives in this file: it must not be world-readable.
        assert (tmp_path / "d" / "s3-identities.json").stat().st_mode & 0o077 == 0
    finally:
        s.stop()
    assert s.pid is None
    assert process_gone(pid)
    assert _bindable(s.ports.s3)
    s.stop()  # idempotent
    log = (tmp_path / "d" / "seaweedfs.log").read_text()
    assert "mini" in log and f"-s3.port={s.ports.s3}" in log


def test_start_failure_reports_log(tmp_path):
    ports = SeaweedPorts.from_base(free_port_block())
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", ports.master))
        blocker.listen()
        s = EmbeddedS3(tmp_path, ports, ACCESS_KEY, SECRET_KEY)
        with pytest.raises(RuntimeError, match="SeaweedFS"):
            s.start(timeout=20)
    assert s.pid is None


def test_context_manager(tmp_path):
    with make_server(tmp_path) as s:
        pid = s.pid
        assert minio_client(s).list_buckets() == []
    assert process_gone(pid)


# --- S3 behaviour ---------------------------------------------------------------------


def test_minio_roundtrip(server):
    mc = minio_client(server)
    mc.make_bucket("minio-bucket")
    assert mc.bucket_exists("minio-bucket")
    assert "minio-bucket" in [b.name for b in mc.list_buckets()]

    body = b"hello seaweed"
    mc.put_object("minio-bucket", "dir/small.txt", io.BytesIO(body), len(body), content_type="text/plain")
    resp = mc.get_object("minio-bucket", "dir/small.txt")
    try:
        assert resp.read() == body
    finally:
        resp.close()
        resp.release_conn()
    st = mc.stat_object("minio-bucket", "dir/small.txt")
    assert st.size == len(body) and st.content_type == "text/plain"

    big = os.urandom(50 * 1024 * 1024)
    mc.put_object("minio-bucket", "big.bin", io.BytesIO(big), len(big), part_size=16 * 1024 * 1024)
    assert mc.stat_object("minio-bucket", "big.bin").size == len(big)
    resp = mc.get_object("minio-bucket", "big.bin")
    try:
        assert hashlib.sha256(resp.read()).digest() == hashlib.sha256(big).digest()
    finally:
        resp.close()
        resp.release_conn()

    names = sorted(o.object_name for o in mc.list_objects("minio-bucket", recursive=True))
    assert names == ["big.bin", "dir/small.txt"]


def test_boto3_roundtrip(server):
    s3 = boto3_client(server)
    s3.create_bucket(Bucket="boto-bucket")
    s3.put_object(Bucket="boto-bucket", Key="a/b.json", Body=b'{"x": 1}', ContentType="application/json")
    assert s3.get_object(Bucket="boto-bucket", Key="a/b.json")["Body"].read() == b'{"x": 1}'
    head = s3.head_object(Bucket="boto-bucket", Key="a/b.json")
    assert head["ContentLength"] == 8
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="boto-bucket", Prefix="a/")["Contents"]]
    assert keys == ["a/b.json"]
    assert "boto-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    big = os.urandom(50 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(big), "boto-bucket", "big.bin")  # multipart via the transfer manager
    got = io.BytesIO()
    s3.download_fileobj("boto-bucket", "big.bin", got)
    assert got.getvalue() == big


def test_presigned_get_via_urllib(server):
    mc = minio_client(server)
    mc.make_bucket("presign-bucket")
    mc.put_object("presign-bucket", "clip.wav", io.BytesIO(b"RIFF....WAVE"), 12)
    url = mc.presigned_get_object("presign-bucket", "clip.wav", expires=timedelta(minutes=5))
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        assert resp.read() == b"RIFF....WAVE"

    # Tampering with the signed URL must be refused.
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url.replace("clip.wav", "other.wav"), timeout=10)
    assert err.value.code == 403

    s3 = boto3_client(server)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presign-bucket", "Key": "clip.wav"}, ExpiresIn=300)
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"RIFF....WAVE"


def test_wrong_credentials_rejected(server):
    from minio.error import S3Error

    minio_client(server).make_bucket("private-bucket")
    with pytest.raises(S3Error) as err:
        minio_client(server, secret_key="not-the-secret").list_buckets()
    assert err.value.code in ("SignatureDoesNotMatch", "AccessDenied", "InvalidAccessKeyId")

    from minio import Minio

    stranger = Minio(f"127.0.0.1:{server.ports.s3}", "SOMEONEELSE", SECRET_KEY, secure=False, region="us-east-1")
    with pytest.raises(S3Error):
        stranger.list_objects("private-bucket").__next__()

    # Anonymous access is refused too.
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{server.endpoint}/private-bucket/", timeout=10)
    assert err.value.code == 403


def test_persistence_across_restart(tmp_path):
    s = make_server(tmp_path)
    with s:
        mc = minio_client(s)
        mc.make_bucket("keep")
        mc.put_object("keep", "obj", io.BytesIO(b"survives"), 8)
    with s:  # same data dir, same ports
        resp = minio_client(s).get_object("keep", "obj")
        try:
            assert resp.read() == b"survives"
        finally:
            resp.close()
            resp.release_conn()


def test_objects_survive_sigkill(tmp_path):
    """stop() falls back to SIGKILL when weed stalls; acknowledged writes must survive it."""
    s = make_server(tmp_path)
    s.start()
    mc = minio_client(s)
    mc.make_bucket("crash")
    data = os.urandom(5 * 1024 * 1024)
    mc.put_object("crash", "obj", io.BytesIO(data), len(data))
    os.killpg(s.pid, signal.SIGKILL)
    s.stop()
    with s:
        resp = minio_client(s).get_object("crash", "obj")
        try:
            assert resp.read() == data
        finally:
            resp.close()
            resp.release_conn()


def test_relative_data_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with EmbeddedS3(Path("rel"), SeaweedPorts.from_base(free_port_block()), ACCESS_KEY, SECRET_KEY) as s:
        minio_client(s).make_bucket("rel-bucket")
    assert (tmp_path / "rel" / "data" / "filerldb2").is_dir()
    assert not (tmp_path / "rel" / "rel").exists()


def test_unix_sockets_cleaned_up(tmp_path):
    s = make_server(tmp_path)
    with s:
        assert any(p.exists() for p in s._unix_socket_paths())
    assert not any(p.exists() for p in s._unix_socket_paths())


# --- process hygiene ------------------------------------------------------------------


def test_listens_only_on_pinned_loopback_ports(server):
    expected = {("127.0.0.1", p) for p in server.ports.all()}
    # The admin server and its worker come up just after S3 answers.
    deadline = time.monotonic() + 15
    while (found := listening_sockets(server.pid)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert found == expected


def test_child_dies_when_parent_is_killed(tmp_path):
    base = free_port_block()
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from emulator.storage.seaweed import EmbeddedS3, SeaweedPorts
        s = EmbeddedS3(Path({str(tmp_path)!r}), SeaweedPorts.from_base({base}), {ACCESS_KEY!r}, {SECRET_KEY!r})
        s.start()
        print(s.pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        line = parent.stdout.readline()
        assert line.strip().isdigit(), f"parent did not report a child pid: {line!r}"
        child = int(line)
        assert not process_gone(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while not process_gone(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process_gone(child), "weed outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if "child" in locals() and not process_gone(child):
            os.kill(child, signal.SIGKILL)
