"""Upload of customers, products, orders and past sends as CSV or Parquet files."""

import tempfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, UploadFile

from service.deps import ApiKeyDep, SessionDep, StateDep
from service.importing import import_frame, read_table
from service.pipeline.training import refresh_audience
from service.schemas import ImportResult

router = APIRouter(prefix="/imports", tags=["import"])


@router.post("/{kind}", response_model=ImportResult)
def import_file(
    kind: Literal["customers", "products", "orders", "sends"], file: UploadFile, session: SessionDep,
    state: StateDep, _key: ApiKeyDep,
) -> ImportResult:  # fmt: skip
    """Import a file; a bad file is rejected whole (422, with the row and column of every problem)."""
    suffix = Path(file.filename or "upload.csv").suffix or ".csv"
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        handle.write(file.file.read())
        handle.flush()
        summary = import_frame(session, kind, read_table(Path(handle.name), name=file.filename or f"{kind} upload"))
    session.commit()
    refreshed = kind == "orders"
    if refreshed:
        refresh_audience(state.engine)
    return ImportResult(**summary.__dict__, audience_refreshed=refreshed)
