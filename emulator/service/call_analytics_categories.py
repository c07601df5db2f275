"""Call Analytics categories: CreateCallAnalyticsCategory, GetCallAnalyticsCategory,
ListCallAnalyticsCategories, UpdateCallAnalyticsCategory, DeleteCallAnalyticsCategory.

A category is a named list of 1-20 rules (botocore `Rule`, a union of `TranscriptFilter`,
`InterruptionFilter`, `NonTalkTimeFilter`, `SentimentFilter`) with an `InputType`
(POST_CALL, the default, or REAL_TIME). It has no state machine: usable as soon as Create
answers. Every POST_CALL category is evaluated on every Call Analytics job that starts after
it exists (emulator.service.call_analytics_output evaluates the rules).

Shapes: botocore `CategoryProperties` (CategoryName, Rules, CreateTime, LastUpdateTime, Tags,
InputType) in every response, `ListCallAnalyticsCategoriesResponse` (Categories, NextToken).
Rules the model cannot express, checked here with BadRequestException: one filter per rule;
`StartTime` and `EndTime` (`StartPercentage` and `EndPercentage`) as a set, start before end,
and not combined with `First`/`Last` (AWS documents the pairs, not its wording); Update keeps
the category's InputType (AWS: "The input type you specify must match the input type
specified when the category was created").
Errors: NotFoundException for Get/Update/Delete of a missing category (the model declares it),
ConflictException for a taken name.
"""

from __future__ import annotations

from typing import Callable

from emulator.aws.errors import BadRequestException
from emulator.service.context import RequestContext
from emulator.service.resources import Resources, pick
from emulator.service.state_log import resource_changed
from emulator.service.tags import validate_new_tags
from emulator.storage.store import Record

KIND = "call-analytics-category"
STATUS = "READY"  # the store wants a status; categories have none on the API
POST_CALL = "POST_CALL"
REAL_TIME = "REAL_TIME"
REAL_TIME_FILTER = (
    "Rule {index} uses {filter}: real-time Call Analytics categories (InputType REAL_TIME) "
    "support only TranscriptFilter rules."
)
FILTERS = ("TranscriptFilter", "InterruptionFilter", "NonTalkTimeFilter", "SentimentFilter")

# AWS's exact texts for categories aren't recorded; these follow the vocabulary wordings.
CATEGORY_NOT_FOUND = (
    "The requested category couldn't be found. Check the category name and try your request again."
)
CATEGORY_EXISTS = "The requested category name already exists. Use a different category name."
ONE_FILTER = (
    "Each rule must contain exactly one of TranscriptFilter, InterruptionFilter, NonTalkTimeFilter "
    "or SentimentFilter; rule {index} has {count}."
)
BAD_RANGE = "The {range} of rule {index} isn't valid: {why}. Correct it and try your request again."
INPUT_TYPE_CHANGED = (
    "The input type {given} doesn't match the input type of category {name} ({theirs}). "
    "Use the category's input type and try your request again."
)
_PROPERTIES = "CategoryProperties"


class CallAnalyticsCategories(Resources):
    """The five category operations over the store."""

    kind = KIND
    NOT_FOUND = CATEGORY_NOT_FOUND
    EXISTS = CATEGORY_EXISTS
    list_shape = "ListCallAnalyticsCategoriesResponse"
    newest_by = "LastUpdateTime"

    def operations(self) -> dict[str, Callable[[RequestContext, dict], dict]]:
        """AWS operation name -> method(ctx, params)."""
        return {
            "CreateCallAnalyticsCategory": self.create_category,
            "GetCallAnalyticsCategory": self.get_category,
            "ListCallAnalyticsCategories": self.list_categories,
            "UpdateCallAnalyticsCategory": self.update_category,
            "DeleteCallAnalyticsCategory": self.delete_category,
        }

    def create_category(self, ctx: RequestContext, params: dict) -> dict:
        """-> {CategoryProperties}. BadRequestException (rules, tags), ConflictException (name taken)."""
        validate_new_tags(params.get("Tags", []))
        check_rules(params["Rules"], params.get("InputType", POST_CALL))
        name = params["CategoryName"]
        now = self.clock()
        doc = {
            "CategoryName": name,
            "Rules": params["Rules"],
            "CreateTime": now,
            "LastUpdateTime": now,
            "InputType": params.get("InputType", POST_CALL),
        }
        if params.get("Tags"):
            doc["Tags"] = params["Tags"]
        self._insert(Record(KIND, ctx.region, name, STATUS, now, doc, {"AccountId": ctx.account_id}))
        resource_changed(KIND, ctx.region, name, None, STATUS)
        return {_PROPERTIES: pick(doc, _PROPERTIES)}

    def get_category(self, ctx: RequestContext, params: dict) -> dict:
        """-> {CategoryProperties}. NotFoundException."""
        return {_PROPERTIES: pick(self._find(ctx.region, params["CategoryName"]).doc, _PROPERTIES)}

    def list_categories(self, ctx: RequestContext, params: dict) -> dict:
        """-> {Categories, NextToken}: most recently updated first, MaxResults (default 5).
        BadRequestException (bad token)."""
        return self._list(ctx.region, params, lambda record: pick(record.doc, _PROPERTIES))

    def update_category(self, ctx: RequestContext, params: dict) -> dict:
        """-> {CategoryProperties}: the rules replaced, LastUpdateTime now. NotFoundException;
        BadRequestException (rules, an InputType other than the category's)."""
        check_rules(params["Rules"])
        name = params["CategoryName"]
        self._find(ctx.region, name)

        def change(record: Record) -> None:
            theirs = record.doc.get("InputType", POST_CALL)
            given = params.get("InputType", theirs)
            if given != theirs:
                raise BadRequestException(INPUT_TYPE_CHANGED.format(given=given, name=name, theirs=theirs))
            check_rules(params["Rules"], theirs)
            record.doc["Rules"] = params["Rules"]
            record.doc["LastUpdateTime"] = self.clock()

        with self._lock:
            record = self.store.modify(KIND, ctx.region, name, change)
        if record is None:
            raise self.not_found(self.NOT_FOUND)  # deleted meanwhile
        resource_changed(KIND, ctx.region, name, STATUS, STATUS)
        return {_PROPERTIES: pick(record.doc, _PROPERTIES)}

    def delete_category(self, ctx: RequestContext, params: dict) -> dict:
        """-> {}. NotFoundException."""
        self._delete(ctx.region, params["CategoryName"])
        return {}

    def post_call_categories(self, region: str) -> list[dict]:
        """The POST_CALL categories of `region` as {CategoryName, Rules}, oldest first: what a
        Call Analytics job evaluates."""
        return self._categories_of(region, POST_CALL)

    def real_time_categories(self, region: str) -> list[dict]:
        """The REAL_TIME categories of `region`, as post_call_categories: what a Call Analytics
        stream evaluates (emulator.service.call_analytics_stream)."""
        return self._categories_of(region, REAL_TIME)

    def _categories_of(self, region: str, input_type: str) -> list[dict]:
        records = sorted(self.store.list(KIND, region), key=lambda r: (r.creation_time, r.name))
        return [
            {"CategoryName": r.name, "Rules": r.doc["Rules"]}
            for r in records
            if r.doc.get("InputType", POST_CALL) == input_type
        ]


def check_rules(rules: list[dict], input_type: str = POST_CALL) -> None:
    """What botocore's model cannot say of `Rules`: one filter per rule (`Rule` is a union),
    consistent time ranges, and only `TranscriptFilter` rules in a REAL_TIME category (AWS's
    guide, "Creating categories for real-time transcriptions", tca-categories-stream.html:
    "Real-time Call Analytics transcriptions only support rules that use TranscriptFilter").
    BadRequestException naming the rule (1-based)."""
    for index, rule in enumerate(rules, 1):
        present = [f for f in FILTERS if rule.get(f) is not None]
        if len(present) != 1:
            raise BadRequestException(ONE_FILTER.format(index=index, count=len(present)))
        if input_type == REAL_TIME and present[0] != "TranscriptFilter":
            raise BadRequestException(REAL_TIME_FILTER.format(index=index, filter=present[0]))
        condition = rule[present[0]]
        for range_name, start, end in (
            ("AbsoluteTimeRange", "StartTime", "EndTime"),
            ("RelativeTimeRange", "StartPercentage", "EndPercentage"),
        ):
            if range_name in condition:
                _check_range(condition[range_name], range_name, start, end, index)
        if "AbsoluteTimeRange" in condition and "RelativeTimeRange" in condition:
            raise BadRequestException(
                BAD_RANGE.format(range="time range", index=index, why="use AbsoluteTimeRange or RelativeTimeRange, not both")
            )


def _check_range(time_range: dict, range_name: str, start: str, end: str, index: int) -> None:
    def refuse(why: str):
        raise BadRequestException(BAD_RANGE.format(range=range_name, index=index, why=why))

    has_start, has_end = start in time_range, end in time_range
    if has_start != has_end:
        refuse(f"{start} and {end} must be given together")
    if has_start and ("First" in time_range or "Last" in time_range):
        refuse(f"{start}/{end} can't be combined with First or Last")
    if has_start and time_range[start] >= time_range[end]:
        refuse(f"{start} must be less than {end}")
    if not (has_start or "First" in time_range or "Last" in time_range):
        refuse(f"give {start} and {end}, First, or Last")
