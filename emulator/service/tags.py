"""Tagging: TagResource, UntagResource, ListTagsForResource, and the tag checks that
Start*/Create* operations share.

A resource's tags live in its store record, `record.doc["Tags"]`, as AWS shows them:
`[{"Key": str, "Value": str}, ...]`, in the order they were first added; the member is
absent when the resource has none (as in GetTranscriptionJob for a job started without
Tags).

Sources: botocore transcribe 2017-10-26 service-2.json (TagResource, UntagResource,
ListTagsForResource, TagList 1-200, TagKey 1-128, TagValue 0-256, TranscribeArn);
Amazon Transcribe developer guide, "Tagging resources"
(https://docs.aws.amazon.com/transcribe/latest/dg/tagging.html): up to 50 tags per
resource, each key unique with one value, keys and values case sensitive, the `aws:`
prefix reserved for system tags that can't be added, modified or deleted.
The lengths and the 1-200 list sizes are enforced by the wire validation
(`emulator.aws.validation`) before an operation runs; this module checks what the
model cannot express.
"""

from __future__ import annotations

from emulator.aws.errors import BadRequestException, NotFoundException
from emulator.service.arns import ParsedArn, parse_arn, partition_for
from emulator.service.context import RequestContext
from emulator.storage.store import Record, Store

MAX_TAGS_PER_RESOURCE = 50  # developer guide, "Tagging resources"
RESERVED_PREFIX = "aws:"

# Modelled on the recorded job wording ("The requested job couldn't be found. Check the
# job name and try your request again.") and the NotFoundException shape's documentation;
# AWS's exact text for the tagging operations isn't recorded.
RESOURCE_NOT_FOUND = (
    "The requested resource couldn't be found. Check the resource name and try your request again."
)


def validate_new_tags(tags: list[dict]) -> None:
    """Check the Tags of a Start*/Create* request, the resource's whole tag set.

    `tags`: `[{"Key": str, "Value": str}, ...]` as the request carries it.
    Raises BadRequestException when a key repeats, a key starts with `aws:`, or there
    are more than 50 tags (see `_check_request_tags`, `_check_count`).
    """
    _check_request_tags(tags)
    _check_count(len(tags))


class Tagging:
    """The three tagging operations over the store, for every taggable resource kind."""

    def __init__(self, store: Store):
        self.store = store

    def operations(self) -> dict:
        """AWS operation name -> method(ctx, params)."""
        return {
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
        }

    # --- TagResource ----------------------------------------------------------------

    def tag_resource(self, ctx: RequestContext, params: dict) -> dict:
        """{"ResourceArn", "Tags"} -> {}.

        Merges: a key the resource already has takes the new value in place, a new key
        is appended. Checks run stateless first: BadRequestException for a malformed
        ARN, then for a repeated or `aws:` key; then NotFoundException for a resource
        that isn't there; then BadRequestException when the merged set exceeds 50 tags
        (nothing is written then).
        """
        arn = parse_arn(params["ResourceArn"])
        _check_request_tags(params["Tags"])

        def merge(tags: dict[str, str]) -> None:
            tags.update((tag["Key"], tag["Value"]) for tag in params["Tags"])
            _check_count(len(tags))

        self._change_tags(ctx, arn, merge)
        return {}

    # --- UntagResource --------------------------------------------------------------

    def untag_resource(self, ctx: RequestContext, params: dict) -> dict:
        """{"ResourceArn", "TagKeys"} -> {}.

        Keys the resource doesn't have are ignored. Raises BadRequestException for a
        malformed ARN or an `aws:` key (AWS: such tags can't be deleted);
        NotFoundException for a resource that isn't there.
        """
        arn = parse_arn(params["ResourceArn"])
        for key in params["TagKeys"]:
            _check_not_reserved(key)

        def remove(tags: dict[str, str]) -> None:
            for key in params["TagKeys"]:
                tags.pop(key, None)

        self._change_tags(ctx, arn, remove)
        return {}

    # --- ListTagsForResource --------------------------------------------------------

    def list_tags_for_resource(self, ctx: RequestContext, params: dict) -> dict:
        """{"ResourceArn"} -> {"ResourceArn": the ARN as sent, "Tags": [{"Key", "Value"}, ...]}.

        `Tags` is `[]` for a resource without tags. The model gives the response's
        TagList min 1, so AWS may instead omit the member; an empty list reads the same
        through boto3's `.get("Tags", [])` and spares `["Tags"]` a KeyError
        [unverified against AWS]. Raises BadRequestException for a malformed ARN,
        NotFoundException for a resource that isn't there.
        """
        record = self._find(ctx, parse_arn(params["ResourceArn"]))
        return {"ResourceArn": params["ResourceArn"], "Tags": list(record.doc.get("Tags", []))}

    # --- shared ---------------------------------------------------------------------

    def _find(self, ctx: RequestContext, parsed: ParsedArn) -> Record:
        """The record an ARN names, as the caller may see it.

        An ARN for another region, account or partition names a resource this caller
        has no view of here: NotFoundException, like a name that doesn't exist.
        """
        if (
            parsed.region != ctx.region
            or parsed.account_id != ctx.account_id
            or parsed.partition != partition_for(ctx.region)
        ):
            raise NotFoundException(RESOURCE_NOT_FOUND)
        record = self.store.get(parsed.store_kind, parsed.region, parsed.name)
        if record is None:
            raise NotFoundException(RESOURCE_NOT_FOUND)
        return record

    def _change_tags(self, ctx: RequestContext, arn: ParsedArn, change) -> None:
        """Applies `change` to the resource's tags (a Key -> Value dict) atomically."""
        self._find(ctx, arn)

        def apply(record: Record) -> None:
            tags = {tag["Key"]: tag["Value"] for tag in record.doc.get("Tags", [])}
            change(tags)
            if tags:
                record.doc["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
            else:
                record.doc.pop("Tags", None)

        if self.store.modify(arn.store_kind, arn.region, arn.name, apply) is None:
            raise NotFoundException(RESOURCE_NOT_FOUND)  # deleted between the check and the write


def _check_request_tags(tags: list[dict]) -> None:
    """Raises BadRequestException for an `aws:` key or a key given twice.

    Keys are case sensitive ("Env" and "env" are two keys); the reserved prefix is
    refused in any case ("AWS:", "Aws:"), as AWS's common tag restrictions put it
    ("Don't use aws:, AWS:, or any upper or lowercase combination of such as a prefix",
    e.g. https://docs.aws.amazon.com/batch/latest/userguide/tag-restrictions.html).
    """
    seen: set[str] = set()
    for tag in tags:
        key = tag["Key"]
        _check_not_reserved(key)
        if key in seen:
            raise BadRequestException(
                f"The tag key '{key}' appears more than once in your request. "
                "Each tag key must be unique with only one value."
            )
        seen.add(key)


def _check_not_reserved(key: str) -> None:
    if key[: len(RESERVED_PREFIX)].lower() == RESERVED_PREFIX:
        raise BadRequestException(
            f"The tag key '{key}' begins with '{RESERVED_PREFIX}', a prefix that AWS reserves "
            "for system-generated tags. Use a different tag key."
        )


def _check_count(count: int) -> None:
    if count > MAX_TAGS_PER_RESOURCE:
        raise BadRequestException(
            f"This request would give the resource {count} tags. Amazon Transcribe supports up to "
            f"{MAX_TAGS_PER_RESOURCE} tags per resource. Remove some tags and try your request again."
        )
