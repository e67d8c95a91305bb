"""Upload of customers, products, orders and past sends as CSV or Parquet files."""

import shutil
import tempfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, UploadFile

from service.deps import ApiKeyDep, SessionDep, StateDep
from service.importing import import_frame, read_table
from service.pipeline.training import submit_audience_refresh
from service.schemas import ImportResult

router = APIRouter(prefix="/imports", tags=["import"])


@router.post("/{kind}", response_model=ImportResult)
def import_file(
    kind: Literal["customers", "products", "orders", "sends"], file: UploadFile, session: SessionDep,
    state: StateDep, _key: ApiKeyDep,
) -> ImportResult:  # fmt: skip
    """Import a file; a bad file is rejected whole (422, with the row and column of every problem). After
    orders, the audience (segments, churn risk, CLV) is recomputed by a job: `audience_job_id` and
    `audience_status_url` follow its progress."""
    suffix = Path(file.filename or "upload.csv").suffix or ".csv"
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        shutil.copyfileobj(file.file, handle)
        handle.flush()
        summary = import_frame(session, kind, read_table(Path(handle.name), name=file.filename or f"{kind} upload"))
    session.commit()
    job_id = submit_audience_refresh(state.jobs, state.engine) if kind == "orders" else None
    return ImportResult(**summary.__dict__, audience_job_id=job_id, audience_status_url=job_id and f"/jobs/{job_id}")
