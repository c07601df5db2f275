""""Transcribe a file now": TranscribeAudio from the console, its Results and Metadata on the page.

One form (multipart, so it works without scripts: its first field is the CSRF token, which
emulator.console.security reads from there) names the media either as a file uploaded
with the form, sent as `Media.MediaBytes`, or as an S3 URI, sent as `Media.MediaFileUri`;
the request goes through the console's `ServiceClient` (the API's validation, then the
operation in a worker thread), so a file that is too big, too short or unreadable, and a
busy emulator (LimitExceededException), answer with the API's own code and message.
Shapes: botocore `TranscribeAudioRequest` / `TranscribeAudioResponse`.
"""

from __future__ import annotations

import base64

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.aws.errors import AWSError, BadRequestException
from emulator.aws.model import shape
from emulator.console import family_forms, forms
from emulator.console.client import model_enum

OPERATION = "TranscribeAudio"
SLUG = "transcribe-now"
# MediaBytes' limit in the model (25 MiB). One byte more is read, so that a larger file gets
# the API's own length error rather than being cut silently.
MAX_MEDIA_BYTES = shape("MediaBytesBlob").metadata["max"]


class TranscribeNowPage:
    """GET shows the form; POST runs TranscribeAudio and shows the form with the results."""

    def __init__(self, console):
        self.c = console

    async def _page(self, request: Request, form: dict, errors=None, response: dict | None = None, status_code: int = 200,
                    filename: str = "") -> Response:
        return self.c.page(
            request, "transcribe_now.html", status_code=status_code, form=form, errors=errors, response=response,
            filename=filename, languages=model_enum("SyncLanguage"), pii_types=model_enum("PiiEntityType"),
            redaction_outputs=model_enum("RedactionOutput"), buckets=await self.c.bucket_names(),
            available=self.c.client.has(OPERATION),
        )

    async def show(self, request: Request) -> Response:
        return await self._page(request, {"media_source": ["upload"], "language_mode": ["specific"], "Language": ["en"]})

    async def run(self, request: Request) -> Response:
        if not self.c.client.has(OPERATION):
            return await self._page(request, {}, status_code=404)
        async with request.form(max_files=1) as posted:
            form = forms.form_dict(posted.multi_items())
            upload = posted.get("media_file")
            media_bytes, filename = None, ""
            if forms.value(form, "media_source") == "upload" and isinstance(upload, UploadFile) and upload.filename:
                filename = upload.filename
                media_bytes = base64.b64encode(await upload.read(MAX_MEDIA_BYTES + 1)).decode("ascii")
        params = family_forms.transcribe_audio(form, media_bytes)
        if forms.value(form, "media_source") == "upload" and media_bytes is None:
            return await self._page(request, form, _choose_a_file(), status_code=400)
        try:
            response = await self.c.client.call(OPERATION, params)
        except AWSError as error:
            errors = forms.field_errors(error, family_forms.TRANSCRIBE_AUDIO_FIELDS, form)
            return await self._page(request, form, errors, status_code=400, filename=filename)
        return await self._page(request, form, response=response, filename=filename)

    def routes(self) -> list:
        return [Route(f"/{SLUG}", self.show, methods=["GET"]), Route(f"/{SLUG}", self.run, methods=["POST"])]


def _choose_a_file() -> forms.FieldErrors:
    """The page's own error when no file came with an upload (the API never sees the request)."""
    errors = forms.FieldErrors(BadRequestException("Choose a media file to upload, or give its S3 URI."))
    errors.add("Media.MediaBytes", errors.message)
    return errors
