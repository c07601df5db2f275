"""The console's way into the service layer: the same operations, the same checks as `POST /`.

`emulator.aws.json_protocol.JsonProtocolEndpoint.handle` does, after SigV4: operation
lookup, `validate_input(name, params)` against botocore's model, then the operation in a
thread. `ServiceClient.call` does exactly those three steps with the same functions, so a
form gets the API's `AWSError`s with the API's messages. What the console does not need
is left out: SigV4 (the console has its own login) and JSON (params are built as dicts).
"""

from __future__ import annotations

import functools
from typing import Callable, Mapping

from starlette.concurrency import run_in_threadpool

from emulator.aws.errors import UnknownOperationException
from emulator.aws.model import enum
from emulator.aws.validation import validate_input

Operation = Callable[[str, dict], dict]  # (region, params) -> response members


class ServiceClient:
    """operations: `emulator.app.operation_table(runtime)`; region: the console's region."""

    def __init__(self, operations: Mapping[str, Operation], region: str):
        self.operations = operations
        self.region = region

    def has(self, name: str) -> bool:
        """Whether the emulator implements `name` (e.g. StartMedicalTranscriptionJob)."""
        return name in self.operations

    async def call(self, name: str, params: dict) -> dict:
        """The operation's response members. Raises AWSError (ValidationException,
        SerializationException, the service's BadRequest/Conflict/NotFound/LimitExceeded)."""
        if name not in self.operations:
            raise UnknownOperationException("")
        validate_input(name, params)
        return await run_in_threadpool(self.operations[name], self.region, params)

    async def list_all(self, name: str, member: str, params: dict | None = None, limit: int = 1000) -> list[dict]:
        """Every entry of a List* operation's `member`, following NextToken, at most `limit`."""
        params = {**(params or {}), "MaxResults": 100}
        entries: list[dict] = []
        while len(entries) < limit:
            page = await self.call(name, dict(params))
            entries.extend(page.get(member, []))
            if not page.get("NextToken"):
                break
            params["NextToken"] = page["NextToken"]
        return entries[:limit]


@functools.cache
def model_enum(shape_name: str) -> tuple[str, ...]:
    """The enum values of a botocore transcribe shape (`LanguageCode`, `PiiEntityType`, ...)."""
    return enum(shape_name)
