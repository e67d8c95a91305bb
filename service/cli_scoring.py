"""`tailor scoring fit-copy|predict-copy`: the copy-only CTR model trained on headline tests, and its predictions
for a file of texts (scoring.copy_model). Registered on the `scoring` group by service.cli; heavy imports happen
inside the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli_outputs import _not_an_input, _output_path, _written_as

COPY_MODEL_HINT = (
    "--model takes the file that `tailor scoring fit-copy --train TESTS --out MODEL` saves, fitted on headline "
    "tests (TESTS: text, impressions, clicks[, test_id])."
)


def fit_copy(
    train_file: Annotated[Path, typer.Option("--train", help="text, impressions, clicks[, test_id]")],
    out: Annotated[Path, typer.Option(help="where to save the model", callback=_output_path)],
    embeddings: Annotated[
        bool | None,
        typer.Option(
            "--embeddings/--no-embeddings",
            help="sentence-embedding features (the 'embeddings' extra); default: on when the extra is installed",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Train the copy-only CTR model on headline tests."""
    from scoring.copy_model import fit_copy_file
    from service.cli import progress_bar

    _not_an_input(out, "--out", train_file)
    with progress_bar("fitting the copy model") as update:
        metrics = fit_copy_file(train_file, out, embeddings=embeddings, progress=update)
    typer.echo(f"saved copy model to {out}: {metrics}")


def predict_copy(
    model: Annotated[Path, typer.Option(help="a model file saved by `tailor scoring fit-copy`")],
    input_file: Annotated[Path, typer.Option("--input", help="rows with a text column")],
    out: Annotated[
        Path,
        typer.Option(
            help="output file with predicted_ctr added: CSV, or .parquet or .jsonl by its name", callback=_output_path
        ),
    ],
) -> None:
    """Predict the click-through rate of each row's text."""
    from scoring.copy_model import WRITTEN_SUFFIXES, predict_copy_file
    from scoring.errors import ModelFileError
    from service.cli import _echo

    _written_as(out, WRITTEN_SUFFIXES)
    _not_an_input(out, "--out", model, input_file)
    try:
        rows = predict_copy_file(model, input_file, out)
    except ModelFileError as error:  # the model package knows no command: the hint is the command line's
        _echo(f"error: {error} {COPY_MODEL_HINT}")
        raise typer.Exit(2) from error
    typer.echo(f"wrote {rows} rows to {out}")
