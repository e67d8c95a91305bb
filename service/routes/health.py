"""Liveness and readiness; with the unsubscribe link, the only endpoints that need no API key."""

import logging
from pathlib import Path

from fastapi import APIRouter

from service.db.migrate import head_revision, known_revision
from service.deps import StateDep
from service.errors import DatabaseUnavailable
from service.pipeline.model_store import MODEL_KINDS
from service.routes.responses import errors
from service.schemas import HealthOut

log = logging.getLogger("tailor.api")
router = APIRouter(tags=["health"], responses=errors(503))


# HEAD too (the web server sends its headers without the body): an uptime monitor's default check, as
# UptimeRobot's, asks with it, and a 405 read as the service down. Left out of the OpenAPI document, whose GET says
# all there is.
@router.head("/health", include_in_schema=False)
@router.get("/health", response_model=HealthOut)
async def health(state: StateDep) -> dict:
    """`ok` once the database answers, with the current version of each model (null: none trained yet): the one
    the next request is served with, read from disk at the start and on first use after a training or `tailor
    models use`. `degraded` while a current model cannot be read (saved by an older Tailor, or its file damaged), with
    each such problem and its fix in `problems`: the database answers, and `POST /train` mends it. Needs
    no API key; a database that does not answer, or answers without Tailor's tables (a new empty file), is a 503,
    and so is a SQLite file gone from its place (the connections open on it still answered, and new ones made an
    empty file), and a database at another revision than the server's (moved back or restored while it ran), and
    one that does not answer within `TAILOR_DB_HEALTH_TIMEOUT_SECONDS` (a server stopped or overloaded, a lock
    another session holds), whatever the requests waiting on it meanwhile."""
    url = state.engine.url
    on_disk = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if on_disk and not Path(url.database).is_file():  # the file's path to the log: callers here need no key
        log.error("database file gone", extra={"database": url.database})
        raise DatabaseUnavailable(
            "The database file is not there any more (the server's log names it): restore it and restart Tailor "
            "(started again without it, Tailor makes an empty database)."
        )
    revision = await state.revision_probe.revision()
    if revision != head_revision():  # every other request failed on the tables as they are now, and /health said ok
        log.error("database at another revision", extra={"revision": revision, "served": head_revision()})
        if not known_revision(revision):  # a newer `tailor` migrated it (an upgrade begun from the command line)
            raise DatabaseUnavailable(
                f"The database is at revision {revision}, which this server's release does not know: a newer release "
                "of Tailor migrated it. Upgrade this server to that release and restart it."
            )
        raise DatabaseUnavailable(
            f"The database is at revision {revision}, not {head_revision()}, which this server serves: it was moved "
            "back (tailor db downgrade) or restored while the server ran. Restart the server: its start migrates it."
        )
    models = {kind: state.models.version(kind) for kind in MODEL_KINDS}
    problems = [
        f"The {kind} model in use ({models[kind]}) cannot be read: saved by a version of Tailor this one cannot "
        f"read, or its file damaged or gone (the server's log says which), so what needs it is refused: run `tailor "
        f"train` (or POST /train)."
        for kind in MODEL_KINDS
        if state.models.unservable(kind, load=False)
    ]  # the reason names the model's file, and /health needs no key: it is in the start's log line
    return {"status": "degraded" if problems else "ok", "models": models, "problems": problems}
