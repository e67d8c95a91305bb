"""Creates the FastAPI app: routers, error handlers, shared state (engine, job runner, current models)."""

from __future__ import annotations

import contextlib
import logging
import sys
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as NoConnectionFree
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from generation.brands import brand_folders
from generation.settings import LLMSettings
from service.cache_control import NotStored
from service.db.session import default_engine
from service.deps import REVIEW_COOKIE, known_query_parameters, single_query_values
from service.docs_pages import add_docs_pages
from service.errors import (
    DatabaseBusy,
    DatabaseUnavailable,
    DraftReplaced,
    NumberOutOfRange,
    ReviewerChanged,
    TailorError,
    TextHoldsNul,
    Unauthorized,
    as_told,
    error_body,
    field_path,
    is_database_busy,
    is_nul_in_text,
    is_number_out_of_range,
    is_write_conflict,
    no_connection_free,
    storage_unavailable,
)
from service.external_ids import EncodedSlashes
from service.faults import LoggedFaults, fault_answer
from service.idempotency import IdempotencyKeys, forget_old_answers
from service.importing.background import remove_stranded_uploads
from service.jobs import ThreadJobRunner
from service.jobs.recovery import beats_missed_seconds, fail_interrupted_jobs
from service.jobs.runner import sweep_jobs
from service.jobs.schedule import DelayedCall, PeriodicCall, PeriodicJob
from service.jobs.webhooks import WebhookSettings
from service.json_keys import OneValuePerKey
from service.kept_unsubscribes import KeptUnsubscribes
from service.logs import about_a_person, redacted
from service.moments import moment_problem
from service.paths import RootPath, route_path
from service.pipeline.due_drafts import has_due_drafts
from service.pipeline.sending import send_due_drafts
from service.pipeline.training import (
    TRAINING_JOBS,
    refresh_missing_segments,
    require_copy_model_file,
    retrain_if_new_data,
)
from service.request_ids import RequestIds
from service.request_size import MIB, RequestSizeLimit
from service.retention import PRUNE_EVERY_SECONDS, prune_history
from service.review import (
    STATIC_DIR,
    ReviewPageHeaders,
    SameOriginWrites,
    error_page,
    is_review_page,
    login_address,
    root_of,
)
from service.review.address_errors import address_problem
from service.review.resend import sent_form
from service.routes import KEYED_ROUTERS, OPEN_ROUTERS
from service.routes.responses import ANY_ROUTE, document, errors
from service.routes.review.login import offered_to_reviewer_now, session_ended_login
from service.schemas import NOT_ONE_LINE, ONE_LINE
from service.settings import (
    ApiSettings,
    AudienceSettings,
    CampaignSettings,
    ExperimentSettings,
    HistorySettings,
    ImportSettings,
    JobSettings,
    ModelSettings,
    PublicSettings,
    RetrainSettings,
    ScoringSettings,
    SendScheduleSettings,
    SmtpSettings,
    TrackingSettings,
    UnsubscribeSettings,
    home_settings,
    unread_variables,
)  # fmt: skip
from service.shared_routing import SharingApp, adopt_kept_document, keep_document, share_included_routers
from service.state import AppState, model_store, require_writable_home, warn_of_unservable_models
from service.tracking import EngagementRecorder
from service.unknown_fields import fields_taken

log = logging.getLogger("tailor.api")
SENDING_JOBS = ("send", "send_due")


class _TailorApp(SharingApp):
    """The app, with each request's id (``service.request_ids``) set outside every middleware: the fault handler's
    500 answer is made by Starlette's outermost one, and its log lines and answer carry the id too. Inside it, each
    fault is logged once (``service.faults.LoggedFaults``: Starlette raises it again for the web server). Then an
    encoded slash in a customer's id is kept (``service.external_ids``) before any routing, and every answer of the
    review page gets its headers (``service.review.ReviewPageHeaders``), the fault's and the refusals' included, and
    every answer but a static file's is kept from caches (``service.cache_control.NotStored``). Outside all, the path
    prefix a proxy serves the app under (TAILOR_API_ROOT_PATH, ``service.paths.RootPath``). Its routes and OpenAPI
    document are those of the process's earlier apps (``service.shared_routing``)."""

    def build_middleware_stack(self) -> ASGIApp:
        inner = RequestIds(LoggedFaults(EncodedSlashes(ReviewPageHeaders(NotStored(super().build_middleware_stack())))))
        return RootPath(inner, ApiSettings().root_path)  # a proxy's path prefix, before anything reads a path

    _documented: dict | None = None

    def openapi(self) -> dict:
        """FastAPI's document (made again when the routes change), with the errors and headers as the API answers
        them (``responses.document``): a copy of the one an earlier app of the process with the same routes made
        (``service.shared_routing``)."""
        if adopt_kept_document(self):
            self._documented = self.openapi_schema
        before = self.openapi_schema
        schema = super().openapi()
        if schema is not self._documented:
            self._documented = document(schema)
            if schema is not before:  # made here from the routes, not one set on the app
                keep_document(self, schema)
        return schema


def create_app(engine: Engine | None = None) -> FastAPI:
    engine = engine or default_engine()
    # told at start, by name: read only by jobs and requests, a bad one let the server start, and each training,
    # import or send then failed on it (TAILOR_MODELS_KEPT=0 once the whole training was done)
    read_by_jobs = (
        CampaignSettings, LLMSettings, SmtpSettings, HistorySettings, WebhookSettings, AudienceSettings,
        ExperimentSettings, ImportSettings, ModelSettings, ScoringSettings, UnsubscribeSettings, TrackingSettings,
    )  # fmt: skip
    for settings in read_by_jobs:
        settings()
    brand_folders()  # TAILOR_BRANDS_DIR naming no folder
    require_writable_home()
    if unread := unread_variables():
        log.warning(
            "variables no setting reads (misspelt?): what they meant keeps its default", extra={"variables": unread}
        )
    require_copy_model_file()
    # Where its state is, whole: a server and a command started in different folders with TAILOR_HOME=var used
    # different ones, and nothing said which.
    log.info(
        "serving the shop",
        extra={"home": str(home_settings().home), "database": engine.url.render_as_string(hide_password=True)},
    )
    if engine.dialect.name != "sqlite" and UnsubscribeSettings().secret is None:
        # A database other servers may share: each one's own TAILOR_HOME/unsubscribe.key signs links the others refuse.
        log.warning(
            "TAILOR_UNSUBSCRIBE_SECRET is unset: this server signs unsubscribe links with the key in its own "
            "TAILOR_HOME; every server and command on this database needs the same secret (or the same folder), "
            "or recipients' unsubscribe links fail on the others",
            extra={"home": str(home_settings().home)},
        )
    # Sending beside the other jobs where the database lets two write at once; SQLite has one writer, and a send
    # would fail waiting for a big import's write instead of waiting its turn.
    runner = ThreadJobRunner(engine, own_lane=SENDING_JOBS if engine.dialect.name != "sqlite" else ())
    models = model_store(home_settings().models_dir)
    engagement = EngagementRecorder(engine)
    kept_unsubscribes = KeptUnsubscribes(engine)
    on_engine = {"engine": engine}
    schedules = []
    if every_hours := RetrainSettings().every_hours:
        retrain = PeriodicJob(
            runner, engine, "retrain", retrain_if_new_data, every_hours * 3600, on_engine, waits_for=TRAINING_JOBS
        )
        schedules.append(retrain)
    if due_minutes := SendScheduleSettings().due_check_minutes:
        due = partial(has_due_drafts, engine)
        schedules.append(PeriodicJob(runner, engine, "send_due", send_due_drafts, due_minutes * 60, on_engine, due))

    def sweep() -> None:
        runner.announce(sweep_jobs(engine))
        runner.deliver_pending()  # the announcements the webhook did not take when they came
        remove_stranded_uploads(home_settings().staging_dir, engine)  # of a process that died as it copied one
        kept_unsubscribes.wake()  # any a process stopped before it wrote them
        with contextlib.suppress(OperationalError):  # the database busy with a long write: the next sweep
            forget_old_answers(engine)  # kept 24 hours for retries: they may hold a customer

    if sweep_seconds := JobSettings().sweep_seconds:
        schedules.append(PeriodicCall("job-sweep", sweep, sweep_seconds))
    # A process that died just before this start still beat a moment ago: its jobs are failed once its beats are
    # missed, whatever the sweep's interval (0: only at start).
    schedules.append(DelayedCall("job-sweep-after-start", sweep, beats_missed_seconds() + 1))
    if HistorySettings().keep_days is not None:
        schedules.append(PeriodicCall("history-prune", partial(prune_history, engine), PRUNE_EVERY_SECONDS))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        runner.announce(fail_interrupted_jobs(engine))
        warn_of_unservable_models(models)
        refresh_missing_segments(runner, engine)
        remove_stranded_uploads(home_settings().staging_dir, engine)
        kept_unsubscribes.wake()  # unsubscribes kept while the database was busy, left by the last process
        for schedule in schedules:
            schedule.start()
        yield
        for schedule in schedules:
            schedule.stop()
        engagement.close()  # the opens and clicks still waiting to be written
        runner.shutdown()
        # uvicorn ends the process by the signal that stopped it, past atexit (service.db.session): the connections
        # are closed here, so that the last one writes SQLite's write-ahead log into the file and removes it
        engine.dispose()

    app = _TailorApp(
        title="Tailor",
        version="0.1.0",
        description="Personalized marketing email: recommend, segment, write, score, review.",
        lifespan=lifespan,
        docs_url=None,  # served with their scripts from here (service.docs_pages), not from a CDN
        redoc_url=None,
        dependencies=[Depends(single_query_values)],
        responses=errors(*ANY_ROUTE),
    )
    add_docs_pages(app)
    app.state.tailor = AppState(
        engine=engine, jobs=runner, models=models, engagement=engagement, kept_unsubscribes=kept_unsubscribes
    )
    for router in OPEN_ROUTERS:
        app.include_router(router)
    for router in KEYED_ROUTERS:  # any of their routes refuses a query parameter it does not take: a 422
        app.include_router(router, dependencies=[Depends(known_query_parameters)], responses=errors(422))
    share_included_routers(app)  # their routes worked out once a process, not again for each app
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SameOriginWrites, cookie=REVIEW_COOKIE, public_url=PublicSettings().url)
    app.add_middleware(IdempotencyKeys)  # inside the size limit: it reads the bodies the limit let through
    app.add_middleware(OneValuePerKey)  # a body giving a field twice is refused before any key is claimed for it
    app.add_middleware(RequestSizeLimit, max_upload_bytes=ApiSettings().max_upload_mb * MIB)

    # The review page's requests get their errors as a page with a way back; the API's keep their JSON.
    @app.exception_handler(TailorError)
    async def tailor_error(request: Request, error: TailorError) -> JSONResponse | HTMLResponse | RedirectResponse:
        if isinstance(error, Unauthorized) and is_review_page(request):
            if carried := await sent_form(request):  # an edit or review sent after the session had ended
                return session_ended_login(request, carried)
            return RedirectResponse(login_address(request), status_code=303)
        if isinstance(error, ReviewerChanged) and is_review_page(request) and (carried := await sent_form(request)):
            # to the reviewer signed in now, to send as theirs or not
            return await run_in_threadpool(offered_to_reviewer_now, request, carried)
        path = route_path(request.scope)
        said = type(error).__name__ if about_a_person(path) else str(error)
        log.info("request rejected", extra={"path": redacted(path), "status": error.status_code, "error": said})
        headers = {"Retry-After": str(error.retry_after_seconds)} if error.retry_after_seconds else None
        if isinstance(error, Unauthorized):  # RFC 9110: a 401 names the scheme that would be accepted
            headers = {"WWW-Authenticate": 'Bearer realm="tailor"'}
        if is_review_page(request):
            replaced_by = error.replaced_by if isinstance(error, DraftReplaced) else None
            onward = (
                (f"/review/drafts/{replaced_by}", f"the customer's draft now ({replaced_by})") if replaced_by else None
            )
            page = error_page(request, error.status_code, str(error), onward)
            page.headers.update(headers or {})
            return page
        return JSONResponse(error_body(error), status_code=error.status_code, headers=headers)

    @app.exception_handler(OperationalError)
    async def database_error(request: Request, error: OperationalError):
        """A lock that did not free up in time is a busy database, answered 503 with when to try again, and so is a
        transaction PostgreSQL rolled back for a conflict with another (a deadlock): not the database down; a database
        that cannot be reached (stopped, its file gone) is answered 503 too, in the API's error body, rather than
        a plain-text 500 (/health then says the service is not ready). The driver's reason goes to the log only: on
        PostgreSQL it names the database's host, port and user, and the answer reaches callers without a key."""
        if is_database_busy(error):
            log.warning("database busy", extra={"path": redacted(request.url.path), "error": str(error.orig)})
            return await tailor_error(request, DatabaseBusy())
        if is_write_conflict(error):
            conflict = type(error.orig).__name__  # DeadlockDetected: its detail may name the rows' values
            log.warning("database write conflict", extra={"path": redacted(request.url.path), "error": conflict})
            return await tailor_error(request, DatabaseBusy(conflict=True))
        reason = " ".join(str(error.orig or error).split())[:300]
        log.error("database unavailable", extra={"path": redacted(request.url.path), "error": reason})
        message = (
            "The database cannot be used (the server's log says why). Nothing was done; try again once it is back."
        )
        return await tailor_error(request, DatabaseUnavailable(message))

    @app.exception_handler(NoConnectionFree)
    async def no_connection(request: Request, error: NoConnectionFree):
        """The pool lent no connection in time (every one held by requests or jobs waiting on the database): a 503
        saying so, not a 500 InternalError."""
        log.error("no database connection free", extra={"path": redacted(request.url.path), "error": str(error)})
        return await tailor_error(request, no_connection_free())

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, error: IntegrityError):
        """A key written meanwhile by another request (two imports of one file at once) is a 409 saying to send the
        request again, not a plain-text 500 whose log line held the rows' values."""
        told = as_told(error)
        if isinstance(told, TailorError):
            log.warning(
                "write raced another", extra={"path": redacted(request.url.path), "error": type(error.orig).__name__}
            )
            return await tailor_error(request, told)
        raise error

    @app.exception_handler(ValidationError)
    async def environment_error(request: Request, error: ValidationError):
        """A setting read when a request needed it (TAILOR_IMPORT_DEFAULT_LOCALE=English) is a 500 naming the variable
        and what it must be, not one that only says the server failed."""
        told = as_told(error)
        if not isinstance(told, TailorError):
            raise error
        log.error("setting not valid", extra={"path": redacted(request.url.path), "error": str(told)})
        return await tailor_error(request, told)

    @app.exception_handler(OSError)
    async def disk_error(request: Request, error: OSError):
        """A full, over-quota or read-only disk is the API's 507 saying so, never a plain-text 500."""
        told = storage_unavailable(error)
        if told is None:
            raise error
        log.error("disk full or read-only", extra={"path": redacted(request.url.path), "error": error.strerror})
        return await tailor_error(request, told)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def number_out_of_range(request: Request, error: Exception):
        """A number past the database's integers that no field's bounds caught is the API's 422, never a plain-text
        500 (SQLite's driver raises OverflowError, PostgreSQL a DataError); so is a text with a NUL character that
        PostgreSQL's driver refused (an id in the path)."""
        if is_nul_in_text(error):
            return await tailor_error(request, TextHoldsNul())
        if not is_number_out_of_range(error):
            raise error
        log.warning("number out of range", extra={"path": redacted(request.url.path), "error": str(error)})
        return await tailor_error(request, NumberOutOfRange())

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception):
        """Any other fault is a 500 in the API's error body (a plain-text "Internal Server Error" before), or the
        review page's; Starlette raises the fault again after this answer, and ``service.faults.LoggedFaults`` logs it
        once, with the request's method and path, which the web server's own line does not name."""
        return await tailor_error(request, fault_answer(error))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse | HTMLResponse:
        content_type = request.headers.get("content-type")
        problems = [_request_problem(e, request.scope.get("route"), content_type) for e in error.errors()]
        message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        if is_review_page(request):  # a person reads it: the address's parts in words, not the API's field paths
            pairs = zip(error.errors(), problems, strict=True)
            told = [address_problem(e) or "{field}: {message}".format_map(p) for e, p in pairs]
            return error_page(request, 422, " ".join(told))
        return JSONResponse({"error": "InvalidRequest", "message": message, "problems": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse | HTMLResponse:
        """No such endpoint (404) or method (405, its Allow header naming every method the path takes), a body that
        could not be read (not UTF-8, nested past the parser's depth, a number too long to read: the 422 of a body
        that is not JSON, ``_unread_body``), or one too large (413): the API's error body, or a page on the review
        page."""
        headers = getattr(error, "headers", None)
        if error.status_code == 400 and str(error.detail) == "There was an error parsing the body":
            fault = _unread_body(error.__cause__)
            problem = {"field": "body", "message": fault}
            message = f"body: {fault}"
            if is_review_page(request):
                return error_page(request, 422, message)
            return JSONResponse({"error": "InvalidRequest", "message": message, "problems": [problem]}, 422)
        if error.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        kind, message = {
            404: (
                "NotFound",
                f"There is no {request.url.path}; the API's endpoints are listed at {root_of(request)}/docs.",
            ),
            405: ("MethodNotAllowed", f"{request.url.path} does not take {request.method}."),
            413: ("ContentTooLarge", str(error.detail)),
        }.get(error.status_code, ("HTTPError", str(error.detail)))
        if is_review_page(request):
            missing = error.status_code == 404
            page = error_page(
                request, error.status_code, f"There is no page at {request.url.path}." if missing else message
            )
            page.headers.update(headers or {})
            return page
        body = {"error": kind, "message": message, "problems": []}
        return JSONResponse(body, status_code=error.status_code, headers=headers)

    return app


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at the request's path (Starlette's 405 named the first matching route's):
    matched from the app's root (under a root path too), also for a request answered inside a mount (the static
    files: GET and HEAD)."""
    from starlette.routing import Match, Mount

    root = request.scope.get("app_root_path", request.scope.get("root_path", ""))
    scope = {**request.scope, "root_path": root}
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Mount):
            if route.matches(scope)[0] != Match.NONE:
                methods |= {"GET", "HEAD"}
            continue
        methods |= {m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
                    if route.matches({**scope, "method": m})[0] == Match.FULL}  # fmt: skip
    return [m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE") if m in methods]


def _request_problem(error: dict, route: Any = None, content_type: str | None = None) -> dict[str, str]:
    """One problem of a refused request, named by its field: a field of the JSON body by its path in it, the body
    as a whole (a list where an object was expected, text that is not JSON, or a body FastAPI did not read as JSON
    for its Content-Type: a browser's fetch of a string sends text/plain, curl's -d a form's) as "body"."""
    if tuple(error["loc"]) == ("body",) and isinstance(error.get("input"), bytes):
        sent_as = f"it came as {content_type}" if content_type else "it came without one"
        return {
            "field": "body",
            "message": f"is read as JSON with the header Content-Type: application/json ({sent_as})",
        }
    if error["type"] == "json_invalid":
        position = error["loc"][-1]
        return {"field": "body", "message": f"is not valid JSON: {error['ctx']['error']} (at character {position})"}
    message = error["msg"]
    if error["type"] == "value_error":  # our own validators' words, without pydantic's "Value error, " before them
        message = message.removeprefix("Value error, ")
    if error["type"] == "string_pattern_mismatch" and (error.get("ctx") or {}).get("pattern") == ONE_LINE:
        message = NOT_ONE_LINE
    message = moment_problem(error) or message
    if error["type"] == "extra_forbidden" and (taken := fields_taken(route, tuple(error["loc"]))):
        message = f"is not a field here, which takes {', '.join(taken)}"
    return {"field": field_path(error["loc"]) or "body", "message": message}


def _unread_body(cause: BaseException | None) -> str:
    """Why a JSON body the parser gave up on could not be read (FastAPI's 400, caused by the parser's error): nested
    past the parser's depth, or a number longer than Python reads (sys.get_int_max_str_digits), both UTF-8 JSON whose
    fault is elsewhere; else text that is not JSON in UTF-8."""
    if isinstance(cause, RecursionError):
        return "is JSON nested too deep to read"
    if isinstance(cause, ValueError) and not isinstance(cause, UnicodeError) and "digits" in str(cause):
        return f"holds a number of more than {sys.get_int_max_str_digits()} digits, longer than any field takes"
    return "is not JSON text in UTF-8"
