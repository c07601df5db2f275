"""Console pages of the Call Analytics and AWS HealthScribe job families, and Call Analytics
categories: list (live while jobs run), Create, details (the output files read from S3 and
shown through `analysis_views`), downloads of the output JSON, Delete.

Every page calls the operations by name through the console's `ServiceClient` (the API's
own validation and service layer, in-process), as the transcription job pages do
(emulator.console.routes), and reuses their rendering, S3 reads and downloads through the
`Console` it is given. Forms become request members in `family_forms`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from emulator.aws.errors import AWSError
from emulator.console import family_forms, forms
from emulator.console import objects as s3
from emulator.console.analysis_views import call_view, clock, scribe_view, seconds
from emulator.console.client import model_enum

MAX_OUTPUT_BYTES = 64 * 1024 * 1024  # output files larger than this are downloaded, not shown
RUNNING = ("QUEUED", "IN_PROGRESS")
ROLE_ARN = "arn:aws:iam::000000000000:role/TranscribeEmulator"  # the emulator accepts any role


@dataclass(frozen=True)
class FamilyKind:
    """One job family's console pages: URL slug, wording, operations and members."""

    slug: str
    title: str
    noun: str
    list_op: str
    get_op: str
    start_op: str
    delete_op: str
    summaries: str  # List response member
    job: str  # Get response member
    name: str  # the job name member
    status: str  # the status member
    fields: tuple[str, ...]  # the Create form's fields, in page order
    outputs: dict  # download path segment -> (output structure member, file member)


CALL_ANALYTICS = FamilyKind(
    "call-analytics-jobs", "Call analytics jobs", "call analytics job",
    "ListCallAnalyticsJobs", "GetCallAnalyticsJob", "StartCallAnalyticsJob", "DeleteCallAnalyticsJob",
    "CallAnalyticsJobSummaries", "CallAnalyticsJob", "CallAnalyticsJobName", "CallAnalyticsJobStatus",
    family_forms.CALL_ANALYTICS_FIELDS,
    {"output": ("Transcript", "TranscriptFileUri"), "redacted-output": ("Transcript", "RedactedTranscriptFileUri")},
)
MEDICAL_SCRIBE = FamilyKind(
    "healthscribe-jobs", "AWS HealthScribe jobs", "HealthScribe job",
    "ListMedicalScribeJobs", "GetMedicalScribeJob", "StartMedicalScribeJob", "DeleteMedicalScribeJob",
    "MedicalScribeJobSummaries", "MedicalScribeJob", "MedicalScribeJobName", "MedicalScribeJobStatus",
    family_forms.MEDICAL_SCRIBE_FIELDS,
    {"transcript": ("MedicalScribeOutput", "TranscriptFileUri"),
     "clinical-document": ("MedicalScribeOutput", "ClinicalDocumentUri")},
)
KINDS = {kind.slug: kind for kind in (CALL_ANALYTICS, MEDICAL_SCRIBE)}


class FamilyPages:
    """The pages of both families and of categories; `console`: emulator.console.routes.Console."""

    def __init__(self, console):
        self.c = console
        self.client = console.client
        env = console.templates.env
        env.filters.update(ms_clock=clock, ms_seconds=seconds)

    @staticmethod
    def _kind(request: Request) -> FamilyKind:
        return KINDS[request.url.path.split("/")[2]]

    # --- lists ----------------------------------------------------------------------------

    async def _list(self, request: Request, kind: FamilyKind) -> dict:
        return await self.c.job_list(request, kind, kind.status)

    @property
    def c_base(self) -> str:
        return self.c.templates.env.globals["base"]

    async def jobs(self, request: Request) -> Response:
        kind = self._kind(request)
        if not self.client.has(kind.list_op):
            return self.c.page(request, "unavailable.html", kind=kind)
        return self.c.page(request, "jobs.html", rows_template="family_rows.html", **await self._list(request, kind))

    async def rows(self, request: Request) -> Response:
        """The jobs table's body alone, for the live refresh (static/console.js)."""
        kind = self._kind(request)
        if not self.client.has(kind.list_op):
            return Response("", status_code=404)
        return self.c.page(request, "family_rows.html", **await self._list(request, kind))

    # --- Create -----------------------------------------------------------------------------

    async def _create_page(self, request: Request, kind: FamilyKind, form: dict, errors=None, status_code: int = 200) -> Response:
        template = "call_analytics_create.html" if kind is CALL_ANALYTICS else "healthscribe_create.html"
        return self.c.page(
            request, template, status_code=status_code, kind=kind, form=form, errors=errors,
            languages=model_enum("LanguageCode") if kind is CALL_ANALYTICS else ("en-US",),
            pii_types=model_enum("PiiEntityType"), filter_methods=model_enum("VocabularyFilterMethod"),
            redaction_outputs=model_enum("RedactionOutput"), note_templates=model_enum("MedicalScribeNoteTemplate"),
            buckets=await self.c.bucket_names(), **await self.c.job_resources(),
        )

    async def create_form(self, request: Request) -> Response:
        kind = self._kind(request)
        if not self.client.has(kind.start_op):
            return self.c.page(request, "unavailable.html", kind=kind)
        defaults = {"channel_mode": ["channels"], "agent_channel": ["0"], "language_mode": ["specific"],
                    "language": ["en-US"], "Settings.VocabularyFilterMethod": ["mask"], "audio_mode": ["channels"], "clinician_channel": ["0"],
                    "Settings.MaxSpeakerLabels": ["2"], "DataAccessRoleArn": [ROLE_ARN],
                    "Settings.ClinicalNoteGenerationSettings.NoteTemplate": ["HISTORY_AND_PHYSICAL"]}
        return await self._create_page(request, kind, defaults)

    async def create(self, request: Request) -> Response:
        kind = self._kind(request)
        if not self.client.has(kind.start_op):
            return self.c.page(request, "unavailable.html", kind=kind, status_code=404)
        form = forms.form_dict((await request.form()).multi_items())
        build = family_forms.start_call_analytics_job if kind is CALL_ANALYTICS else family_forms.start_medical_scribe_job
        params = build(form)
        try:
            await self.client.call(kind.start_op, params)
        except AWSError as error:
            return await self._create_page(request, kind, form, forms.field_errors(error, kind.fields, form), 400)
        return RedirectResponse(f"{self.c_base}/{kind.slug}/{params[kind.name]}", status_code=303)

    # --- details ----------------------------------------------------------------------------

    async def _get(self, kind: FamilyKind, name: str) -> dict:
        return (await self.client.call(kind.get_op, {kind.name: name}))[kind.job]

    def _location(self, job: dict, kind: FamilyKind, segment: str):
        structure, member = kind.outputs[segment]
        return s3.location_of((job.get(structure) or {}).get(member), self.c.objects)

    def _read_json(self, location: s3.Location):
        """The parsed JSON object at `location` (blocking). Raises ObjectNotFound, StorageError,
        ValueError with a message for the page."""
        data = s3.read(self.c.objects, location)
        if len(data) > MAX_OUTPUT_BYTES:
            raise ValueError(f"it is larger than {MAX_OUTPUT_BYTES // 2**20} MiB; download it instead.")
        try:
            return json.loads(data)
        except RecursionError:
            raise ValueError("it is JSON nested too deeply.") from None
        except ValueError as e:
            raise ValueError(f"it is not JSON ({type(e).__name__}: {e}).") from None

    async def _view(self, kind: FamilyKind, job: dict):
        """(view, None) of a completed job's output, (None, why not) when it can't be read."""
        locations = [self._location(job, kind, segment) for segment in kind.outputs]
        first = locations[0]
        if first is None:
            return None, "The job's output is not on the emulator's S3."
        try:
            if kind is CALL_ANALYTICS:
                return call_view(await run_in_threadpool(self._read_json, first)), None
            if locations[1] is None:
                return None, "The job's clinical document is not on the emulator's S3."
            transcript = await run_in_threadpool(self._read_json, first)
            document = await run_in_threadpool(self._read_json, locations[1])
            return scribe_view(transcript, document), None
        except (s3.ObjectNotFound, s3.StorageError, ValueError) as e:  # MalformedOutput is a ValueError
            return None, f"The job's output can't be read: {e}"

    async def job(self, request: Request) -> Response:
        kind = self._kind(request)
        if not self.client.has(kind.get_op):
            return self.c.page(request, "unavailable.html", kind=kind)
        name = request.path_params["name"]
        try:
            job = await self._get(kind, name)
        except AWSError as error:
            return self.c.error_page(request, error, 404, kind=kind)
        status = job.get(kind.status)
        view = view_error = None
        if status == "COMPLETED":
            view, view_error = await self._view(kind, job)
        downloads = [segment for segment in kind.outputs if self._location(job, kind, segment)]
        template = "call_analytics_detail.html" if kind is CALL_ANALYTICS else "healthscribe_detail.html"
        return self.c.page(
            request, template, kind=kind, job=job, name=name, status=status, running=status in RUNNING,
            view=view, view_error=view_error, downloads=downloads,
        )

    async def job_status(self, request: Request) -> Response:
        kind = self._kind(request)
        try:
            job = await self._get(kind, request.path_params["name"])
        except AWSError as error:
            return JSONResponse({"error": error.code, "message": error.message}, status_code=404)
        return JSONResponse({"status": job.get(kind.status), "failure_reason": job.get("FailureReason")})

    async def download(self, request: Request) -> Response:
        """An output file of the job (`/output`, `/redacted-output`, `/transcript`,
        `/clinical-document`) as an attachment."""
        kind = self._kind(request)
        segment = request.path_params["file"]
        if segment not in kind.outputs:
            return self.c.error_page(request, "This job has no such output.", 404, kind=kind)
        try:
            job = await self._get(kind, request.path_params["name"])
        except AWSError as error:
            return self.c.error_page(request, error, 404, kind=kind)
        location = self._location(job, kind, segment)
        if location is None:
            return self.c.error_page(request, "This job has no such output (yet).", 404, kind=kind)
        return await self.c.serve_object(location, request.headers.get("range"))

    async def delete(self, request: Request) -> Response:
        kind = self._kind(request)
        try:
            await self.client.call(kind.delete_op, {kind.name: request.path_params["name"]})
        except AWSError as error:
            return self.c.error_page(request, error, 400, kind=kind)
        return RedirectResponse(f"{self.c_base}/{kind.slug}", status_code=303)

    # --- Call Analytics categories ---------------------------------------------------------------

    async def categories(self, request: Request) -> Response:
        try:
            items = await self.client.list_all("ListCallAnalyticsCategories", "Categories")
            list_error = None
        except AWSError as error:
            items, list_error = [], f"{error.code}: {error.message}"
        return self.c.page(request, "categories.html", kind=CATEGORIES, items=items, list_error=list_error)

    async def category_form(self, request: Request, form: dict | None = None, errors=None, status_code: int = 200) -> Response:
        return self.c.page(
            request, "category_create.html", status_code=status_code, kind=CATEGORIES,
            form=form or {"InputType": ["POST_CALL"], "rule1.type": ["TranscriptFilter"]}, errors=errors,
            slots=range(1, family_forms.RULE_SLOTS + 1), rule_types=family_forms.RULE_TYPES,
            input_types=model_enum("InputType"), roles=model_enum("ParticipantRole"),
            sentiments=model_enum("SentimentValue"), range_members=family_forms.RANGE_MEMBERS,
        )

    async def create_category(self, request: Request) -> Response:
        form = forms.form_dict((await request.form()).multi_items())
        params = family_forms.create_call_analytics_category(form)
        try:
            await self.client.call("CreateCallAnalyticsCategory", params)
        except AWSError as error:
            return await self.category_form(request, form, forms.field_errors(error, ("CategoryName", "InputType"), form), 400)
        return RedirectResponse(f"{self.c_base}/{CATEGORIES.slug}/{params['CategoryName']}", status_code=303)

    async def category(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            item = (await self.client.call("GetCallAnalyticsCategory", {"CategoryName": name}))["CategoryProperties"]
        except AWSError as error:
            return self.c.error_page(request, error, 404, kind=CATEGORIES)
        return self.c.page(request, "category_detail.html", kind=CATEGORIES, item=item, name=name)

    async def delete_category(self, request: Request) -> Response:
        try:
            await self.client.call("DeleteCallAnalyticsCategory", {"CategoryName": request.path_params["name"]})
        except AWSError as error:
            return self.c.error_page(request, error, 400, kind=CATEGORIES)
        return RedirectResponse(f"{self.c_base}/{CATEGORIES.slug}", status_code=303)

    # --- routes -----------------------------------------------------------------------------------

    def routes(self) -> list:
        table = []
        for slug in KINDS:
            table += [
                Route(f"/{slug}", self.jobs, methods=["GET"]),
                Route(f"/{slug}/rows", self.rows, methods=["GET"]),
                Route(f"/{slug}/create", self.create_form, methods=["GET"]),
                Route(f"/{slug}/create", self.create, methods=["POST"]),
                Route(f"/{slug}/{{name}}", self.job, methods=["GET"]),
                Route(f"/{slug}/{{name}}/status", self.job_status, methods=["GET"]),
                Route(f"/{slug}/{{name}}/files/{{file}}", self.download, methods=["GET"]),
                Route(f"/{slug}/{{name}}/delete", self.delete, methods=["POST"]),
            ]
        slug = CATEGORIES.slug
        return table + [
            Route(f"/{slug}", self.categories, methods=["GET"]),
            Route(f"/{slug}/create", self.category_form, methods=["GET"]),
            Route(f"/{slug}/create", self.create_category, methods=["POST"]),
            Route(f"/{slug}/{{name}}", self.category, methods=["GET"]),
            Route(f"/{slug}/{{name}}/delete", self.delete_category, methods=["POST"]),
        ]


@dataclass(frozen=True)
class CategoryKind:
    """What the shared templates (error page, nav) read of a page kind."""

    slug: str
    title: str
    noun: str


CATEGORIES = CategoryKind("call-analytics-categories", "Call analytics categories", "category")
