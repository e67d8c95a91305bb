"""Upload of customers, products, orders and past sends as CSV or Parquet files, in the request or as a job."""

import shutil
import tempfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from service import importing
from service.deps import WHOLE_LIST, ApiKeyDep, SessionDep, StateDep
from service.importing.background import imported, submit_import
from service.importing.columns import SPECS
from service.importing.date_orders import day_first_of, every_settled_order, forget, order_name
from service.importing.files import base_name
from service.routes.responses import KEYED, errors
from service.schemas import ErrorOut, ImportResult, JobStarted, SettledDateOrderOut
from service.settings import home_settings

# Only the upload takes a body (413) and writes to the disk (507): the date orders' GET and DELETE listed both too.
router = APIRouter(prefix="/imports", tags=["import"], responses=errors(*KEYED))

BACKGROUND = "answer 202 at once and import the file in a job (`import`) that GET /jobs/{id} follows"
DATES = (
    "the order of the file's numeric dates (03/04/2011): it wins over the file's own and the one settled for the kind "
    "(GET /imports/date-orders); none given, a file whose dates are all ambiguous is read in the settled order"
)
WRITTEN_MEANWHILE = (
    "Another import wrote some of the same keys at the same moment (two uploads of one file, say): `WrittenMeanwhile`, "
    "nothing of this one was written; send it again after `Retry-After`, and it updates what the other wrote."
)
Kind = Literal["customers", "products", "orders", "sends"]
# Each kind's date columns, of which GET /imports/date-orders holds at most one order each: "orders' timestamp".
DATE_COLUMNS = ", ".join(
    f"{spec.name}' {column.name}" for spec in SPECS.values() for column in spec.columns if column.kind == "timestamp"
)


@router.get(
    "/date-orders",
    response_model=list[SettledDateOrderOut],
    openapi_extra={WHOLE_LIST: "the date orders are answered whole, not a page at a time: at most one for each "
                   f"kind's date column ({DATE_COLUMNS})"},
)  # fmt: skip
def date_orders(session: SessionDep, _key: ApiKeyDep) -> list[SettledDateOrderOut]:
    """The order (day or month first) each kind's numeric dates are read in when a file's own dates do not say it,
    as the first file of the kind whose order was known settled it."""
    return [
        SettledDateOrderOut(
            kind=settled.kind,
            column=settled.column_name,
            order=order_name(settled.day_first),
            import_file=settled.import_file,
            import_job_id=settled.import_job_id,
            settled_at=settled.settled_at,
        )  # fmt: skip
        for settled in every_settled_order(session)
    ]


@router.delete("/date-orders/{kind}", status_code=status.HTTP_204_NO_CONTENT)
def forget_date_order(kind: Kind, session: SessionDep, _key: ApiKeyDep) -> Response:
    """Forget the order settled for the kind's dates: its next file whose order is known (by a date such as
    25/04/2011, or `dates`) settles it again, and until then a file of ambiguous dates only is refused."""
    forget(session, kind)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def one_file(request: Request, _key: ApiKeyDep) -> None:
    """Refuse an upload of several files under `file` (422 naming it): the import read the last alone, and the
    files before it were left out without a word, as a query parameter given twice was read as its last value.
    After the key, as the query's checks (service.deps)."""
    files = (await request.form()).getlist("file")  # the form FastAPI read for the route, kept by the request
    if len(files) > 1:
        names = ", ".join(repr(getattr(f, "filename", None) or "") for f in files)
        message = f"is given {len(files)} times ({names}): upload one file a request"
        raise RequestValidationError([{"type": "value_error", "loc": ("body", "file"), "msg": message, "input": None}])


@router.post(
    "/{kind}",
    dependencies=[Depends(one_file)],
    response_model=ImportResult,
    responses={
        status.HTTP_200_OK: {"description": "The file was imported in the request"},
        status.HTTP_202_ACCEPTED: {"model": JobStarted, "description": "With `background=true`: the import's job"},
        status.HTTP_409_CONFLICT: {"model": ErrorOut, "description": WRITTEN_MEANWHILE},
        **errors(413, 507),
    },
)
def import_file(
    kind: Kind, file: UploadFile, session: SessionDep, state: StateDep, _key: ApiKeyDep,
    background: bool = Query(False, description=BACKGROUND),
    dates: Literal["day-first", "month-first"] | None = Query(None, description=DATES),
) -> ImportResult | JSONResponse:  # fmt: skip
    """Import a file; a bad file is rejected whole (422, with the row and column of every problem). After
    orders, the audience (segments, churn risk, CLV) is recomputed by a job: `audience_job_id` and
    `audience_status_url` follow its progress; orders that changed nothing (every line as stored) queue none, and
    `audience_not_recomputed` says so.

    With `background=true` (for big files, which take about 25 s per million order lines) the request only
    stores the file and answers 202 with the job's `job_id` and `status_url`; the job's `result` holds the
    answer above, or it fails with the problems of a bad file, of which nothing is written."""
    name = file.filename or f"{kind} upload"
    suffix = Path(file.filename or "upload.csv").suffix or ".csv"  # a name without one is read as CSV
    # refused now, not by the job it would start
    importing.require_known_format(f"upload{suffix}", f"{kind} file {base_name(name)}", file=base_name(name))
    if background:
        staging_dir = home_settings().staging_dir
        job_id = submit_import(state.jobs, state.engine, staging_dir, kind, file.file, name, day_first_of(dates))
        body = JobStarted.of(job_id)
        return JSONResponse(body.model_dump(), status_code=status.HTTP_202_ACCEPTED)
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        shutil.copyfileobj(file.file, handle)
        handle.flush()
        summary = importing.import_file(session, kind, Path(handle.name), name=name, day_first=day_first_of(dates))
    session.commit()
    return imported(summary, state.jobs, state.engine)
