"""An answer read straight off an object, instead of a mapper copying it field by field.

    class OptionPublic(PublicModel):
        code: str
        form: GiftForm
        form_label: str                 # option.form.label

    class PlanPublic(PublicModel):
        id: str
        status: PlanStatus
        status_label: str               # plan.status.label
        deadline: LocalDatetime         # plan.deadline, in Beijing time
        approved_at: LocalDatetime | None
        options: list[OptionPublic]     # each option read off the same way
        mine: bool                      # not on the plan: given by the route

    PlanPublic.of(plan, mine=True)

A field is read from the attribute of its name (a dataclass, a pydantic model or any object);
a field `<x>_label` is the `.label` of attribute `<x>` (None when `<x>` is None). What is not
an attribute is given to `of` by name, and wins over an attribute: a value that depends on the
caller (a masked number, a name only some roles see) is given there, where it can be read.
A `dict` is validated as any model validates one (an answer already made, a document).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, model_validator

from shared.timeutil import as_local

LABEL = "_label"

# A stored (UTC) moment as people read it: Beijing time. `LocalDatetime | None` may be absent.
LocalDatetime = Annotated[datetime, AfterValidator(as_local)]


def _read(
    model: type[BaseModel], source: object, given: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The values of `model`'s fields found on `source`, and the `given` ones (never read off
    it); a missing one is left to the model (its default, or "field required")."""
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if given is not None and key in given:
            values[key] = given[key]
            continue
        coded = name.removesuffix(LABEL)
        if coded != name and hasattr(source, coded):
            code = getattr(source, coded)
            values[key] = None if code is None else code.label
        elif hasattr(source, name):
            values[key] = getattr(source, name)
    return values


class PublicModel(BaseModel):
    """A response model that validates an object by reading its attributes (see the module)."""

    @model_validator(mode="before")
    @classmethod
    def _read_off(cls, data: Any) -> Any:
        # A nested field (`options: list[OptionPublic]`) is given the objects themselves.
        if isinstance(data, dict | cls):
            return data
        return _read(cls, data)

    @classmethod
    def of(cls, source: object, /, **given: Any) -> Self:
        """The answer for `source`; `given` values are not read off it (nor is a `_label`
        given computed): a name that is no field is a mistake, not something to drop."""
        unknown = set(given) - {f.alias or n for n, f in cls.model_fields.items()}
        if unknown:
            raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
        return cls.model_validate(_read(cls, source, given))
