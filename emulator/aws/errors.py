"""Typed AWS errors, rendered on the wire by the protocol endpoints (`emulator.aws.json_protocol`,
`emulator.aws.cbor_protocol`; the shared pipeline in `emulator.aws.endpoint`).

Source: the error shapes of botocore's `transcribe/2017-10-26/service-2.json`
(BadRequestException, ConflictException, NotFoundException, LimitExceededException,
InternalFailureException) plus the generic errors every AWS JSON service answers
(UnknownOperationException, SerializationException, the SigV4 family).
"""

from __future__ import annotations


class AWSError(Exception):
    """An error AWS would answer; `code` is the `__type`, `status` the HTTP status."""

    code: str = "InternalFailureException"
    status: int = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def members(self) -> dict:
        """Members of the error shape beyond `Message`, as the body carries them."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


# --- Transcribe's modelled errors -------------------------------------------------


class BadRequestException(AWSError):
    """reason: `BadRequestExceptionReason` ("audioTooShort", ...), which TranscribeAudio
    gives for problems with the audio only; None for every other refusal."""

    code, status = "BadRequestException", 400

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason

    def members(self) -> dict:
        return {"Reason": self.reason} if self.reason else {}


class ConflictException(AWSError):
    code, status = "ConflictException", 400


class NotFoundException(AWSError):
    code, status = "NotFoundException", 400


class LimitExceededException(AWSError):
    code, status = "LimitExceededException", 400


class InternalFailureException(AWSError):
    code, status = "InternalFailureException", 500


# --- Generic AWS JSON-protocol errors ---------------------------------------------


class UnknownOperationException(AWSError):
    code, status = "UnknownOperationException", 400


class SerializationException(AWSError):
    code, status = "SerializationException", 400


class RequestEntityTooLargeException(AWSError):
    """A request body over the emulator's limit. AWS does not document Transcribe's
    answer; this is the code and status AWS JSON services such as Lambda use."""

    code, status = "RequestEntityTooLargeException", 413


class ValidationException(BadRequestException):
    """Constraint violations; Transcribe reports them as BadRequestException.

    `violations` are single constraint messages such as
    "Value 'x' at 'languageCode' failed to satisfy constraint: ...";
    the message joins them the AWS way: "N validation error(s) detected: a; b".
    """

    def __init__(self, violations: list[str]):
        self.violations = list(violations)
        count = len(self.violations)
        noun = "error" if count == 1 else "errors"
        super().__init__(f"{count} validation {noun} detected: " + "; ".join(self.violations))


# --- SigV4 --------------------------------------------------------------------------


class MissingAuthenticationTokenException(AWSError):
    code, status = "MissingAuthenticationTokenException", 403


class IncompleteSignatureException(AWSError):
    code, status = "IncompleteSignatureException", 400


class InvalidSignatureException(AWSError):
    code, status = "InvalidSignatureException", 403


class UnrecognizedClientException(AWSError):
    code, status = "UnrecognizedClientException", 400
