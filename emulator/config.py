"""One settings object, read once at start-up and passed down.

Every field can be set by a command-line flag (`--data-dir`) or an environment
variable `TRANSCRIBE_EMULATOR_<NAME>` (`TRANSCRIBE_EMULATOR_DATA_DIR`); flags win.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRANSCRIBE_EMULATOR_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address the API binds.")
    port: int = Field(8080, description="API port (awsJson1.1 over HTTP/1.1 and h2c).")
    https_port: int = Field(
        4443, description="TLS port (HTTP/2 with ALPN h2, HTTP/1.1, WebSocket): streaming clients. 0: off."
    )
    websocket_port: int = Field(
        8443, description="Second TLS port, serving the same; the JS SDK's WebSocket client appends :8443. 0: off."
    )
    tls_cert_file: Path | None = Field(
        None, description="Server certificate (PEM) for the TLS ports. Unset: a local CA under <data-dir>/tls."
    )
    tls_key_file: Path | None = Field(None, description="Private key (PEM) of --tls-cert-file.")
    data_dir: Path = Field(Path("data"), description="Jobs database, embedded S3 data, assembled models, logs.")

    s3_endpoint: str | None = Field(
        None, description="S3 server to use (e.g. http://minio:9000). Unset: start embedded SeaweedFS."
    )
    s3_public_endpoint: str | None = Field(
        None,
        description="S3 endpoint put into presigned URLs handed to clients. Unset: the API URL, whose port "
        "passes S3 requests to the S3 server.",
    )
    s3_port: int = Field(8333, description="Port of the embedded S3 server; it also uses the next 7 ports.")
    s3_access_key: str | None = Field(None, description="S3 credentials. Unset: the emulator's credentials.")
    s3_secret_key: str | None = None

    access_key: str = Field("test", description="Access key clients sign with.")
    secret_key: str = Field("test", description="Secret key clients sign with.")
    account_id: str = Field("000000000000", description="Account id in ARNs and transcript files.")
    region: str = Field("us-east-1", description="Region for requests that carry no signature.")
    verify_signatures: bool = Field(True, description="Check SigV4 signatures of API requests.")

    workers: int = Field(
        1, ge=0, description="Jobs transcribed at once (per worker process). 0: API only; worker processes run the jobs."
    )
    database_url: str | None = Field(
        None,
        description="Job store: sqlite:///PATH or postgresql://USER@HOST:PORT/DB. Unset: <data-dir>/emulator.sqlite3.",
    )
    lease_seconds: float = Field(
        30.0, gt=0, description="Worker processes: a dead worker's job is claimed again this long after its last renewal."
    )
    max_concurrent_jobs: int = Field(
        100, ge=1, description="AWS's concurrent-job quota: beyond it Start needs AllowDeferredExecution."
    )
    cpu_threads: int = Field(0, ge=0, description="CTranslate2 threads per job; 0: cores / workers.")
    compute_type: str = Field("int8", description="CTranslate2 compute type.")
    beam_size: int = Field(5, ge=1, description="Beam size of the decoder.")
    models_dir: Path | None = Field(
        None, description="Extra CTranslate2 Whisper models, one sub-directory each. Unset: <data-dir>/models."
    )

    model_store_dir: Path | None = Field(
        None, description="Where split models are assembled and sha256 checks remembered. Unset: <data-dir>/model-store."
    )

    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Least severe log level printed: debug, info, warning, error."
    )
    log_format: Literal["text", "json"] = Field("text", description="Log lines as text or as one JSON object each.")
    lazy_models: bool = Field(
        False, description="Load models at first use instead of at start-up (health is ok at once)."
    )

    eventbridge_endpoint: str | None = Field(
        None, description="EventBridge endpoint that receives the job and resource state-change events. Unset: none sent."
    )

    allow_http_media: bool = Field(
        False, description="Let TranscribeAudio fetch MediaFileUri from http(s) URLs other than S3 ones."
    )

    max_media_bytes: int = Field(2 * 1024**3, description="AWS limit: 2 GB.")
    max_media_seconds: float = Field(4 * 3600.0, description="AWS limit: 4 hours.")

    @property
    def embedded_s3(self) -> bool:
        return not self.s3_endpoint

    def api_url(self) -> str:
        """The API port's URL as a client on this machine reaches it (a wildcard bind: loopback)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def effective_s3_public_endpoint(self) -> str:
        return self.s3_public_endpoint or self.api_url()

    def effective_cpu_threads(self) -> int:
        if self.cpu_threads:
            return self.cpu_threads
        return max(1, (os.cpu_count() or 1) // max(1, self.workers))

    def effective_database_url(self) -> str:
        """The job store's URL: --database-url, or the SQLite file under the data dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'emulator.sqlite3'}"

    def effective_model_store_dir(self) -> Path:
        return self.model_store_dir or self.data_dir / "model-store"

    def effective_models_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"
