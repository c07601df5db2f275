"""The ASGI application: builds the runtime from settings and routes requests. No logic here.

Plain Starlette on plain ASGI, so hypercorn (HTTP/1.1 and HTTP/2) and uvicorn both serve it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

import emulator
from emulator.aws import cbor_protocol
from emulator.aws.json_protocol import JsonProtocolEndpoint
from emulator.aws.sigv4 import SigV4Verifier
from emulator.config import Settings
from emulator.console import console_routes
from emulator.engine.recognizer import ModelLoadOptions, Recognizer, supports_language
from emulator.s3_proxy import S3Proxy
from emulator.service.call_analytics import call_analytics_jobs
from emulator.service.call_analytics_categories import CallAnalyticsCategories
from emulator.service.call_analytics_pipeline import CallAnalyticsPipeline
from emulator.service.call_analytics_stream import CallAnalyticsStreamSessions
from emulator.service.clock import aws_now
from emulator.service.context import RequestContext
from emulator.service.events import StateChangeEvents
from emulator.service.health import HealthMonitor, HealthReport
from emulator.service.jobs import TranscriptionJobs
from emulator.service.language_models import LanguageModels
from emulator.service.medical import medical_transcription_jobs
from emulator.service.medical_pipeline import MedicalTranscriptionPipeline
from emulator.service.medical_scribe import medical_scribe_jobs
from emulator.service.medical_scribe_pipeline import MedicalScribePipeline
from emulator.service.medical_scribe_stream import MedicalScribeStreams
from emulator.service.medical_vocabularies import MedicalVocabularies
from emulator.service.pipeline import Limits, TranscriptionPipeline
from emulator.service.progress import JobProgress
from emulator.service.shared_progress import StoreProgress
from emulator.service.streaming import StreamingSessions
from emulator.service.tags import Tagging
from emulator.service.transcribe_audio import KIND as TRANSCRIBE_AUDIO
from emulator.service.transcribe_audio import MAX_REQUEST_BYTES as TRANSCRIBE_AUDIO_MAX_BYTES
from emulator.service.transcribe_audio import TranscribeAudio
from emulator.service.vocabularies import Vocabularies
from emulator.service.vocabulary_filters import VocabularyFilters
from emulator.service.worker import WorkerPool
from emulator.storage.eventbridge import EventBridgePublisher
from emulator.storage.models import ModelStore
from emulator.storage.s3 import ObjectStore
from emulator.storage.store import Store
from emulator.storage.tls import TlsFiles, prepare_tls
from emulator.streaming import call_analytics_events, websocket
from emulator.streaming.http2 import MEDICAL_PATH, STANDARD_PATH, Http2StreamingEndpoint
from emulator.streaming.medical_scribe_http2 import SCRIBE_PATH, MedicalScribeStreamEndpoint

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    s3_endpoint: str
    store: Store
    objects: ObjectStore
    models: ModelStore
    recognizer: Recognizer
    pool: WorkerPool
    jobs: TranscriptionJobs
    services: list  # every object with operations(): name -> method(ctx, params)
    streaming: StreamingSessions | None = None  # StartStreamTranscription sessions (HTTP/2, WebSocket)
    call_analytics_streaming: CallAnalyticsStreamSessions | None = None  # StartCallAnalyticsStreamTranscription
    tls: TlsFiles | None = None  # certificate of the TLS ports (None: no TLS port)
    health: HealthMonitor | None = None  # starting / ok / degraded (GET /_emulator/health)
    progress: JobProgress | None = None  # queued and running jobs, how far each has got
    scribe_streams: MedicalScribeStreams | None = None  # HealthScribe streaming sessions
    events: StateChangeEvents | None = None  # EventBridge events of state changes (--eventbridge-endpoint)
    # What a worker process claims (emulator.worker_process): the job pipelines by Store kind,
    # and the families processed in the background (vocabularies, language models).
    runners: dict | None = None
    processed: list | None = None


def _preload(recognizer: Recognizer, models: ModelStore, monitor: HealthMonitor) -> None:
    """Loads what the first job or stream needs, off the event loop: the default English
    Whisper model (sha256-checked) and the Silero VAD; then health turns from starting to ok."""
    from faster_whisper.vad import get_vad_model

    started = time.monotonic()
    name = models.model_for_language("en")
    try:
        recognizer.model(name)
        get_vad_model()
    except Exception as e:  # a model that fails its check or load: health says so, jobs fail with it
        monitor.fail("models", f"{name}: {e}")
        return
    log.info("model %s loaded in %.1f s", name, time.monotonic() - started)
    monitor.set_ready()


def build_runtime(settings: Settings, s3_endpoint: str, worker_process: bool = False) -> Runtime:
    """Opens the store, connects S3, prepares models, starts workers, resumes unfinished jobs.

    With `settings.workers` 0 (an API node) or `worker_process` (`transcribe-emulator worker`)
    no job or background processing runs in-process and nothing is resumed here: the store is
    the queue, and worker processes claim from it (emulator.service.worker.ClaimWorker, wired
    by emulator.worker_process from Runtime.runners and Runtime.processed)."""
    data_dir = settings.data_dir
    events = None
    if settings.eventbridge_endpoint:  # before any job resumes: every change after this sends its event
        publisher = EventBridgePublisher(settings.eventbridge_endpoint, settings.access_key, settings.secret_key)
        events = StateChangeEvents(publisher).start()
    store = Store(url=settings.effective_database_url())
    local = settings.workers > 0 and not worker_process
    objects = ObjectStore(
        s3_endpoint,
        settings.s3_access_key or settings.access_key,
        settings.s3_secret_key or settings.secret_key,
        region=settings.region,
        public_endpoint=settings.effective_s3_public_endpoint(),
    )
    models = ModelStore(settings.effective_model_store_dir(), settings.effective_models_dir())
    recognizer = Recognizer(
        models.resolve,
        ModelLoadOptions(
            compute_type=settings.compute_type,
            cpu_threads=settings.effective_cpu_threads(),
            num_workers=max(1, settings.workers),
        ),
    )
    vocabularies = Vocabularies(store, objects, clock=aws_now)
    vocabulary_filters = VocabularyFilters(store, objects, clock=aws_now)
    language_models = LanguageModels(store, objects, models, clock=aws_now)
    medical_vocabularies = MedicalVocabularies(store, objects, clock=aws_now)
    progress = JobProgress()  # the job services register jobs, the pipelines report progress
    if settings.workers == 0 and not worker_process:  # an API node: the jobs run on worker processes
        progress = StoreProgress(store, ())  # its kinds: the pipelines' below
    common = dict(
        scratch_dir=data_dir / "scratch",
        limits=Limits(settings.max_media_bytes, settings.max_media_seconds),
        beam_size=settings.beam_size,
        clock=aws_now,
        progress=progress,
    )
    # The standard custom resources, named by transcription and Call Analytics jobs alike.
    resources = dict(vocabularies=vocabularies, vocabulary_filters=vocabulary_filters, language_models=language_models)
    pipeline = TranscriptionPipeline(store, objects, recognizer, models, **common, **resources)
    # The other job families share its model, PII detector, diarizer and the worker pool.
    shared = dict(pii_detector=pipeline.pii_detector, diarizer=pipeline.diarizer)
    medical_pipeline = MedicalTranscriptionPipeline(
        store, objects, recognizer, models, **common, vocabularies=medical_vocabularies, **shared
    )
    categories = CallAnalyticsCategories(store, clock=aws_now)
    call_analytics_pipeline = CallAnalyticsPipeline(
        store, objects, recognizer, models, **common, **resources, **shared, categories=categories
    )
    scribe_pipeline = MedicalScribePipeline(store, objects, recognizer, models, **common, **resources, **shared)
    pipeline.clear_scratch()
    runners = {p.kind: p for p in (pipeline, medical_pipeline, call_analytics_pipeline, scribe_pipeline)}
    # Keys are (kind, region, name): each job kind runs on its own pipeline; TranscribeAudio
    # requests, (TRANSCRIBE_AUDIO, request id), share the same workers.
    job_kinds = tuple(runners)
    if isinstance(progress, StoreProgress):
        progress.kinds = job_kinds
    run_key = lambda key: runners[key[0]](key[1:])  # noqa: E731
    if local:
        pool = audio_pool = WorkerPool(settings.workers, run_key)
    else:  # the jobs' quota counts every node's jobs; TranscribeAudio answers from this node, as streams do
        pool = WorkerPool(0, run_key, in_flight=lambda: store.count(job_kinds, ("QUEUED", "IN_PROGRESS")))
        audio_pool = WorkerPool(1, run_key, name="transcribe-audio")
        for family in (vocabularies, medical_vocabularies, language_models):
            family.process_elsewhere()
        if store.sqlite and not worker_process:
            log.warning("--workers 0 on the SQLite store %s: jobs wait for `transcribe-emulator worker "
                        "--database-url sqlite:///%s` on this machine (docs/SCALING.md)", store.where, store.where)
    transcribe_audio = TranscribeAudio(
        pipeline, audio_pool, objects, vocabularies, vocabulary_filters, allow_http_media=settings.allow_http_media
    )
    runners[TRANSCRIBE_AUDIO] = transcribe_audio.run

    admission = dict(clock=aws_now, max_concurrent_jobs=settings.max_concurrent_jobs, progress=progress)
    jobs = TranscriptionJobs(store, pool, objects, supports_language, **admission, **resources)
    medical_jobs = medical_transcription_jobs(store, pool, objects, medical_vocabularies, **admission)
    analytics_jobs = call_analytics_jobs(store, pool, objects, supports_language, **admission, **resources)
    scribe_jobs = medical_scribe_jobs(store, pool, objects, **admission, **resources)
    resumed = (
        vocabularies.resume_pending() + medical_vocabularies.resume_pending(),
        language_models.resume_in_progress(),
        jobs.resume_unfinished()
        + medical_jobs.resume_unfinished()
        + analytics_jobs.resume_unfinished()
        + scribe_jobs.resume_unfinished(),
    ) if local else (0, 0, 0)
    if any(resumed):
        log.info("resumed %d vocabularies, %d language models and %d jobs", *resumed)
    monitor = HealthMonitor({"s3": objects.ping, "store": store.ping}).start()
    if settings.lazy_models:
        monitor.set_ready()
    else:
        threading.Thread(
            target=_preload, args=(recognizer, models, monitor), daemon=True, name="model-preload"
        ).start()
    services = [
        jobs,
        medical_jobs,
        vocabularies,
        medical_vocabularies,
        vocabulary_filters,
        language_models,
        Tagging(store),
        categories,
        analytics_jobs,
        scribe_jobs,
        transcribe_audio,
    ]
    streaming = StreamingSessions(
        recognizer,
        models,
        **resources,
        **shared,
        supported_language=supports_language,
        medical_vocabularies=medical_vocabularies,
    )
    scribe_streams = MedicalScribeStreams(store, objects, streaming, supported_language=supports_language)
    if not worker_process and scribe_streams.resume_pending():  # streams and their analytics stay on API nodes
        log.info("resumed the post-stream analytics of HealthScribe streams")
    tls = None
    if settings.https_port or settings.websocket_port:
        tls = prepare_tls(data_dir, settings.tls_cert_file, settings.tls_key_file, (settings.host,))
    return Runtime(
        settings, s3_endpoint, store, objects, models, recognizer, pool, jobs, services,
        streaming=streaming, tls=tls, health=monitor, progress=progress, scribe_streams=scribe_streams, events=events,
        call_analytics_streaming=CallAnalyticsStreamSessions(streaming, categories, analytics_jobs),
        runners={kind: runners[kind] for kind in job_kinds},
        processed=[vocabularies, medical_vocabularies, language_models],
    )


def operation_table(runtime: Runtime) -> dict:
    """Operation name -> callable(region, params); the account is the emulator's."""
    account = runtime.settings.account_id

    def bind(method):
        return lambda region, params: method(RequestContext(region, account), params)

    return {name: bind(method) for service in runtime.services for name, method in service.operations().items()}


def call_analytics_stream_routes(runtime: Runtime, verifier: SigV4Verifier | None) -> list:
    """StartCallAnalyticsStreamTranscription over HTTP/2 and WebSocket (raw ASGI)."""
    settings = runtime.settings
    common = (runtime.call_analytics_streaming, verifier, {settings.access_key: settings.secret_key},
              settings.account_id, settings.region)
    return [
        Route(call_analytics_events.HTTP2_PATH, call_analytics_events.CallAnalyticsHttp2Endpoint(*common),
              methods=["POST"]),
        WebSocketRoute(
            call_analytics_events.WEBSOCKET_PATH, call_analytics_events.CallAnalyticsWebSocketEndpoint(*common)
        ),
    ]


def create_app(runtime: Runtime) -> Starlette:
    settings = runtime.settings
    verifier = (
        SigV4Verifier({settings.access_key: settings.secret_key}) if settings.verify_signatures else None
    )
    operations = operation_table(runtime)
    body_limits = {"TranscribeAudio": TRANSCRIBE_AUDIO_MAX_BYTES}  # inline media up to 25 MB
    api = JsonProtocolEndpoint(operations, verifier, settings.region, body_limits=body_limits)
    cbor_api = cbor_protocol.CborProtocolEndpoint(  # Smithy RPC v2 CBOR
        operations, verifier, settings.region, body_limits=body_limits
    )
    http2_streaming = Http2StreamingEndpoint(
        runtime.streaming,
        verifier,
        {settings.access_key: settings.secret_key},
        settings.account_id,
        settings.region,
    )

    scribe_streaming = MedicalScribeStreamEndpoint(
        runtime.scribe_streams,
        verifier,
        {settings.access_key: settings.secret_key},
        settings.account_id,
        settings.region,
    )

    def websocket_streaming(medical: bool) -> websocket.WebSocketStreamingEndpoint:
        return websocket.WebSocketStreamingEndpoint(
            runtime.streaming,
            verifier,
            {settings.access_key: settings.secret_key},
            settings.account_id,
            settings.region,
            medical=medical,
        )

    report = HealthReport(
        runtime.health,
        version=emulator.__version__,
        s3_endpoint=runtime.s3_endpoint,
        s3_public_endpoint=runtime.objects.public_endpoint,
        models=runtime.models.entries,
        loaded_models=runtime.recognizer.loaded,
        workers=runtime.pool.workers,
        jobs_in_flight=runtime.progress.snapshot,
        verify_signatures=settings.verify_signatures,
        https_port=settings.https_port,
        websocket_port=settings.websocket_port,
        ca_file=runtime.tls.ca_file if runtime.tls else None,
        streams_in_flight=lambda: runtime.streaming.in_flight if runtime.streaming else 0,
    )

    async def health(request: Request) -> JSONResponse:
        body, status_code = report.render()
        return JSONResponse(body, status_code=status_code)

    return Starlette(
        routes=[
            Route("/_emulator/health", health, methods=["GET"]),
            Route("/", api.handle, methods=["POST"]),
            Route(cbor_protocol.PATH, cbor_api.handle, methods=["POST"]),
            Route(STANDARD_PATH, http2_streaming, methods=["POST"]),  # raw ASGI: duplex event stream
            Route(MEDICAL_PATH, http2_streaming, methods=["POST"]),
            Route(SCRIBE_PATH, scribe_streaming, methods=["POST"]),  # StartMedicalScribeStream
            Route(SCRIBE_PATH + "/{session_id}", scribe_streaming, methods=["GET"]),  # GetMedicalScribeStream
            WebSocketRoute(websocket.STANDARD_PATH, websocket_streaming(medical=False)),  # raw ASGI
            WebSocketRoute(websocket.MEDICAL_PATH, websocket_streaming(medical=True)),
            *call_analytics_stream_routes(runtime, verifier),
            *console_routes(runtime, api.operations),  # GET / -> /console; the web console
            # awsJson on any other path, as AWS's endpoints accept (the guide posts to /transcribe)
            Route("/{path:path}", api.handle, methods=["POST"]),
        ],
        # S3 requests on the API port go to the S3 server (one endpoint, emulator/s3_proxy.py)
        middleware=[Middleware(S3Proxy, upstream=runtime.s3_endpoint)],
    )
