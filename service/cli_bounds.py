"""The bounds of the numbers the `tailor` commands take, as typer's `min` and `max` (``typer.Option("--campaign",
**ROW_ID)``), the API's own (service.bounds). Typer checks them before a command starts: a number past what the
database holds is a usage error naming the option (exit 2) where it was a traceback from the database's driver
(OverflowError), and an id of 0 or less is refused as the API refuses it (a 422), not looked for."""

import re
from typing import Annotated, TypedDict

import typer
from typer.core import TyperArgument, TyperCommand, TyperOption

from service.bounds import (
    COUNT_MAX,
    DATABASE_INT_MAX,
    DEMO_CUSTOMERS_MAX,
    HORIZON_DAYS_MAX,
    ROW_ID_MAX,
    TUNING_TRIALS_MAX,
)


class Bounds(TypedDict):
    """The least and the most a number may be, as typer.Option and typer.Argument take them."""

    min: int
    max: int


ROW_ID = Bounds(min=1, max=ROW_ID_MAX)  # a campaign's or a draft's id
OFFSET = Bounds(min=0, max=DATABASE_INT_MAX)  # the rows a listing skips, for its next page
COUNT = Bounds(min=1, max=COUNT_MAX)  # the customers or emails a command is asked for
REVISION = Bounds(min=0, max=COUNT_MAX)  # a draft's revision, as `tailor drafts show` tells it
TUNING_TRIALS = Bounds(min=0, max=TUNING_TRIALS_MAX)
HORIZON_DAYS = Bounds(min=1, max=HORIZON_DAYS_MAX)
DEMO_CUSTOMERS = Bounds(min=50, max=DEMO_CUSTOMERS_MAX)

# `--campaign`, as `tailor send`, `export` and `drafts list` take it.
CampaignOption = Annotated[
    int, typer.Option("--campaign", **ROW_ID, help="the campaign's id (`tailor campaigns list`)")
]
# The campaign a command acts on, as `tailor campaigns list` shows its id.
CampaignId = Annotated[
    int, typer.Argument(metavar="CAMPAIGN", **ROW_ID, help="the campaign's id (`tailor campaigns list`)")
]

_NEGATIVE = re.compile(r"-\d+")


class IdArgumentCommand(TyperCommand):
    """A command whose one argument is an id (``@app.command(cls=IdArgumentCommand)``): a negative id is refused as 0
    is, naming the argument, where click read ``-1`` as an option and said "No such option: -1"."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        argument = next(param for param in self.params if isinstance(param, TyperArgument))
        takes_a_value = {name for param in self.params if isinstance(param, TyperOption) and not param.is_flag
                         for name in param.opts}  # fmt: skip
        for before, arg in zip([None, *args], args, strict=False):
            if arg == "--":
                break
            if _NEGATIVE.fullmatch(arg) and before not in takes_a_value:
                raise typer.BadParameter(f"{arg} is not an id: ids are {ROW_ID['min']} or more", ctx, argument)
        return super().parse_args(ctx, args)
