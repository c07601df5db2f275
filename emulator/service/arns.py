"""Amazon Transcribe resource ARNs: building them and reading them back.

Format (botocore `TranscribeArn` shape, transcribe 2017-10-26 service-2.json; AWS
developer guide "Tagging resources"):

    arn:{partition}:transcribe:{region}:{account-id}:{resource-type}/{name}
    e.g. arn:aws:transcribe:us-west-2:111122223333:transcription-job/my-job

Pure: no store, no request. A resource type is also the `Store` kind its records are
kept under (`STORE_KINDS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.aws.errors import BadRequestException, ValidationException

# The model's TranscribeArn constraints, verbatim (length 1-1011).
ARN_PATTERN = r"arn:aws(-[^:]+)?:transcribe:[a-zA-Z0-9-]*:[0-9]{12}:[a-zA-Z-]*/[0-9a-zA-Z._-]+"
ARN_MAX_LENGTH = 1011
_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[^:]+)?):transcribe:(?P<region>[a-zA-Z0-9-]*):(?P<account_id>[0-9]{12})"
    r":(?P<resource_type>[a-zA-Z-]*)/(?P<name>[0-9a-zA-Z._-]+)"
)

# Taggable resources: the six the API reference lists for ResourceArn, plus the call
# analytics jobs and categories the developer guide's "Tagging resources" lists and
# HealthScribe jobs (StartMedicalScribeJob takes Tags).
RESOURCE_TYPES = (
    "transcription-job",
    "medical-transcription-job",
    "vocabulary",
    "medical-vocabulary",
    "vocabulary-filter",
    "language-model",
    "call-analytics-job",
    "call-analytics-category",
    "medical-scribe-job",
)
# Resource type -> Store kind. They are the same strings by design; the table keeps
# the two vocabularies apart for a reader and for a later kind that differs.
STORE_KINDS = {resource_type: resource_type for resource_type in RESOURCE_TYPES}


@dataclass(frozen=True)
class ParsedArn:
    partition: str  # "aws", "aws-cn", "aws-us-gov", ...
    region: str
    account_id: str  # 12 digits
    resource_type: str  # one of RESOURCE_TYPES
    name: str

    @property
    def store_kind(self) -> str:
        return STORE_KINDS[self.resource_type]


def partition_for(region: str) -> str:
    """The AWS partition a region belongs to ("cn-north-1" -> "aws-cn")."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    if region.startswith("us-iso-"):
        return "aws-iso"
    return "aws"


def resource_arn(region: str, account_id: str, resource_type: str, name: str) -> str:
    """The ARN AWS gives a resource, e.g.
    `resource_arn("us-west-2", "111122223333", "transcription-job", "my-job")` ->
    "arn:aws:transcribe:us-west-2:111122223333:transcription-job/my-job".

    Raises ValueError for a resource type not in RESOURCE_TYPES (a programming error,
    not a client's).
    """
    if resource_type not in STORE_KINDS:
        raise ValueError(f"not a Transcribe resource type: {resource_type!r}")
    return f"arn:{partition_for(region)}:transcribe:{region}:{account_id}:{resource_type}/{name}"


def parse_arn(arn: str) -> ParsedArn:
    """Split a Transcribe ARN into its parts.

    Raises BadRequestException:
    * an ARN that breaks the model's TranscribeArn length or pattern: the message the
      wire validation gives for the same value ("1 validation error detected: Value
      '...' at 'resourceArn' failed to satisfy constraint: Member must satisfy regular
      expression pattern: ..."), so a direct caller and an HTTP client read the same;
    * a well-formed ARN whose resource type Transcribe doesn't have (the pattern admits
      any letters and hyphens there): "The resource type 'x' in the ARN isn't valid. ..."
      (emulator wording; AWS's text for this case isn't recorded).
    """
    rules = []
    if len(arn) > ARN_MAX_LENGTH:
        rules.append(f"Member must have length less than or equal to {ARN_MAX_LENGTH}")
    if len(arn) < 1:
        rules.append("Member must have length greater than or equal to 1")
    match = _ARN.fullmatch(arn)
    if match is None:
        rules.append(f"Member must satisfy regular expression pattern: {ARN_PATTERN}")
    if rules:
        raise ValidationException([f"Value '{arn}' at 'resourceArn' failed to satisfy constraint: {r}" for r in rules])
    parsed = ParsedArn(**match.groupdict())
    if parsed.resource_type not in STORE_KINDS:
        raise BadRequestException(
            f"The resource type '{parsed.resource_type}' in the ARN isn't valid. "
            f"Use one of these resource types: {', '.join(RESOURCE_TYPES)}."
        )
    return parsed
