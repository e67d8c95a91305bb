"""Structured logging: one JSON object per line, with any `extra=` fields kept as keys.

Tailor's own loggers, the web server's (uvicorn: startup and one line per request, with method, path and
status as keys) and Python warnings (libraries' UserWarnings) all write through the same formatter, so the
stream stays one JSON object per line. A one-shot command whose standard error is a terminal writes the same
records for the person at it instead, a readable line each (TextFormatter); TAILOR_LOG_FORMAT forces either."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from urllib.parse import quote, unquote

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
# Attributes other libraries set on records that are not fields of the event: uvicorn's copy of the message with
# terminal colours, and the mark litellm's secret filter (which it adds to uvicorn's loggers, among others) leaves
# on each record it has scrubbed, an object that would print as "<object object at 0x...>" on every line.
_NOT_FIELDS = {"color_message", "litellm_redacted", "in_result"}

# The mark of a warning whose words the work's result carries too (its "warnings"), which a command prints as its own
# `warning:` line: logged with ``extra={..., **IN_RESULT}``, it is left out of a command's lines for a person, which
# would say it twice. The JSON lines keep it, without the mark, for whatever collects them, as the server's do.
IN_RESULT = {"in_result": True}


# What a request's line does not keep of its path: a recipient's unsubscribe link is a bearer token (whoever reads
# it can unsubscribe them), and so is a tracking link (whoever reads it can record opens and clicks in their name),
# a customer's id names a person (an erased one too), and a query's values may be an address searched for (the
# review page's "find a customer" box is a GET form). The names stay, the values go. A link's path in capitals
# (/TRACK/open/...) finds no route, but its token is the link's all the same.
_LINK_TOKEN = re.compile(r"(/(?:unsubscribe|track/open|track/click)/)[^\s/?\"]+", re.IGNORECASE)
# A customer's id may hold "/" (service.external_ids): all of the path after /customers/ but a route under it.
_CUSTOMER_ID = re.compile(
    r"(/customers/)[^\s?\"]+?(?=/(?:sends|send-time|recommendations|export)(?=[\s?\"]|$)|[\s?\"]|$)"
)
_PATH = re.compile(r"(?<![^\s\"])/[^\s?\"]*")  # a request's path, up to its query
_KEPT_ESCAPED = re.compile(r"[\s\"?&=#]")  # what would end a path or a query value early, once unescaped
_ESCAPED_SLASH = re.compile("%2f", re.IGNORECASE)
_QUERY_VALUE = re.compile(r"([?&][^=&\s\"]*=)[^&\s\"]*")


def _unescaped(path: str) -> str:
    """``path`` as the router reads it (``/%63ustomers%2FC1`` is ``/customers/C1``), but for the characters that
    would end it early, kept escaped so that the part after them is redacted with the rest; and under /customers/,
    a slash sent escaped, which the router keeps in the id it is in (service.external_ids)."""
    if path.startswith("/customers/"):
        path = _ESCAPED_SLASH.sub("%252F", path)  # read as "%2F"
    return _KEPT_ESCAPED.sub(lambda character: quote(character.group(), safe=""), unquote(path))


def redacted(text: str) -> str:
    """A request line or path without its personal or secret parts: ``/customers/…``, ``?customer=…``; a path
    spelt with escapes (``/%63ustomers%2FC00001``, which the router takes for ``/customers/C00001``) is read
    unescaped first."""
    text = _PATH.sub(lambda path: _unescaped(path.group()), text)
    for pattern in (_LINK_TOKEN, _CUSTOMER_ID, _QUERY_VALUE):
        text = pattern.sub(r"\1…", text)
    return text


def about_a_person(path: str) -> bool:
    """Whether a request's path names or looks up a person (a customer, an erasure), whose refusal's message names
    them too ("Customer 'C00017' does not exist."), or uploads a file of them, whose refusal names its rows'
    customers ("unknown customer 'C00017'"): its log line keeps the refusal's kind only."""
    return path.startswith(("/customers/", "/erasures", "/imports/"))


# The id of the HTTP request being served (service.request_ids), written on each line logged while it is.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def _a_request_s_line(record: logging.LogRecord) -> bool:
    """Whether ``record`` is the web server's line about a request (client, method, path, HTTP version, status)."""
    return record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5


def _event(record: logging.LogRecord) -> str:
    """What the record says; a request's line without the personal or secret parts of its path."""
    return redacted(record.getMessage()) if _a_request_s_line(record) else record.getMessage()


def _fields(record: logging.LogRecord) -> dict[str, object]:
    """The line's fields besides its time, level, logger and event: the request being served, then the event's own
    (``extra=``)."""
    fields: dict[str, object] = {} if (request_id := REQUEST_ID.get()) is None else {"request_id": request_id}
    fields.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD and k not in _NOT_FIELDS})
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": _event(record),
            **_fields(record),
        }
        if _a_request_s_line(record):
            client, method, path, _, status = record.args
            payload.update({"client": client, "method": method, "path": redacted(str(path)), "status": status})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


_QUOTED = re.compile(r'[\s,="]')  # what would run a field's value into the next one: quoted, as JSON writes it


def _shown(value: object) -> str:
    """A field's value on a text line: a word as it is, anything else as JSON writes it (``"a, b"``, ``[1, 2]``)."""
    if isinstance(value, str) and value and not _QUOTED.search(value):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """A line for a person at a terminal: ``warning (tailor.sending): unsubscribe links recipients cannot reach —
    campaign_id=3, sent=20``, the level, logger, event and fields of the JSON line, its path redacted alike; without
    the time (the reader watches it written) or a request's line's client, method, path and status (its event says
    them); an exception's trace on the lines below."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{record.levelname.lower()} ({record.name}): {_event(record)}"
        if fields := _fields(record):
            line += " — " + ", ".join(f"{name}={_shown(value)}" for name, value in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _StandardError(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is when a line is logged: the CLI's progress bar puts a stand-in there while it
    is shown, which prints each line above the bar (a handler holding the stream it started with wrote the line
    into the bar's)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # set by StreamHandler.__init__: the stream is always the current one
        pass


STRUCTURED_LOGGERS = ("tailor", "uvicorn", "uvicorn.error", "uvicorn.access", "py.warnings")


def configure_logging(level: str | None = None, default: str = "INFO", command: bool = False) -> None:
    """JSON lines on stderr from Tailor's loggers at `level` (else TAILOR_LOG_LEVEL, else `default`), and from the
    web server's and Python's warnings at INFO or the same level when that is higher.

    The CLI's commands that a person watches (an import, a training) pass ``default="WARNING"``: their progress bars
    and summaries say what happened, and the jobs' "started" and "finished" lines printed among them; the server
    (`tailor serve`, and `tailor demo` once it serves) logs at INFO. A one-shot ``command`` whose stderr is a
    terminal writes its lines for the person there (TextFormatter), without those it prints in its own words
    (IN_RESULT); a server's go to collectors, as JSON, wherever it was started. TAILOR_LOG_FORMAT forces either."""
    from service.settings import LogSettings

    settings = LogSettings()
    level = level or (settings.level if "level" in settings.model_fields_set else default)
    handler = _StandardError()
    for_a_person = settings.format == "text" or (settings.format == "auto" and command and sys.stderr.isatty())
    handler.setFormatter(TextFormatter() if for_a_person else JsonFormatter())
    if for_a_person and command:
        handler.addFilter(_not_said_twice)
    others = max(logging.getLevelName(level), logging.INFO)
    for name in STRUCTURED_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler] if name != "uvicorn.error" else []  # it propagates to "uvicorn"
        logger.setLevel(level if name.startswith("tailor") else others)
        logger.propagate = name == "uvicorn.error"
    # The statements TAILOR_DB_ECHO logs (service.db.session.make_engine sets this logger's level), as JSON lines too.
    statements = logging.getLogger("sqlalchemy.engine")
    statements.handlers[:] = [handler]
    statements.propagate = False
    logging.captureWarnings(True)


def _not_said_twice(record: logging.LogRecord) -> bool:
    """Whether a command's line for a person is written: not one whose words the command prints itself."""
    return not getattr(record, "in_result", False)
