"""The SMTP side of sending: a connection whose failures name the server and the settings to fix, and the
message built from a variant, with the recipient's own unsubscribe link in its body and headers."""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape

from generation.brands import UNSUBSCRIBE_PLACEHOLDER, load_brand
from service.errors import MailServerUnavailable
from service.settings import SmtpSettings


@contextmanager
def smtp_connection(settings: SmtpSettings) -> Iterator[smtplib.SMTP]:
    """An open (and, with a username, logged-in) connection to the configured SMTP server. Raises
    MailServerUnavailable naming the server and the TAILOR_SMTP_* settings to check when it cannot be reached or
    refuses STARTTLS or the login."""
    server = f"{settings.host}:{settings.port}"
    try:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    except TimeoutError as error:
        raise MailServerUnavailable(
            f"Cannot connect to the SMTP server at {server}: no answer within {settings.timeout_seconds:g} s "
            "(TAILOR_SMTP_TIMEOUT_SECONDS). Check TAILOR_SMTP_HOST and TAILOR_SMTP_PORT; nothing was sent."
        ) from error
    except OSError as error:
        raise MailServerUnavailable(
            f"Cannot connect to the SMTP server at {server}: {error.strerror or error}. Start it, or set "
            "TAILOR_SMTP_HOST and TAILOR_SMTP_PORT to a mail server that runs; nothing was sent."
        ) from error
    with smtp:
        if settings.starttls:
            try:
                smtp.starttls()
            except (smtplib.SMTPException, OSError) as error:
                raise MailServerUnavailable(
                    f"The SMTP server at {server} refused STARTTLS: {error}. Unset TAILOR_SMTP_STARTTLS if it does "
                    "not offer it; nothing was sent."
                ) from error
        if settings.username:
            try:
                smtp.login(settings.username, settings.password or "")
            except (smtplib.SMTPException, OSError) as error:
                raise MailServerUnavailable(
                    f"The SMTP server at {server} refused the login as '{settings.username}': {error}. Check "
                    "TAILOR_SMTP_USERNAME and TAILOR_SMTP_PASSWORD; nothing was sent."
                ) from error
        yield smtp


def sender_of(brand_slug: str, settings: SmtpSettings) -> str:
    """The From of a brand's emails: its kit's `sender`, else the service's TAILOR_SMTP_SENDER."""
    return load_brand(brand_slug).sender or settings.sender


def new_message_id(sender: str) -> str:
    """A Message-ID in the sender's domain; the send records it, so that events can name the message."""
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "tailor.local"
    return make_msgid(idstring=uuid.uuid4().hex[:12], domain=domain)


def build_message(
    *, sender: str, to: str, subject: str, text: str, html: str, message_id: str, unsubscribe_url: str
) -> EmailMessage:
    """One recipient's email: the variant's bodies with the brand footer's unsubscribe placeholder replaced by
    the recipient's own link (a link in the HTML), and the same link in List-Unsubscribe with
    List-Unsubscribe-Post, so that mail clients can offer one-click unsubscribe (RFC 8058), and the Date that
    RFC 5322 requires (the moment it is written, in UTC)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text.replace(UNSUBSCRIBE_PLACEHOLDER, unsubscribe_url))
    link = escape(unsubscribe_url)
    message.add_alternative(html.replace(UNSUBSCRIBE_PLACEHOLDER, f'<a href="{link}">{link}</a>'), subtype="html")
    return message
