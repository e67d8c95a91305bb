"""The files the `tailor` commands write, checked before any work: a path that can be made and written, not one of
the command's own input files, under a name whose suffix says the format it gets. Used by the commands' modules
(service/cli_*.py), as typer callbacks and at their start."""

from __future__ import annotations

import os
from pathlib import Path

import typer


def _output_path(path: Path | None) -> Path | None:
    """An output file's path, checked before any work: not a folder, and under a folder that exists or can be
    made (not under a file), so that a campaign is not generated, nor a model fitted, to fail at the end."""
    if path is None:
        return None
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a folder; give the path of a file in it")
    existing = next(parent for parent in path.absolute().parents if parent.exists())
    if not existing.is_dir():
        raise typer.BadParameter(f"{existing} is a file, so {path} cannot be made under it")
    if not os.access(existing, os.W_OK):
        raise typer.BadParameter(f"{existing} cannot be written to")
    return path


def _not_an_input(out: Path | None, option: str, *inputs: Path | None) -> None:
    """Refuse an output path that names one of the command's input files, before anything is read: it was written
    over (`tailor import customers c.csv --problems c.csv` left the shop's customers file a header alone)."""
    if out is None or not out.is_file():
        return
    for given in inputs:
        if given is not None and given.is_file() and out.samefile(given):
            raise typer.BadParameter(
                f"{out} is the file read ({given}): give another path, not to write over it", param_hint=option
            )


# What `tailor recommend --out` and `tailor audience --out` write: CSV, under a name that says so or has no suffix.
CSV_OUT = (".csv", ".txt")
# What `tailor generate --out` and `tailor export --out` write: JSON lines (drafts.csv got them, which no sheet opens).
JSONL_OUT = (".jsonl", ".ndjson")
# What `tailor customers export --out` writes: one JSON document (customers.csv got it, written over the shop's file).
JSON_OUT = (".json",)


def _written_as(out: Path | None, suffixes: tuple[str, ...]) -> None:
    """Refuse, before any work, an --out name whose suffix says a format the command does not write: `--out x.xlsx`
    got CSV under that name, which the spreadsheet then refused to open. A name without a suffix gets the format."""
    if out is not None and out.suffix and out.suffix.lower() not in suffixes:
        raise typer.BadParameter(
            f"{out.name}: this command writes {', '.join(suffixes)} files, not {out.suffix}", param_hint="--out"
        )
