"""Is a new event JSON Schema still compatible with the one that was published?

Pure functions over JSON Schema documents (as `model_json_schema()` makes them): no I/O.

A record on a Gonghui topic is read in both directions of time: consumers still running the
old model read records the new code publishes (rolling deploys), and consumers running the
new model read records published long ago (30 days of retention, DLQ replays). So, for a
published event type:

- a property may not disappear (old consumers require it);
- a property may not change what it accepts: its JSON type(s), nullability, `format`,
  `enum` / `const` values, array items, or the properties of a nested object;
- a property may not become required (old records do not have it);
- adding an optional property is fine (old consumers ignore unknown fields, new consumers
  accept old records without it); so are changes to titles, descriptions and examples.

Anything else needs a new event type with the next version (`….v2`), published next to the
old one until every subscriber has moved.
"""

from __future__ import annotations

import json
from typing import Any

Schema = dict[str, Any]

# Keywords that say what a value may be. Everything else (title, description, examples,
# default, length limits …) is documentation or producer-side validation.
_SHAPE_KEYS = ("type", "format", "enum", "const", "additionalProperties")


def compatibility_problems(old: Schema, new: Schema) -> list[str]:
    """Breaking differences from the published schema `old` to `new`; empty when compatible."""
    problems: list[str] = []
    _compare_object(old, old, new, new, "", problems)
    return problems


def catalog_problems(published: dict[str, Schema], current: dict[str, Schema]) -> list[str]:
    """Breaking changes between two catalogs (event type -> schema), with what to do instead."""
    problems: list[str] = []
    for event_type in sorted(published):
        if event_type not in current:
            problems.append(
                f"{event_type}: the event type was published and is gone. Keep publishing it "
                "(mark it deprecated in its docstring) until no subscriber needs it."
            )
            continue
        for problem in compatibility_problems(published[event_type], current[event_type]):
            problems.append(
                f"{event_type}: {problem}. This breaks subscribers: keep {event_type} "
                f"as it was and publish the change as a new event type {next_version(event_type)}."
            )
    return problems


def next_version(event_type: str) -> str:
    """`members.member.joined.v1` -> `members.member.joined.v2`."""
    head, _, version = event_type.rpartition(".v")
    if head and version.isdigit():
        return f"{head}.v{int(version) + 1}"
    return f"{event_type}.v2"


def _resolve(root: Schema, schema: Schema, seen: frozenset[str] = frozenset()) -> Schema:
    """Follow local `$ref`s (`#/$defs/X`, `#/definitions/X`) to the schema they name."""
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/") or ref in seen:
            return schema
        seen = seen | {ref}
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
        # Keywords next to the $ref (pydantic puts descriptions there) only annotate.
        schema = target
    # A single-member allOf is how older generators wrap a $ref with annotations.
    if isinstance(schema, dict) and len(schema.get("allOf", [])) == 1 and "type" not in schema:
        return _resolve(root, schema["allOf"][0], seen)
    return schema


def _branches(root: Schema, schema: Schema) -> list[Schema]:
    """The alternatives of a union (anyOf / oneOf), flattened; one element otherwise."""
    schema = _resolve(root, schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return [b for option in schema[key] for b in _branches(root, option)]
    return [schema]


def _is_object(schema: Schema) -> bool:
    return schema.get("type") == "object" or "properties" in schema


def _shape(root: Schema, schema: Schema, depth: int = 0) -> Any:
    """A canonical, comparable description of the values a schema accepts (no annotations)."""
    branches = _branches(root, schema)
    if len(branches) > 1:
        return (
            "anyOf",
            sorted(json.dumps(_shape(root, b, depth), sort_keys=True) for b in branches),
        )
    schema = branches[0]
    shape: dict[str, Any] = {}
    for key in _SHAPE_KEYS:
        if key not in schema:
            continue
        value = schema[key]
        if key == "type" and isinstance(value, list):
            value = sorted(value)
        elif key == "enum":
            value = sorted(json.dumps(v, sort_keys=True) for v in value)
        elif key == "additionalProperties" and isinstance(value, dict):
            value = _shape(root, value, depth + 1) if depth < 20 else "…"
        shape[key] = value
    if "items" in schema and isinstance(schema["items"], dict):
        shape["items"] = _shape(root, schema["items"], depth + 1) if depth < 20 else "…"
    if _is_object(schema):
        # Inside unions nested objects count by their property names and shapes; a single
        # nested object is compared property by property (see _compare_object) instead.
        props = schema.get("properties", {})
        shape["properties"] = (
            {name: _shape(root, sub, depth + 1) for name, sub in sorted(props.items())}
            if depth < 20
            else "…"
        )
        shape["required"] = sorted(schema.get("required", []))
    return shape


def _describe(root: Schema, schema: Schema) -> str:
    parts = []
    for branch in _branches(root, schema):
        kind = branch.get("type", "any")
        text = "|".join(kind) if isinstance(kind, list) else str(kind)
        if "format" in branch:
            text += f"({branch['format']})"
        if "enum" in branch:
            text += "{" + ",".join(map(str, branch["enum"])) + "}"
        if "const" in branch:
            text += f"={branch['const']!r}"
        if text == "array" and isinstance(branch.get("items"), dict):
            text += f"[{_describe(root, branch['items'])}]"
        parts.append(text)
    return " | ".join(parts)


def _compare_object(
    old_root: Schema,
    old: Schema,
    new_root: Schema,
    new: Schema,
    path: str,
    problems: list[str],
) -> None:
    old = _resolve(old_root, old)
    new = _resolve(new_root, new)
    old_props: dict[str, Schema] = old.get("properties", {})
    new_props: dict[str, Schema] = new.get("properties", {})
    old_required = set(old.get("required", []))
    new_required = set(new.get("required", []))
    for name in old_props:
        where = f"{path}{name}"
        if name not in new_props:
            problems.append(f"property `{where}` was removed")
            continue
        _compare_property(old_root, old_props[name], new_root, new_props[name], where, problems)
    for name in sorted(new_required - old_required):
        where = f"{path}{name}"
        if name in old_props:
            problems.append(f"property `{where}` became required")
        else:
            problems.append(f"required property `{where}` was added (old records lack it)")


def _compare_property(
    old_root: Schema,
    old: Schema,
    new_root: Schema,
    new: Schema,
    where: str,
    problems: list[str],
) -> None:
    old_branches = _branches(old_root, old)
    new_branches = _branches(new_root, new)
    # A lone nested object (a sub-model): compare it field by field, so that adding an
    # optional field there is as fine as adding one at the top level.
    if (
        len(old_branches) == len(new_branches) == 1
        and _is_object(old_branches[0])
        and _is_object(new_branches[0])
        and (old_branches[0].get("properties") or new_branches[0].get("properties"))
    ):
        _compare_object(old_root, old_branches[0], new_root, new_branches[0], f"{where}.", problems)
        return
    # A list of sub-models: the same, item by item.
    if (
        len(old_branches) == len(new_branches) == 1
        and old_branches[0].get("type") == new_branches[0].get("type") == "array"
        and isinstance(old_branches[0].get("items"), dict)
        and isinstance(new_branches[0].get("items"), dict)
    ):
        old_items, new_items = old_branches[0]["items"], new_branches[0]["items"]
        if _is_object(_resolve(old_root, old_items)) and _is_object(_resolve(new_root, new_items)):
            _compare_object(old_root, old_items, new_root, new_items, f"{where}[].", problems)
            return
    if _shape(old_root, old) != _shape(new_root, new):
        problems.append(
            f"property `{where}` changed type from {_describe(old_root, old)} "
            f"to {_describe(new_root, new)}"
        )
