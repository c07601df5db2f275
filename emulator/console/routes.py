"""The console's pages: a routing table (read it top to bottom at the end) and its handlers.

Every page calls Transcribe operations by name through `ServiceClient` (the API's own
validation and service layer, in-process) and reads S3 only through `objects` (the
runtime's ObjectStore). Handlers turn forms into request members (`forms`), API errors
into messages beside fields (`forms.field_errors`), transcripts into previews (`preview`).
Pages are Jinja2 templates from `templates/`; `static/` holds the CSS and the scripts
(live refresh, S3 picker and upload, audio player).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, is_undefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from emulator.aws.errors import AWSError
from emulator.aws.validation import validate_input
from emulator.console import forms
from emulator.console import objects as s3
from emulator.console.client import ServiceClient, model_enum
from emulator.console.family_pages import FamilyPages
from emulator.console.preview import MalformedTranscript, build_preview, label_title, timestamp
from emulator.console.realtime import realtime_routes
from emulator.console.transcribe_now import TranscribeNowPage

HERE = Path(__file__).parent
BASE = "/console"
PAGE_SIZE = 20
MAX_PREVIEW_BYTES = 64 * 1024 * 1024  # transcripts larger than this are downloaded, not previewed
# Files the console serves itself (downloads): nothing in them may run, even if opened inline.
DOWNLOAD_CSP = "default-src 'none'; media-src 'self'; sandbox"
RUNNING = ("QUEUED", "IN_PROGRESS")


# --- formatting for the templates ------------------------------------------------------------


def _epoch(value) -> float | None:
    """Epoch seconds of an AWS timestamp member; None when absent (None, "", undefined)."""
    if is_undefined(value) or value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def aws_time(epoch) -> str:
    """`Nov 21, 2026, 18:06:56 (UTC)` for epoch seconds; "-" for none."""
    seconds = _epoch(epoch)
    if seconds is None:
        return "-"
    return time.strftime("%b %d, %Y, %H:%M:%S (UTC)", time.gmtime(seconds))


def elapsed(start, end=None) -> str:
    """`42 s`, `3 min 5 s`, `1 h 2 min` from start to end (now when None); "-" without start."""
    first, last = _epoch(start), _epoch(end)
    if first is None:
        return "-"
    seconds = max(0, int((last if last is not None else time.time()) - first))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def job_duration(job: dict) -> str:
    """How long a job ran: start to completion, start to now while it runs, else "-"
    (FAILED jobs have no CompletionTime, as on AWS)."""
    if job.get("CompletionTime") is not None:
        return elapsed(job.get("StartTime"), job["CompletionTime"])
    if job.get("TranscriptionJobStatus") in RUNNING and job.get("StartTime") is not None:
        return elapsed(job["StartTime"])
    return "-"


def _templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    env.filters.update(aws_time=aws_time, elapsed=elapsed, job_duration=job_duration, clock=timestamp, label_title=label_title)
    env.globals.update(base=BASE)
    return Jinja2Templates(env=env)


# --- job kinds: the same pages for transcription and medical jobs -----------------------------


@dataclass(frozen=True)
class JobKind:
    slug: str  # URL segment under /console
    title: str
    noun: str
    list_op: str
    get_op: str
    start_op: str
    delete_op: str
    summaries: str  # List response member
    job: str  # Get response member
    name: str  # the job name member
    store_kind: str  # the jobs' kind in the store and the progress registry


TRANSCRIPTION = JobKind(
    "jobs", "Transcription jobs", "transcription job",
    "ListTranscriptionJobs", "GetTranscriptionJob", "StartTranscriptionJob", "DeleteTranscriptionJob",
    "TranscriptionJobSummaries", "TranscriptionJob", "TranscriptionJobName", "transcription-job",
)
MEDICAL = JobKind(
    "medical-jobs", "Medical transcription jobs", "medical transcription job",
    "ListMedicalTranscriptionJobs", "GetMedicalTranscriptionJob", "StartMedicalTranscriptionJob",
    "DeleteMedicalTranscriptionJob", "MedicalTranscriptionJobSummaries", "MedicalTranscriptionJob",
    "MedicalTranscriptionJobName", "medical-transcription-job",
)


class Console:
    """Holds what the pages share: the service client, the object store, the templates."""

    def __init__(self, runtime, operations, login_required: bool, media: s3.MediaLinks):
        self.runtime = runtime
        self.client = ServiceClient(operations, runtime.settings.region)
        self.objects = runtime.objects
        self.media_links = media
        self.templates = _templates()
        self.login_required = login_required

    # --- rendering ----------------------------------------------------------------------

    def page(self, request: Request, template: str, status_code: int = 200, **context) -> Response:
        context.update(
            csrf_token=request.scope.get("csrf_token", ""),
            region=self.client.region,
            login_required=self.login_required,
            medical_available=self.client.has(MEDICAL.start_op),
        )
        return self.templates.TemplateResponse(request, template, context, status_code=status_code)

    def error_page(self, request: Request, error: AWSError | str, status_code: int = 400, **context) -> Response:
        message = error if isinstance(error, str) else f"{error.code}: {error.message}"
        return self.page(request, "error.html", status_code=status_code, message=message, **context)

    # --- job lists ----------------------------------------------------------------------

    def _kind(self, request: Request) -> JobKind:
        return MEDICAL if request.url.path.startswith(f"{BASE}/medical-jobs") else TRANSCRIPTION

    async def job_list(self, request: Request, kind, status_member: str = "TranscriptionJobStatus") -> dict:
        """The jobs page's context for any job family: the List call (`kind.list_op`, its
        `kind.summaries`) filtered by the page's status / name / token query, the next page's
        URL, and whether a job still runs (`status_member`: the summaries' status member, also
        the enum the status filter offers). A refused List is shown, not raised."""
        query = request.query_params
        params: dict = {"MaxResults": PAGE_SIZE}
        status = query.get("status", "")
        if status:
            params["Status"] = status
        if query.get("name"):
            params["JobNameContains"] = query["name"]
        if query.get("token"):
            params["NextToken"] = query["token"]
        context = {"kind": kind, "status": status, "name": query.get("name", ""), "statuses": model_enum(status_member)}
        try:
            response = await self.client.call(kind.list_op, params)
        except AWSError as error:
            return {**context, "jobs": [], "list_error": f"{error.code}: {error.message}", "next_url": None}
        jobs = response.get(kind.summaries, [])
        next_url = None
        if response.get("NextToken"):
            next_query = {k: v for k, v in {"status": status, "name": query.get("name", "")}.items() if v}
            next_url = f"{BASE}/{kind.slug}?" + urlencode({**next_query, "token": response["NextToken"]})
        return {**context, "jobs": jobs, "next_url": next_url, "running": any(j.get(status_member) in RUNNING for j in jobs)}

    async def jobs(self, request: Request) -> Response:
        kind = self._kind(request)
        if not self.client.has(kind.list_op):
            return self.page(request, "unavailable.html", kind=kind)
        return self.page(request, "jobs.html", **await self.job_list(request, kind))

    async def job_rows(self, request: Request) -> Response:
        """The jobs table's body alone, for the live refresh."""
        kind = self._kind(request)
        if not self.client.has(kind.list_op):
            return Response("", status_code=404)
        context = await self.job_list(request, kind)
        return self.page(request, "job_rows.html", **context)

    # --- Create job (two steps) ---------------------------------------------------------

    async def job_resources(self) -> dict:
        """Vocabularies, filters and language models a job can use (any state; the API says
        when one is not ready)."""
        async def names(op: str, member: str) -> list[dict]:
            try:
                return await self.client.list_all(op, member)
            except AWSError:
                return []

        return {
            "vocabularies": await names("ListVocabularies", "Vocabularies"),
            "vocabulary_filters": await names("ListVocabularyFilters", "VocabularyFilters"),
            "language_models": await names("ListLanguageModels", "Models"),
        }

    async def bucket_names(self) -> list[str]:
        try:
            return await run_in_threadpool(s3.list_buckets, self.objects)
        except s3.StorageError:
            return []

    async def _create_page(self, request: Request, step: int, form: dict, errors=None, status_code: int = 200) -> Response:
        context = {
            "step": step,
            "form": form,
            "errors": errors,
            "languages": model_enum("LanguageCode"),
            "pii_types": model_enum("PiiEntityType"),
            "filter_methods": model_enum("VocabularyFilterMethod"),
            "subtitle_formats": model_enum("SubtitleFormat"),
            "redaction_outputs": model_enum("RedactionOutput"),
            "buckets": await self.bucket_names(),
            "step1_fields": forms.JOB_STEP1_FIELDS,
            "step2_fields": forms.JOB_STEP2_FIELDS,
        }
        if step == 2:
            context.update(await self.job_resources())
        return self.page(request, "job_create.html", status_code=status_code, **context)

    async def create_job_form(self, request: Request) -> Response:
        return await self._create_page(request, 1, {"language_mode": ["specific"], "LanguageCode": ["en-US"], "output_type": ["service"]})

    async def create_job(self, request: Request) -> Response:
        """Step 1 -> (checked) step 2 -> StartTranscriptionJob. `action`: next, back, create."""
        form = forms.form_dict((await request.form()).multi_items())
        action = forms.value(form, "action")
        if action == "back":
            return await self._create_page(request, 1, form)
        if action == "next":
            try:
                self._check_step1(form)
            except AWSError as error:
                errors = forms.field_errors(error, forms.JOB_STEP1_FIELDS, form)
                return await self._create_page(request, 1, form, errors, 400)
            return await self._create_page(request, 2, form)
        params = forms.start_transcription_job(form)
        try:
            await self.client.call(TRANSCRIPTION.start_op, params)
        except AWSError as error:
            errors = forms.field_errors(error, forms.JOB_STEP1_FIELDS + forms.JOB_STEP2_FIELDS, form)
            on_step1 = any(name in forms.JOB_STEP1_FIELDS for name in errors.by_field)
            return await self._create_page(request, 1 if on_step1 else 2, form, errors, 400)
        return RedirectResponse(f"{BASE}/jobs/{params['TranscriptionJobName']}", status_code=303)

    @staticmethod
    def _check_step1(form: dict) -> None:
        """Step 1's members against StartTranscriptionJob's model constraints (the wire
        layer's check; cross-member rules are the service's, at Create)."""
        validate_input(TRANSCRIPTION.start_op, forms.step1_request(form))

    async def create_medical_job_form(self, request: Request) -> Response:
        if not self.client.has(MEDICAL.start_op):
            return self.page(request, "unavailable.html", kind=MEDICAL)
        return await self._medical_page(request, {"LanguageCode": ["en-US"], "Specialty": ["PRIMARYCARE"], "Type": ["CONVERSATION"]})

    async def _medical_page(self, request: Request, form: dict, errors=None, status_code: int = 200) -> Response:
        return self.page(
            request, "medical_create.html", status_code=status_code, form=form, errors=errors,
            languages=("en-US",), specialties=model_enum("Specialty"), types=model_enum("Type"),
            buckets=await self.bucket_names(), fields=forms.MEDICAL_JOB_FIELDS,
        )

    async def create_medical_job(self, request: Request) -> Response:
        if not self.client.has(MEDICAL.start_op):
            return self.page(request, "unavailable.html", kind=MEDICAL, status_code=404)
        form = forms.form_dict((await request.form()).multi_items())
        params = forms.start_medical_transcription_job(form)
        try:
            await self.client.call(MEDICAL.start_op, params)
        except AWSError as error:
            return await self._medical_page(request, form, forms.field_errors(error, forms.MEDICAL_JOB_FIELDS, form), 400)
        return RedirectResponse(f"{BASE}/medical-jobs/{params['MedicalTranscriptionJobName']}", status_code=303)

    # --- job details --------------------------------------------------------------------

    async def _get_job(self, kind: JobKind, name: str) -> dict:
        return (await self.client.call(kind.get_op, {kind.name: name}))[kind.job]

    def _progress(self, kind: JobKind, job: dict) -> float | None:
        """The fraction (0..1) of a running job's audio transcribed so far; None unless it is
        IN_PROGRESS here (the runtime's progress registry, not the AWS API)."""
        registry = getattr(self.runtime, "progress", None)
        if registry is None or job.get("TranscriptionJobStatus") != "IN_PROGRESS":
            return None
        return registry.get((kind.store_kind, self.client.region, job[kind.name]))

    async def job(self, request: Request) -> Response:
        kind = self._kind(request)
        if not self.client.has(kind.get_op):
            return self.page(request, "unavailable.html", kind=kind)
        name = request.path_params["name"]
        try:
            job = await self._get_job(kind, name)
        except AWSError as error:
            return self.error_page(request, error, 404, kind=kind)
        context = {"kind": kind, "job": job, "name": name, "running": job.get("TranscriptionJobStatus") in RUNNING}
        context["progress"] = self._progress(kind, job)
        transcript = job.get("Transcript") or {}
        main = s3.location_of(transcript.get("TranscriptFileUri"), self.objects)
        redacted = s3.location_of(transcript.get("RedactedTranscriptFileUri"), self.objects)
        shown = main or redacted
        context["service_managed"] = self._service_managed(job, shown)
        context["output_location"] = shown
        context["subtitles"] = [
            (loc.key.rsplit(".", 1)[-1], loc)
            for loc in (s3.location_of(u, self.objects) for u in (job.get("Subtitles") or {}).get("SubtitleFileUris", []))
            if loc
        ]
        context["has_transcript"], context["has_redacted"] = bool(main), bool(redacted)
        context["preview"] = context["preview_error"] = None
        previewed = redacted or main  # with PII redaction on, preview what redaction leaves
        context["preview_redacted"] = bool(redacted)
        if previewed and job.get("TranscriptionJobStatus") == "COMPLETED":
            try:
                context["preview"] = await run_in_threadpool(self._read_preview, previewed)
            except (s3.ObjectNotFound, s3.StorageError, ValueError) as e:
                context["preview_error"] = f"The transcript at {previewed.uri} can't be read: {e}"
        context["media"] = s3.location_of((job.get("Media") or {}).get("MediaFileUri"), self.objects)
        return self.page(request, "job_detail.html", **context)

    def _read_preview(self, location: s3.Location):
        """The Preview of the transcript at `location` (blocking: S3 read and JSON parsing).
        Raises ObjectNotFound, StorageError, ValueError with a message for the page (not
        JSON, not UTF-8, nested too deep, too large, MalformedTranscript)."""
        data = s3.read(self.objects, location)
        if len(data) > MAX_PREVIEW_BYTES:
            raise ValueError(f"it is larger than {MAX_PREVIEW_BYTES // 2**20} MiB; download it instead.")
        try:
            document = json.loads(data)
        except RecursionError:
            raise ValueError("it is JSON nested too deeply.") from None
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
            raise ValueError(f"it is not JSON ({type(e).__name__}: {e}).") from None
        try:
            return build_preview(document)
        except MalformedTranscript as e:
            raise ValueError(f"it is not shaped as a Transcribe transcript: {e}") from None

    def _service_managed(self, job: dict, location) -> bool:
        if location is None:
            return "OutputBucketName" not in job
        return location.bucket.startswith("aws-transcribe-") and location.bucket.endswith("-prod")

    async def job_status(self, request: Request) -> Response:
        kind = self._kind(request)
        try:
            job = await self._get_job(kind, request.path_params["name"])
        except AWSError as error:
            return JSONResponse({"error": error.code, "message": error.message}, status_code=404)
        return JSONResponse(
            {
                "status": job.get("TranscriptionJobStatus"),
                "failure_reason": job.get("FailureReason"),
                "progress": self._progress(kind, job),
            }
        )

    async def _job_file(self, request: Request, member: str):
        kind = self._kind(request)
        job = await self._get_job(kind, request.path_params["name"])
        if member == "SubtitleFileUris":
            uris = (job.get("Subtitles") or {}).get("SubtitleFileUris", [])
            wanted = request.path_params["format"]
            uri = next((u for u in uris if (s3.location_of(u, self.objects) or s3.Location("x", "x")).key.endswith(f".{wanted}")), None)
        else:
            uri = (job.get("Transcript") or {}).get(member)
        return s3.location_of(uri, self.objects)

    async def download(self, request: Request) -> Response:
        """The transcript (or redacted transcript, or a subtitle file) of a job, as an attachment."""
        path = request.url.path
        if "/subtitles/" in path:
            member = "SubtitleFileUris"
        elif request.query_params.get("redacted"):
            member = "RedactedTranscriptFileUri"
        else:
            member = "TranscriptFileUri"
        try:
            location = await self._job_file(request, member)
        except AWSError as error:
            return self.error_page(request, error, 404)
        if location is None:
            return self.error_page(request, "This job has no such output (yet).", 404)
        return await self.serve_object(location, request.headers.get("range"))

    async def media(self, request: Request) -> Response:
        """The job's media for the audio player: 307 to a presigned GET on the S3 endpoint the
        browser reaches (S3 answers Range requests, so seeking reads no more than it needs and
        nothing passes through here). S3 answers with the media's audio/video type inline, or
        application/octet-stream as an attachment when the key is not audio or video."""
        kind = self._kind(request)
        try:
            job = await self._get_job(kind, request.path_params["name"])
        except AWSError as error:
            return self.error_page(request, error, 404)
        location = s3.location_of((job.get("Media") or {}).get("MediaFileUri"), self.objects)
        if location is None:
            return Response("This job's media is not on the emulator's S3.", status_code=404, media_type="text/plain")
        url = self.media_links.url(location, job.get("MediaFormat"))
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})

    async def serve_object(self, location: s3.Location, range_header: str | None = None) -> Response:
        """An object of the emulator's S3 as an attachment, typed by `s3.content_type_for`
        (never a type a browser runs), with nosniff and DOWNLOAD_CSP should it be opened;
        a single byte range (`Range: bytes=a-b`, resumed downloads) answers 206."""
        try:
            data = await run_in_threadpool(s3.read, self.objects, location)
        except s3.ObjectNotFound:
            return Response(f"{location.uri} does not exist.", status_code=404, media_type="text/plain")
        except s3.StorageError as e:
            return Response(f"{location.uri} can't be read: {e}", status_code=502, media_type="text/plain")
        headers = {
            "Accept-Ranges": "bytes",
            "Content-Disposition": f'attachment; filename="{s3.safe_filename(location.filename)}"',
            "Content-Security-Policy": DOWNLOAD_CSP,
            "X-Content-Type-Options": "nosniff",
        }
        media_type = s3.content_type_for(location.key)
        span = _byte_range(range_header, len(data))
        if span is None:
            return Response(data, headers=headers, media_type=media_type)
        if span == "unsatisfiable":
            return Response(b"", status_code=416, headers={**headers, "Content-Range": f"bytes */{len(data)}"})
        start, end = span
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return Response(data[start : end + 1], status_code=206, headers=headers, media_type=media_type)

    async def delete_job(self, request: Request) -> Response:
        kind = self._kind(request)
        try:
            await self.client.call(kind.delete_op, {kind.name: request.path_params["name"]})
        except AWSError as error:
            return self.error_page(request, error, 400, kind=kind)
        return RedirectResponse(f"{BASE}/{kind.slug}", status_code=303)

    # --- vocabularies, vocabulary filters, language models ----------------------------------

    async def resources(self, request: Request) -> Response:
        kind = RESOURCES[request.url.path.removeprefix(BASE + "/").split("/")[0]]
        query = request.query_params
        params = {}
        if query.get("name"):
            params["NameContains"] = query["name"]
        try:
            items = await self.client.list_all(kind.list_op, kind.list_member, params)
            list_error = None
        except AWSError as error:
            items, list_error = [], f"{error.code}: {error.message}"
        return self.page(request, "resources.html", kind=kind, items=items, name=query.get("name", ""), list_error=list_error,
                         running=any(i.get(kind.state_member) in ("PENDING", "IN_PROGRESS") for i in items))

    async def resource_form(self, request: Request, form: dict | None = None, errors=None, status_code: int = 200) -> Response:
        kind = RESOURCES[request.url.path.removeprefix(BASE + "/").split("/")[0]]
        defaults = {"LanguageCode": ["en-US"], "source": ["list"], "BaseModelName": ["WideBand"],
                    "InputDataConfig.DataAccessRoleArn": ["arn:aws:iam::000000000000:role/TranscribeEmulator"]}
        return self.page(
            request, f"{kind.slug}_create.html", status_code=status_code, kind=kind, form=form or defaults, errors=errors,
            languages=model_enum("LanguageCode"), base_models=model_enum("BaseModelName"), buckets=await self.bucket_names(),
        )

    async def create_resource(self, request: Request) -> Response:
        kind = RESOURCES[request.url.path.removeprefix(BASE + "/").split("/")[0]]
        form = forms.form_dict((await request.form()).multi_items())
        params = kind.build(form)
        try:
            await self.client.call(kind.create_op, params)
        except AWSError as error:
            return await self.resource_form(request, form, forms.field_errors(error, kind.fields, form), 400)
        return RedirectResponse(f"{BASE}/{kind.slug}/{params[kind.name]}", status_code=303)

    async def resource(self, request: Request) -> Response:
        kind = RESOURCES[request.url.path.removeprefix(BASE + "/").split("/")[0]]
        name = request.path_params["name"]
        try:
            item = await self.client.call(kind.get_op, {kind.name: name})
        except AWSError as error:
            return self.error_page(request, error, 404, kind=kind)
        if kind.get_member:
            item = item[kind.get_member]
        content = content_error = None
        location = s3.location_of(item.get("DownloadUri"), self.objects)
        if location:
            try:
                content = (await run_in_threadpool(s3.read, self.objects, location)).decode("utf-8", "replace")
            except (s3.ObjectNotFound, s3.StorageError) as e:
                content_error = str(e)
        table = [line.split("\t") for line in content.splitlines()] if content else []
        return self.page(request, "resource_detail.html", kind=kind, item=item, name=name, table=table,
                         content_error=content_error, running=item.get(kind.state_member) in ("PENDING", "IN_PROGRESS"))

    async def delete_resource(self, request: Request) -> Response:
        kind = RESOURCES[request.url.path.removeprefix(BASE + "/").split("/")[0]]
        try:
            await self.client.call(kind.delete_op, {kind.name: request.path_params["name"]})
        except AWSError as error:
            return self.error_page(request, error, 400, kind=kind)
        return RedirectResponse(f"{BASE}/{kind.slug}", status_code=303)

    # --- S3 picker and upload (JSON for the scripts) -------------------------------------

    async def s3_buckets(self, request: Request) -> Response:
        try:
            return JSONResponse({"buckets": await run_in_threadpool(s3.list_buckets, self.objects)})
        except s3.StorageError as e:
            return JSONResponse({"error": str(e)}, status_code=502)

    async def s3_objects(self, request: Request) -> Response:
        bucket = request.query_params.get("bucket", "")
        try:
            keys = await run_in_threadpool(s3.list_keys, self.objects, bucket, request.query_params.get("prefix", ""))
        except s3.BadLocation as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        except s3.ObjectNotFound:
            return JSONResponse({"error": f"The bucket {bucket} does not exist."}, status_code=404)
        except s3.StorageError as e:
            return JSONResponse({"error": str(e)}, status_code=502)
        return JSONResponse({"bucket": bucket, "keys": keys})

    async def s3_upload(self, request: Request) -> Response:
        """multipart: `file`, `bucket`, optional `key` (default: the file's name) -> {"uri"}."""
        form = await request.form(max_files=1)
        upload = form.get("file")
        bucket = str(form.get("bucket", "")).strip()
        if not isinstance(upload, UploadFile) or not upload.filename:
            return JSONResponse({"error": "Choose a file to upload."}, status_code=400)
        key = str(form.get("key", "")).strip() or Path(upload.filename).name
        if upload.size is not None and upload.size > s3.MAX_UPLOAD_BYTES:
            return JSONResponse({"error": f"The console uploads files up to {s3.MAX_UPLOAD_BYTES // 2**20} MiB."}, status_code=413)
        data = await upload.read()
        try:
            location = await run_in_threadpool(s3.upload, self.objects, bucket, key, data, upload.content_type)
        except s3.BadLocation as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        except s3.StorageError as e:
            return JSONResponse({"error": str(e)}, status_code=502)
        return JSONResponse({"uri": location.uri, "bucket": location.bucket, "key": location.key, "size": len(data)})

    async def s3_object(self, request: Request) -> Response:
        """Any object of the emulator's S3 (the link to a job's output in your bucket)."""
        try:
            location = s3.check_location(request.query_params.get("bucket", ""), request.query_params.get("key", ""))
        except s3.BadLocation as e:
            return Response(str(e), status_code=400, media_type="text/plain")
        return await self.serve_object(location, request.headers.get("range"))

    async def home(self, request: Request) -> Response:
        return RedirectResponse(f"{BASE}/jobs", status_code=303)


# --- resource kinds ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceKind:
    slug: str
    title: str
    noun: str
    list_op: str
    list_member: str
    get_op: str
    get_member: str | None  # DescribeLanguageModel wraps the model; the others answer flat
    create_op: str
    delete_op: str
    name: str
    state_member: str | None
    fields: tuple[str, ...]
    build: object  # forms.create_* function


RESOURCES = {
    kind.slug: kind
    for kind in (
        ResourceKind("vocabularies", "Custom vocabularies", "vocabulary", "ListVocabularies", "Vocabularies",
                     "GetVocabulary", None, "CreateVocabulary", "DeleteVocabulary", "VocabularyName", "VocabularyState",
                     forms.VOCABULARY_FIELDS, forms.create_vocabulary),
        ResourceKind("vocabulary-filters", "Vocabulary filters", "vocabulary filter", "ListVocabularyFilters",
                     "VocabularyFilters", "GetVocabularyFilter", None, "CreateVocabularyFilter", "DeleteVocabularyFilter",
                     "VocabularyFilterName", None, forms.VOCABULARY_FILTER_FIELDS, forms.create_vocabulary_filter),
        ResourceKind("language-models", "Custom language models", "language model", "ListLanguageModels", "Models",
                     "DescribeLanguageModel", "LanguageModel", "CreateLanguageModel", "DeleteLanguageModel", "ModelName",
                     "ModelStatus", forms.LANGUAGE_MODEL_FIELDS, forms.create_language_model),
    )
}


def _byte_range(header: str | None, size: int):
    """(first, last) byte of a single `bytes=a-b` / `bytes=a-` / `bytes=-n` range; None when
    absent or not a single byte range (serve the whole); "unsatisfiable" past the end."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].strip().partition("-")
    try:
        if first == "":
            length = int(last)
            if length <= 0:
                return "unsatisfiable"
            return max(0, size - length), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return "unsatisfiable"
    return start, min(end, size - 1)


def routes(console: Console) -> list:
    """The console's routing table, relative to where it is mounted (/console)."""
    c = console
    job_routes = []
    for slug in ("jobs", "medical-jobs"):
        job_routes += [
            Route(f"/{slug}", c.jobs, methods=["GET"]),
            Route(f"/{slug}/rows", c.job_rows, methods=["GET"]),
            Route(f"/{slug}/{{name}}", c.job, methods=["GET"]),
            Route(f"/{slug}/{{name}}/status", c.job_status, methods=["GET"]),
            Route(f"/{slug}/{{name}}/transcript", c.download, methods=["GET"]),
            Route(f"/{slug}/{{name}}/subtitles/{{format}}", c.download, methods=["GET"]),
            Route(f"/{slug}/{{name}}/media", c.media, methods=["GET"]),
            Route(f"/{slug}/{{name}}/delete", c.delete_job, methods=["POST"]),
        ]
    resource_routes = []
    for slug in RESOURCES:
        resource_routes += [
            Route(f"/{slug}", c.resources, methods=["GET"]),
            Route(f"/{slug}/create", c.resource_form, methods=["GET"]),
            Route(f"/{slug}/create", c.create_resource, methods=["POST"]),
            Route(f"/{slug}/{{name}}", c.resource, methods=["GET"]),
            Route(f"/{slug}/{{name}}/delete", c.delete_resource, methods=["POST"]),
        ]
    return [
        Route("/", c.home, methods=["GET"]),
        Route("/jobs/create", c.create_job_form, methods=["GET"]),
        Route("/jobs/create", c.create_job, methods=["POST"]),
        Route("/medical-jobs/create", c.create_medical_job_form, methods=["GET"]),
        Route("/medical-jobs/create", c.create_medical_job, methods=["POST"]),
        *job_routes,
        *resource_routes,
        Route("/s3/buckets", c.s3_buckets, methods=["GET"]),
        Route("/s3/objects", c.s3_objects, methods=["GET"]),
        Route("/s3/object", c.s3_object, methods=["GET"]),
        Route("/s3/upload", c.s3_upload, methods=["POST"]),
        *realtime_routes(c),  # real-time transcription from the microphone (console/realtime.py)
        *FamilyPages(c).routes(),
        *TranscribeNowPage(c).routes(),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
