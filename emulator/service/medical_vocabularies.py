"""Medical custom vocabularies: CreateMedicalVocabulary, GetMedicalVocabulary,
ListMedicalVocabularies, UpdateMedicalVocabulary, DeleteMedicalVocabulary.

The same lifecycle, table format and biasing as standard vocabularies
(emulator.service.vocabularies: PENDING -> READY/FAILED, a table from S3, `DownloadUri`),
in their own namespace (Store kind and ARN resource type `medical-vocabulary`), with the
medical rules of botocore's `CreateMedicalVocabularyRequest`: the table comes only from
`VocabularyFileUri` (required by the model; there is no `Phrases` member) and the language
is US English only (AWS documents `en-US` as the one valid value; anything else is a
BadRequestException). Operations and shapes are named by the noun `MedicalVocabulary`:
botocore `CreateMedicalVocabularyResponse`, `GetMedicalVocabularyResponse` (no
DataAccessRoleArn or EncryptionConfiguration), `ListMedicalVocabulariesResponse`,
`UpdateMedicalVocabularyResponse`.
"""

from __future__ import annotations

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
    noun = "MedicalVocabulary"
    download_folder = "medical-vocabularies"

    def _check(self, params: dict) -> None:
        """BadRequestException for a language other than en-US, before any other check."""
        if params["LanguageCode"] != MEDICAL_LANGUAGE:
            raise BadRequestException(LANGUAGE_NOT_SUPPORTED.format(code=params["LanguageCode"]))
