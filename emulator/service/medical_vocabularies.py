"""Medical custom vocabularies: CreateMedicalVocabulary, GetMedicalVocabulary,
ListMedicalVocabularies, UpdateMedicalVocabulary, DeleteMedicalVocabulary.

The same lifecycle, table format and biasing as standard vocabularies
(emulator.service.vocabularies: PENDING -> READY/FAILED, a table from S3, `DownloadUri`),
in their own namespace (Store kind and ARN resource type `medical-vocabulary`), with the
medical rules of botocore's `CreateMedicalVocabularyRequest`: the table comes only from
`VocabularyFileUri` (required by the model; there is no `Phrases` member) and the language
is US English only (AWS documents `en-US` as the one valid value; anything else is a
BadRequestException). Response shapes: botocore `CreateMedicalVocabularyResponse`,
`GetMedicalVocabularyResponse`, `ListMedicalVocabulariesResponse`,
`UpdateMedicalVocabularyResponse` — the same members as the standard ones.
"""

from __future__ import annotations

from typing import Callable

from emulator.aws.errors import BadRequestException
from emulator.service.vocabularies import Vocabularies

KIND = "medical-vocabulary"
MEDICAL_LANGUAGE = "en-US"
# AWS's wording is not published; this names the one value AWS documents.
LANGUAGE_NOT_SUPPORTED = (
    "The language code {code} isn't supported for medical vocabularies. "
    "Use en-US and try your request again."
)


class MedicalVocabularies(Vocabularies):
    kind = KIND
    download_folder = "medical-vocabularies"
    create_request = "CreateMedicalVocabularyRequest"
    update_request = "UpdateMedicalVocabularyRequest"
    create_shape = "CreateMedicalVocabularyResponse"
    get_shape = "GetMedicalVocabularyResponse"
    update_shape = "UpdateMedicalVocabularyResponse"
    summary_shape = "VocabularyInfo"  # ListMedicalVocabulariesResponse lists VocabularyInfo too
    list_shape = "ListMedicalVocabulariesResponse"

    def operations(self) -> dict[str, Callable]:
        """AWS operation name -> method(ctx, params)."""
        return {
            "CreateMedicalVocabulary": self.create_medical_vocabulary,
            "GetMedicalVocabulary": self.get_vocabulary,
            "ListMedicalVocabularies": self.list_vocabularies,
            "UpdateMedicalVocabulary": self.update_medical_vocabulary,
            "DeleteMedicalVocabulary": self.delete_vocabulary,
        }

    def create_medical_vocabulary(self, ctx, params: dict) -> dict:
        """-> CreateMedicalVocabularyResponse (PENDING). BadRequestException (language, URI),
        ConflictException (name taken)."""
        _check_language(params["LanguageCode"])
        return self.create_vocabulary(ctx, params)

    def update_medical_vocabulary(self, ctx, params: dict) -> dict:
        """-> UpdateMedicalVocabularyResponse (PENDING again). NotFoundException, BadRequestException."""
        _check_language(params["LanguageCode"])
        return self.update_vocabulary(ctx, params)


def _check_language(code: str) -> None:
    if code != MEDICAL_LANGUAGE:
        raise BadRequestException(LANGUAGE_NOT_SUPPORTED.format(code=code))
