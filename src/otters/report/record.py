"""Typed results to and from JSON: what ``run.json`` records of each step, read back on ``--resume``.

A step result is a dataclass; :func:`to_json` turns it into plain JSON (field names as keys, Paths and
tuples as strings and lists), :func:`from_json` rebuilds it from the type hints (nested dataclasses, lists
and string-keyed dicts of them, ``X | None``). A field may carry ``metadata={"json": "key"}`` when its JSON
key is not a Python name (``class``). A record whose keys do not match the class (a run directory written
by another otters version) raises :class:`RecordMismatch`, which the caller turns into one line.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from functools import cache


class RecordMismatch(ValueError):
    """A JSON record does not have the fields of the class it should be read as."""


def json_key(field: dataclasses.Field) -> str:
    return field.metadata.get("json", field.name)


def to_json(value):
    """Plain JSON data of a dataclass (recursively), list, tuple, dict or scalar; Paths become strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {json_key(f): to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return json.loads(json.dumps(value, default=str))


@cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _read(hint, data, where: str):
    """``data`` (plain JSON) as the type ``hint``."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if data is None:
            return None
        if len(options) == 1:
            return _read(options[0], data, where)
        return data
    if dataclasses.is_dataclass(hint):
        return from_json(hint, data, where)
    if origin is list and isinstance(data, list):
        (item,) = typing.get_args(hint) or (typing.Any,)
        return [_read(item, v, f"{where}[{i}]") for i, v in enumerate(data)]
    if origin is dict and isinstance(data, dict):
        args = typing.get_args(hint)
        item = args[1] if len(args) == 2 else typing.Any
        return {k: _read(item, v, f"{where}.{k}") for k, v in data.items()}
    return data


def from_json(cls, data, where: str | None = None):
    """The dataclass ``cls`` from its JSON record ``data``; RecordMismatch names the first field that differs."""
    where = where or cls.__name__
    if not isinstance(data, dict):
        raise RecordMismatch(f"{where} is not a JSON object")
    fields = dataclasses.fields(cls)
    keys = {json_key(f) for f in fields}
    unknown = sorted(set(data) - keys)
    if unknown:
        raise RecordMismatch(f"{where} has unknown field(s) {', '.join(unknown)}")
    hints = _hints(cls)
    values = {}
    for f in fields:
        key = json_key(f)
        if key in data:
            values[f.name] = _read(hints[f.name], data[key], f"{where}.{key}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise RecordMismatch(f"{where} lacks the field {key}")
    return cls(**values)
