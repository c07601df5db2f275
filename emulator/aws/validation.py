"""Server-side validation of Amazon Transcribe requests, worded the way AWS words it.

Source: botocore's `transcribe/2017-10-26/service-2.json`: each operation's input
shape and the constraints its member shapes declare (`required`, `min`/`max`,
`pattern`, `enum`). The model is loaded once, lazily, and cached.

Two kinds of failure, checked the way AWS's Coral front end does:

* a JSON value of the wrong type (a string where an integer is expected, a list where
  a structure is expected, ...) fails deserialization before anything is validated:
  `SerializationException`, with Coral's message ("STRING_VALUE cannot be converted
  to Integer", "Start of structure or map found where not expected", ...);
* otherwise every constraint violation is collected, in model member order, and raised
  together as one `ValidationException` ("2 validation errors detected: a; b"), each as
  "Value 'x' at 'settings.maxSpeakerLabels' failed to satisfy constraint: ...".

Paths are member names in lowerCamelCase, where only the first character is lowered
(`KMSEncryptionContext` -> `kMSEncryptionContext`), joined with "."; an element of a
list of structures is `tags.1.member.key` (1-based), a structure value of a map is
`languageIdSettings.en-US.member.vocabularyName`. Lists and maps of scalars are
reported once, at the collection, the way AWS does: "Member must satisfy constraint:
[...]" (list elements), "Map keys must satisfy constraint: [...]", "Map value must
satisfy constraint: [...]", the brackets naming every constraint of the element shape.
Unknown members are ignored and JSON null counts as absent, as on AWS (its JSON
deserializers treat null as absent): a structure member that is null is removed from
`params`, at any depth, so no operation ever sees a None. A null element of a list or
value of a map is a violation ("Member must not be null" in the brackets).

Text the emulator cannot store (emulator wording, AWS's is not published): a string or
map key holding an unpaired UTF-16 surrogate (JSON `"\ud800"`) or the NUL character is
a SerializationException, "Strings must be valid Unicode without NUL characters: found
U+D800 at 'path'". Nesting too deep to walk is a SerializationException without message.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from emulator.aws.errors import SerializationException, UnknownOperationException, ValidationException
from emulator.aws.model import service_model

_SCALAR_JAVA_TYPES = {
    "string": "String",
    "boolean": "Boolean",
    "integer": "Integer",
    "long": "Long",
    "float": "Float",
    "double": "Double",
    "timestamp": "Date",
}
_INTEGRAL = ("integer", "long")
_NUMERIC = ("integer", "long", "float", "double")
_NOT_NULL = "Member must not be null"


def operation_names() -> list[str]:
    """Every operation of botocore's transcribe service-2.json, in model order."""
    return list(service_model().operation_names)


def validate_input(operation_name: str, params: dict) -> None:
    """Validate `params` (the decoded JSON body) against the operation's input shape.

    Shapes and constraints come from botocore's transcribe `service-2.json`.
    `params` is changed in place: null structure members are removed (null is absent)
    and decimals sent for integer members become integers (as Coral truncates them).
    Raises `SerializationException` for a JSON value of the wrong type, for text with
    an unpaired surrogate or NUL, and for nesting too deep to walk;
    `ValidationException` listing every constraint violation (AWS wording); and
    `UnknownOperationException` for an operation the model does not have.
    """
    if operation_name not in service_model().operation_names:
        raise UnknownOperationException(f"Operation {operation_name} is not supported.")
    shape = service_model().operation_model(operation_name).input_shape
    if shape is None:
        return
    violations: list[str] = []
    try:
        _check(shape, {} if params is None else params, "", violations)
    except RecursionError:  # only values nested near the parser's own limit get here
        raise SerializationException("") from None
    if violations:
        raise ValidationException(violations)


# --- the walk ------------------------------------------------------------------------


def _check(shape, value: Any, path: str, out: list[str]) -> None:
    """Check a present (non-null) `value` of `shape` found at `path`."""
    _check_type(shape, value)
    kind = shape.type_name
    if kind == "structure":
        for name, member in shape.members.items():
            member_path = _join(path, _lower_camel(name))
            sub = value.get(name)
            if sub is None:
                value.pop(name, None)  # null is absent: the operation never sees it
                if name in shape.required_members:
                    out.append(_violation(None, member_path, _NOT_NULL))
            else:
                _check(member, sub, member_path, out)
                if member.type_name in _INTEGRAL:
                    value[name] = int(sub)  # Coral truncates 1.9 to 1; the operation sees the integer
        return
    if isinstance(value, str):
        _check_text(value, path)
    value = _coerce(shape, value)
    shown = _byte_buffer(value) if kind == "blob" else value
    out.extend(_violation(shown, path, rule) for rule in _failed_rules(shape, value))
    if kind == "list":
        _check_elements(shape.member, list(enumerate(value, 1)), value, path, "Member", out)
    elif kind == "map":
        for key in value:
            _check_text(key, path)
        bad_keys = [key for key in value if _failed_rules(shape.key, key)]
        if bad_keys:
            out.append(_aggregate(value, path, "Map keys", shape.key, False))
        _check_elements(shape.value, list(value.items()), value, path, "Map value", out)


def _check_elements(shape, items: list, whole, path: str, label: str, out: list[str]) -> None:
    """Elements of a list or values of a map: structures (and nested collections) are
    walked at `path.<index or key>.member`; scalars are reported once for the collection."""
    if shape.type_name in ("structure", "list", "map"):
        for key, element in items:
            element_path = f"{path}.{key}.member"
            if element is None:
                out.append(_violation(None, element_path, _NOT_NULL))
            else:
                _check(shape, element, element_path, out)
        return
    has_null = failed = False
    for _, element in items:
        if element is None:
            has_null = True
            continue
        _check_type(shape, element)
        if isinstance(element, str):
            _check_text(element, path)
        failed = failed or bool(_failed_rules(shape, _coerce(shape, element)))
    if failed or has_null:
        out.append(_aggregate(whole, path, label, shape, has_null))


# --- constraints -----------------------------------------------------------------------


def _failed_rules(shape, value) -> list[str]:
    """The constraint messages `value` (of the right type) breaks: length, then pattern, then enum."""
    meta, kind, failed = shape.metadata, shape.type_name, []
    if kind in ("string", "list", "map", "blob"):
        size = _blob_size(value) if kind == "blob" else len(value)
        if "max" in meta and size > meta["max"]:
            failed.append(f"Member must have length less than or equal to {meta['max']}")
        if "min" in meta and size < meta["min"]:
            failed.append(f"Member must have length greater than or equal to {meta['min']}")
    elif kind in _NUMERIC:
        if "max" in meta and value > meta["max"]:
            failed.append(f"Member must have value less than or equal to {meta['max']}")
        if "min" in meta and value < meta["min"]:
            failed.append(f"Member must have value greater than or equal to {meta['min']}")
    if kind == "string":
        regex = _compiled(meta["pattern"]) if "pattern" in meta else None
        if regex is not None and regex.fullmatch(value) is None:
            failed.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
        if "enum" in meta and value not in meta["enum"]:
            failed.append(_enum_rule(meta["enum"]))
    return failed


def _blob_size(text: str) -> int:
    """Bytes of a base64 blob (awsJson sends blobs base64-encoded; the model's `max` counts
    bytes: `MediaBytesBlob` max 26214400), without decoding it."""
    text = text.strip()
    return len(text) * 3 // 4 - (len(text) - len(text.rstrip("=")))


def _byte_buffer(text: str) -> str:
    """How Java shows a blob in a constraint message (its ByteBuffer's toString)."""
    size = _blob_size(text)
    return f"java.nio.HeapByteBuffer[pos=0 lim={size} cap={size}]"


def _all_rules(shape) -> list[str]:
    """Every constraint `shape` declares, in the order AWS lists them inside brackets."""
    meta, kind, rules = shape.metadata, shape.type_name, []
    unit = "value" if kind in _NUMERIC else "length"
    if "max" in meta:
        rules.append(f"Member must have {unit} less than or equal to {meta['max']}")
    if "min" in meta:
        rules.append(f"Member must have {unit} greater than or equal to {meta['min']}")
    if "pattern" in meta:
        rules.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
    if "enum" in meta:
        rules.append(_enum_rule(meta["enum"]))
    return rules


def _enum_rule(values: list[str]) -> str:
    return "Member must satisfy enum value set: [" + ", ".join(values) + "]"


def _aggregate(whole, path: str, label: str, shape, has_null: bool) -> str:
    rules = _all_rules(shape) + ([_NOT_NULL] if has_null else [])
    return _violation(whole, path, f"{label} must satisfy constraint: [" + ", ".join(rules) + "]")


@functools.cache
def _compiled(pattern: str) -> re.Pattern | None:
    """The model's (Java) pattern compiled for Python; None if Python cannot read it."""
    try:
        return re.compile(pattern)
    except re.error:
        return None


# --- types (Coral's deserialization messages) -------------------------------------------


def _check_type(shape, value) -> None:
    kind = shape.type_name
    if isinstance(value, dict):
        if kind not in ("structure", "map"):
            raise SerializationException("Start of structure or map found where not expected")
        return
    if isinstance(value, list):
        if kind in ("structure", "map"):
            raise SerializationException("Start of list found where not expected")
        if kind != "list":
            raise SerializationException(f"Unrecognized collection type class {_java_class(kind)}")
        return
    if kind in ("structure", "map", "list"):
        raise SerializationException("Unexpected field type")
    token = _token(value)
    ok = {
        "string": token == "STRING_VALUE",
        "blob": token == "STRING_VALUE",
        "boolean": token in ("TRUE_VALUE", "FALSE_VALUE"),
        "timestamp": token in ("NUMBER_VALUE", "DECIMAL_VALUE"),
    }.get(kind, token in ("NUMBER_VALUE", "DECIMAL_VALUE"))
    if ok:
        return
    if kind == "blob":
        raise SerializationException("only base-64-encoded strings are convertible to bytes")
    if kind == "boolean" and token == "STRING_VALUE":
        raise SerializationException("Unexpected token received from parser")
    raise SerializationException(f"{token} cannot be converted to {_SCALAR_JAVA_TYPES.get(kind, kind)}")


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _check_text(text: str, path: str) -> None:
    """Strings must encode as UTF-8 and carry no NUL: JSON's "\\ud800" escapes decode to
    lone surrogates that every later encode (SQLite, S3 keys, logs) would fail on."""
    found = _UNSTORABLE.search(text)
    if found is not None:
        raise SerializationException(
            "Strings must be valid Unicode without NUL characters: "
            f"found U+{ord(found.group()):04X} at '{path}'"
        )


def _token(value) -> str:
    if isinstance(value, bool):
        return "TRUE_VALUE" if value else "FALSE_VALUE"
    if isinstance(value, int):
        return "NUMBER_VALUE"
    if isinstance(value, float):
        return "DECIMAL_VALUE"
    return "STRING_VALUE"


def _java_class(kind: str) -> str:
    return "java.nio.ByteBuffer" if kind == "blob" else "java.lang." + _SCALAR_JAVA_TYPES.get(kind, kind)


def _coerce(shape, value):
    """A JSON decimal sent for an integer is truncated, as Coral does."""
    return int(value) if shape.type_name in _INTEGRAL else value


# --- wording ---------------------------------------------------------------------------


def _violation(value, path: str, rule: str) -> str:
    shown = "null" if value is None else f"'{_render(value)}'"
    return f"Value {shown} at '{path}' failed to satisfy constraint: {rule}"


def _render(value) -> str:
    """Java's toString: lists as [a, b], maps as {k=v}, booleans as true/false."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_render(v)}" for k, v in value.items()) + "}"
    return str(value)


def _lower_camel(name: str) -> str:
    """AWS lowers only the first character: KMSEncryptionContext -> kMSEncryptionContext."""
    return name[:1].lower() + name[1:]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
