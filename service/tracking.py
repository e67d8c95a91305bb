"""Open and click tracking in the email Tailor sends itself (TAILOR_TRACK_OPENS, TAILOR_TRACK_CLICKS; off unless
set). An open is an image one pixel large that the email loads from Tailor; a click is a link of the email that
leads through Tailor, which records it and sends the browser on to the address the email linked to. Each link
carries its send's id, and a click's link the address it leads to, signed with the unsubscribe links' key: nobody
can make one for another send, nor have Tailor send a browser anywhere that no email of its own linked to.

Each is recorded as an event of its send, as POST /events records an email service's report: one open per send,
one click per link of it (the image loaded again, a link clicked twice, are duplicates). Machines open and click
too: an image loaded as the email is handed to the mail server is a ``machine_open`` (service.machine_opens), a link
scanner's click a ``machine_click`` (service.machine_clicks), neither a reader's. What a link cannot tell: a mail
client that loads every image as the email reaches it (Apple Mail's privacy protection) opens every email it gets,
and a scanner that clicks one link, or slowly, clicks as a reader; a HEAD (a link checker's) is answered and not
recorded. A click or an image is answered whatever becomes of its record: a database that is down costs the
count, not the recipient's way to the product."""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from datetime import datetime, timedelta
from html import escape, unescape
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from service import machine_clicks, machine_opens
from service.clock import utcnow
from service.db.session import session_scope
from service.errors import InvalidInput, is_database_busy
from service.events import ingest_events
from service.schemas import CLICKED_URL_MAX, EventIn
from service.settings import TrackingSettings
from service.signed_links import TrackingLinks

log = logging.getLogger("tailor.tracking")

# A transparent GIF one pixel square: the smallest image every mail client shows.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)

# An <a> tag's href in double quotes, as the email templates write it (jinja2 escapes what it holds).
_HREF = re.compile(r'(<a\b[^>]*?\shref=")([^"]*)(")', re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def tracked_html(html: str, send_id: int, links: TrackingLinks, settings: TrackingSettings) -> str:
    """A send's HTML body with what the settings ask for: each http(s) link leading through Tailor (clicks), and the
    image that tells of an open at the end of the body (opens). The unsubscribe link is never one of them: it is
    made after, and a click on it is no engagement."""
    if settings.clicks:

        def through_tailor(match: re.Match) -> str:
            url = unescape(match.group(2))
            if urlsplit(url).scheme.lower() not in ("http", "https"):  # mailto:, tel:, a #fragment: as they are
                return match.group(0)
            return f"{match.group(1)}{escape(links.click_url(send_id, url))}{match.group(3)}"

        html = _HREF.sub(through_tailor, html)
    if settings.opens:
        image = (
            f'<img src="{escape(links.open_url(send_id))}" width="1" height="1" alt="" '
            'style="display:block;border:0;width:1px;height:1px;">'
        )
        ends = list(_BODY_END.finditer(html))
        html = f"{html[: ends[-1].start()]}{image}{html[ends[-1].start() :]}" if ends else html + image
    return html


class Engagement(NamedTuple):
    """An open or a click to record: its send, kind, event id (``OPEN_EVENT_ID``, ``click_event_id``), when it came
    (which its event keeps however long the record waits) and, for a click, the address it followed (which names
    the product clicked: ``service.events.clicked_products``)."""

    send_id: int
    kind: Literal["open", "machine_open", "click", "machine_click"]  # a machine's: service.machine_opens, _clicks
    event_id: str
    occurred_at: datetime
    url: str | None = None


def _written(engine: Engine, engagements: list[Engagement]) -> None:
    """``_write``, tried again while the database is busy (SQLite's one writer held by a long import's write): the
    records wait their turn rather than being lost."""
    while _write(engine, engagements):
        time.sleep(_BUSY_PAUSE)


_BUSY_PAUSE = 0.05  # seconds between tries past a busy SQLite: each try waits out its busy timeout first


def _write(engine: Engine, engagements: list[Engagement]) -> bool:
    """Record ``engagements`` in one transaction; when it is refused (one names a send this database never had, or
    another server recorded one first), each on its own, so that one does not cost the others. True when the database
    was busy past its timeout (``is_database_busy``), nothing written, to be tried again. Never raises."""
    try:
        with session_scope(engine) as session:
            within = timedelta(seconds=TrackingSettings().machine_seconds)
            told = machine_clicks.told_apart(session, machine_opens.told_apart(session, engagements, within), within)
            events = [
                EventIn(send_id=e.send_id, kind=e.kind, event_id=e.event_id, occurred_at=e.occurred_at,
                        url=_product_link(e))
                for e in told
            ]  # fmt: skip
            ingest_events(session, events)
    except (IntegrityError, InvalidInput) as refused:
        if len(engagements) > 1:
            for engagement in engagements:
                _written(engine, [engagement])
        elif isinstance(refused, InvalidInput):  # an IntegrityError of one: recorded already, a duplicate
            log.warning("a tracked %s was not recorded", engagements[0].kind, extra=_about(engagements), exc_info=True)
    except Exception as error:  # noqa: BLE001 (the database down, or busy)
        if is_database_busy(error):
            return True
        log.warning("tracked opens and clicks were not recorded", extra=_about(engagements), exc_info=True)
    return False


def _product_link(engagement: Engagement) -> str | None:
    """The address a click followed, as an event takes it: one longer than any product's link is none's, and must
    not cost the batch its records."""
    url = engagement.url
    return url if url and len(url) <= CLICKED_URL_MAX else None


def _about(engagements: list[Engagement]) -> dict:
    return {"send_ids": sorted({e.send_id for e in engagements})[:20], "count": len(engagements)}


class EngagementRecorder:
    """Records the opens and clicks the tracking links answer, in batches, on one thread of its own: a campaign's
    email opened by thousands at once (a mail client that loads images on arrival) held one of the server's request
    threads per image while each waited its turn to write (on SQLite, up to the busy timeout behind an import), and
    the API and review page waited for threads. An answer only queues its record, with the moment it came. A batch
    that SQLite's writer keeps waiting (a long import) is tried again until it is written, rather than lost. At most
    ``max_pending`` wait: past that, a record is dropped and logged. Pending ones are written at ``close`` (the
    server's shutdown); a process killed loses those of its last moment."""

    BATCH = 500

    def __init__(self, engine: Engine, max_pending: int = 100_000) -> None:
        self.engine = engine
        self._queue: queue.Queue[Engagement | _Flush | None] = queue.Queue(max_pending)
        self._thread: threading.Thread | None = None  # started by the first record: most servers track nothing
        self._starting = threading.Lock()

    def add(self, send_id: int, kind: Literal["open", "click"], event_id: str, url: str | None = None) -> None:
        """Record an open or a click (on ``url``) of ``send_id``, which came now, soon, without waiting for the
        database."""
        engagement = Engagement(send_id, kind, event_id, utcnow(), url)
        self._started()
        try:
            self._queue.put_nowait(engagement)
        except queue.Full:
            log.warning("a tracked %s was dropped: too many wait to be recorded", engagement.kind,
                        extra={"send_id": engagement.send_id})  # fmt: skip

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until what was added so far is written (True), or ``timeout`` seconds (False)."""
        if self._thread is None:
            return True
        done = threading.Event()
        self._queue.put(_Flush(done))
        return done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Write what waits, and stop the thread (a later record starts it again)."""
        with self._starting:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
                thread.join(timeout)

    def _started(self) -> None:
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tracking-records", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            batch: list[Engagement] = []
            flushes: list[_Flush] = []
            stop = False
            while True:
                if item is None:
                    stop = True
                elif isinstance(item, _Flush):
                    flushes.append(item)
                else:
                    batch.append(item)
                if stop or len(batch) >= self.BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                _written(self.engine, batch)
            for flush in flushes:
                flush.done.set()
            if stop:
                return


class _Flush(NamedTuple):
    done: threading.Event
