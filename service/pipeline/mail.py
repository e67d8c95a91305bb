"""The SMTP side of sending: a connection whose failures name the server and the settings to fix."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager

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
