"""The fields a request's JSON object takes, for the 422 of a field it does not: pydantic's "Extra inputs are not
permitted" named the field given (`reason`, as `tailor drafts reject --reason` spells it) but not the one meant
(`comment`), and a client had to read the API's schema to find it."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel


def fields_taken(route: Any, location: tuple) -> list[str] | None:
    """The names the JSON object holding the field at ``location`` (``("body", "reason")``) takes, in the order its
    model declares them; None where the route has no such object (a query, a form)."""
    body = getattr(route, "body_field", None)
    if body is None or location[:1] != ("body",):
        return None
    shape: Any = body.field_info.annotation
    for step in location[1:-1]:  # down to the object that holds the field: a list's item, a model's field
        if isinstance(step, int):
            listed = [typing.get_args(member) for member in _members(shape) if typing.get_origin(member) is list]
            shape = listed[0][0] if listed else None
        elif (model := _model_in(shape)) is not None and step in model.model_fields:
            shape = model.model_fields[step].annotation
        else:
            return None
    model = _model_in(shape)
    return [field.alias or name for name, field in model.model_fields.items()] if model is not None else None


def _model_in(shape: Any) -> type[BaseModel] | None:
    """The model a field's type is, or is one of (``RejectIn | None``)."""
    return next((m for m in _members(shape) if isinstance(m, type) and issubclass(m, BaseModel)), None)


def _members(shape: Any) -> set[Any]:
    """The types a union is of, past any ``Annotated``; a type that is no union alone."""
    while typing.get_origin(shape) is typing.Annotated:
        shape = typing.get_args(shape)[0]
    if typing.get_origin(shape) in (typing.Union, types.UnionType):
        return set(typing.get_args(shape))
    return {shape}
