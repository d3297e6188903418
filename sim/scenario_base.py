"""What every scenario section shares: strict pydantic models and durations with units."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

from tickscope.sim.units import parse_duration

#: An integer number of nanoseconds, written with a unit ("10s", "250ms", "40us", "1500ns").
Duration = Annotated[int, BeforeValidator(parse_duration)]


class Section(BaseModel):
    """A scenario table: unknown keys are refused, values are not coerced ("yes" is not a bool, "4" not an int)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)
