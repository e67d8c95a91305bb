"""The SMTP side of sending: a connection whose failures name the server and the settings to fix, the addresses
as that server can take them, and the message built from a variant, with the recipient's own unsubscribe link in
its body and headers."""

from __future__ import annotations

import re
import smtplib
import ssl
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default
from email.utils import formatdate, make_msgid
from html import escape

import idna

from generation.brands import UNSUBSCRIBE_PLACEHOLDER, load_brand, sender_address
from service.errors import MailServerUnavailable
from service.settings import SmtpSettings

# Bodies in 7-bit transfer encodings (quoted-printable or base64 for text outside ASCII): smtplib sends 8-bit bytes
# without BODY=8BITMIME (RFC 6152), and a relay that recodes them on the way breaks the DKIM signature it made.
SEVEN_BIT = default.clone(cte_type="7bit")


@contextmanager
def smtp_connection(settings: SmtpSettings) -> Iterator[smtplib.SMTP]:
    """An open (and, with a username, logged-in) connection to the configured SMTP server. Raises
    MailServerUnavailable naming the server and the TAILOR_SMTP_* settings to check when it cannot be reached or
    refuses STARTTLS or the login. TLS, from the first byte (TAILOR_SMTP_SSL, port 465) or by STARTTLS, checks the
    server's certificate and name, as a browser does (smtplib's own default checks neither, so anyone on the way
    could read the password and the email): a relay whose certificate a private authority signed is trusted through
    SSL_CERT_FILE."""
    server = f"{settings.host}:{settings.port}"
    try:
        if settings.ssl:
            smtp = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout_seconds, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    except ssl.SSLCertVerificationError as error:
        raise _unproven(settings, "TLS", error) from error
    except ssl.SSLError as error:
        raise MailServerUnavailable(
            f"The SMTP server at {server} did not answer in TLS: {error}. Unset TAILOR_SMTP_SSL if it does not speak "
            "TLS from the start (port 465); nothing was sent."
        ) from error
    except TimeoutError as error:
        raise MailServerUnavailable(
            f"Cannot connect to the SMTP server at {server}: no answer within {settings.timeout_seconds:g} s "
            "(TAILOR_SMTP_TIMEOUT_SECONDS). Check TAILOR_SMTP_HOST and TAILOR_SMTP_PORT; nothing was sent."
        ) from error
    except smtplib.SMTPServerDisconnected as error:  # connected, but no greeting came
        # An SMTPS server waits in silence for the client to start TLS, and a client waiting for its greeting times out.
        smtps = "" if settings.ssl else " (a port that speaks TLS from the start, 465, needs TAILOR_SMTP_SSL=true)"
        raise MailServerUnavailable(
            f"The SMTP server at {server} sent no greeting ({error}). Check TAILOR_SMTP_HOST and "
            f"TAILOR_SMTP_PORT{smtps}; nothing was sent."
        ) from error
    except OSError as error:
        raise MailServerUnavailable(
            f"Cannot connect to the SMTP server at {server}: {error.strerror or error}. Start it, or set "
            "TAILOR_SMTP_HOST and TAILOR_SMTP_PORT to a mail server that runs; nothing was sent."
        ) from error
    with smtp:
        if settings.starttls:
            try:
                smtp.starttls(context=ssl.create_default_context())
            except ssl.SSLCertVerificationError as error:
                raise _unproven(settings, "STARTTLS", error) from error
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
        try:
            yield smtp
        except BaseException:
            # Left mid-conversation (Ctrl-C while the server answered an email): the QUIT on the way out would read
            # that answer as its own, and smtplib raised it ("250 OK queued") in place of what stopped the send.
            smtp.close()
            raise


def _unproven(settings: SmtpSettings, tls: str, error: ssl.SSLCertVerificationError) -> MailServerUnavailable:
    """A server whose certificate, checked for ``tls`` (TLS from the start, or STARTTLS), is not for its name."""
    return MailServerUnavailable(
        f"The SMTP server at {settings.host}:{settings.port} did not prove it is {settings.host} for {tls}: "
        f"{error.verify_message}. Set TAILOR_SMTP_HOST to the name its certificate is for, or, for a certificate a "
        "private authority signed, SSL_CERT_FILE to that authority's; nothing was sent."
    )


class MailServer:
    """A campaign's connection to the SMTP server (``smtp_connection``), opened again when the server closed it
    between two emails, or answered an email's MAIL with 421 (a relay capping the messages of one connection, as
    Exim's smtp_accept_max_per_connection does): the send took the first for a connection lost while an email was
    handed over (the customer "may have it"), the second for a server gone, and stopped the campaign."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._connection = ExitStack()  # the open connection's alone: one reopened lets the last go
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> MailServer:
        self.smtp = self._connection.enter_context(smtp_connection(self.settings))
        return self

    def __exit__(self, *raised) -> bool | None:
        return self._connection.__exit__(*raised)

    def ready(self) -> smtplib.SMTP:
        """The connection, asked first whether it still answers (NOOP); a new one when it does not. Raises
        NotReopened, saying why, when no new one can be opened."""
        try:
            answered = self.smtp.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            answered = False
        if not answered:
            self._reopen()
        return self.smtp

    def send(self, message: EmailMessage, from_addr: str, to_addrs: list[str]) -> None:
        """``send_message`` on a connection that answers; one whose MAIL is refused with 421 (nothing of the email
        taken) is opened again and the email handed over once more. Raises EmailRefused when the server refuses the
        email for good for what it holds (its content, 5.6.x; its size, 5.3.4), which another email need not be, and
        SMTPRecipientsRefused, as RCPT does, when it refuses it for its recipient (5.1.x, 5.2.x: no such user, a full
        mailbox), which a server that checks them only once it has the email answers to DATA."""
        try:
            try:
                self.ready().send_message(message, from_addr=from_addr, to_addrs=to_addrs)
            except smtplib.SMTPSenderRefused as refused:
                if refused.smtp_code != 421:
                    raise
                self._reopen()
                self.smtp.send_message(message, from_addr=from_addr, to_addrs=to_addrs)
        except smtplib.SMTPDataError as refused:
            status = enhanced_status(refused.smtp_error)
            if status is not None and status[1] in ADDRESS_SUBJECTS:  # this address's: not the server failing
                # Raised as the send's failure, it stopped every send of the campaign at this draft, first in the
                # audience's order each time.
                answer = (refused.smtp_code, refused.smtp_error)
                raise smtplib.SMTPRecipientsRefused(dict.fromkeys(to_addrs, answer)) from refused
            for_what_it_holds = status is not None and (status[1] == "6" or status[1:] == ("3", "4"))
            by_policy = status is not None and status[1] == "7"
            if refused.smtp_code < 500 or not (for_what_it_holds or by_policy):
                raise
            raised = EmailRefusedByPolicy if by_policy else EmailRefused
            raise raised(f"{refused.smtp_code} {answer_text(refused.smtp_error)}") from refused

    def _reopen(self) -> None:
        """A new connection; NotReopened, saying why, when none can be opened."""
        self.smtp.close()
        self._connection.close()  # its QUIT to a closed connection is answered by nothing, and costs nothing
        self._connection = ExitStack()
        try:
            self.smtp = self._connection.enter_context(smtp_connection(self.settings))
        except MailServerUnavailable as error:
            raise NotReopened(421, f"closed, and not opened again: {error}") from error


class NotReopened(smtplib.SMTPResponseException):
    """The server closed the connection between two emails and would not open another: the next email was not
    handed over (an answer the server gave, as a refusal is, rather than a connection lost mid-email)."""


class EmailRefused(Exception):
    """The server refused one email for good for what it holds, not for its own reasons: the others can still go.
    The message is the server's answer."""


class EmailRefusedByPolicy(EmailRefused):
    """The server refused one email for good by its policy (5.7.x): a filter's verdict on what it holds ("550 5.7.1
    Message content rejected", Postfix's body checks, amavis), or one every email gets alike (the sender's domain
    fails DMARC), which the emails after it tell apart."""


# The enhanced status code (RFC 3463) that starts a server's answer after its reply code (5.1.1).
_ENHANCED_STATUS = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


def answer_text(reply: bytes | str) -> str:
    """A server's answer as text: smtplib gives the bytes it read."""
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


# The subjects of an enhanced status code about the recipient's address (RFC 3463: 1 addressing, 2 the mailbox), not
# the server's own policy, system or network: a refusal with one is that address's, at RCPT or at DATA alike.
ADDRESS_SUBJECTS = frozenset({"1", "2"})


def enhanced_status(reply: bytes | str) -> tuple[str, str, str] | None:
    """The enhanced status code of a server's answer, as its three numbers (class, subject, detail); None when it
    gives none."""
    status = _ENHANCED_STATUS.match(answer_text(reply))
    return status.groups() if status else None


class AddressNotDeliverable(ValueError):
    """An address the mail server cannot take as it is written; the message says why, for the reviewer."""


def offers_smtputf8(smtp: smtplib.SMTP) -> bool:
    """Whether the server takes addresses with letters outside ASCII before the @ (SMTPUTF8, RFC 6531)."""
    smtp.ehlo_or_helo_if_needed()
    return smtp.has_extn("smtputf8")


def smtp_address(address: str, smtputf8: bool) -> str:
    """``address`` as the mail server is to get it. A domain in another script goes in its ASCII form, as DNS knows
    it (IDNA 2008: пример.рф is xn--e1afmkfd.xn--p1ai), which every server takes; a part before the @ in another
    script has no such form, and only a server that offers SMTPUTF8 takes it. Raises AddressNotDeliverable saying
    why when the server cannot take the address (the rest of a campaign can still go)."""
    local, _, domain = address.rpartition("@")
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as error:
            message = f"{address}: its domain has no ASCII form for the mail server ({error})"
            raise AddressNotDeliverable(message) from error
    if not local.isascii() and not smtputf8:
        raise AddressNotDeliverable(
            f"{address} has letters outside ASCII before the @, which only a mail server that offers SMTPUTF8 "
            "takes, and this one does not: send through one that does, or ask the customer for another address"
        )
    return f"{local}@{domain}"


def sender_of(brand_slug: str, settings: SmtpSettings) -> str:
    """The From of a brand's emails: its kit's `sender`, else the service's TAILOR_SMTP_SENDER."""
    return load_brand(brand_slug).sender or settings.sender


def envelope_sender(sender: str, smtputf8: bool, server: str) -> str:
    """The sender's address as the mail server is to get it (see smtp_address); one it cannot take stops the send
    before any email, as every email would come from it. Raises MailServerUnavailable naming the setting."""
    try:
        return smtp_address(sender_address(sender).addr_spec, smtputf8)
    except AddressNotDeliverable as error:
        raise MailServerUnavailable(
            f"The SMTP server at {server} cannot take the sender {error}. Change the brand kit's sender or "
            "TAILOR_SMTP_SENDER; nothing was sent."
        ) from error


def new_message_id(sender: str) -> str:
    """A Message-ID in the sender's domain (its ASCII form); the send records it, so that events can name the
    message."""
    try:
        domain = smtp_address(f"x@{sender_address(sender).domain}", smtputf8=True).split("@", 1)[1]
    except ValueError:
        domain = "tailor.local"
    return make_msgid(idstring=uuid.uuid4().hex[:12], domain=domain)


def with_unsubscribe_link(html: str, unsubscribe_url: str) -> str:
    """An HTML body with the footer's unsubscribe placeholder made a link to ``unsubscribe_url``: the recipient's
    own at sending; the placeholder itself in an export, so that a sender that fills it with its own address gets
    a link too, not an address as plain text."""
    link = escape(unsubscribe_url)
    return html.replace(UNSUBSCRIBE_PLACEHOLDER, f'<a href="{link}" style="word-break:break-all;">{link}</a>')


def build_message(
    *, sender: str, to: str, subject: str, text: str, html: str, message_id: str, unsubscribe_url: str,
    language: str | None = None,
) -> EmailMessage:  # fmt: skip
    """One recipient's email: the variant's bodies with the brand footer's unsubscribe placeholder replaced by
    the recipient's own link (a link in the HTML), and the same link in List-Unsubscribe with
    List-Unsubscribe-Post, so that mail clients can offer one-click unsubscribe (RFC 8058), the Date that
    RFC 5322 requires (the moment it is written, in UTC), and the ``language`` it is written in as
    Content-Language (RFC 3282), by which mail clients offer to translate it or read it aloud in the right voice."""
    message = EmailMessage(policy=SEVEN_BIT)
    author = sender_address(sender)
    if not author.domain.isascii():  # an encoded-word is no part of an address: the domain goes in its ASCII form
        ascii_domain = idna.encode(author.domain, uts46=True).decode("ascii")
        author = Address(display_name=author.display_name, username=author.username, domain=ascii_domain)
    message["From"] = author
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text.replace(UNSUBSCRIBE_PLACEHOLDER, unsubscribe_url))
    message.add_alternative(with_unsubscribe_link(html, unsubscribe_url), subtype="html")
    if language:  # after the bodies: setting them clears the Content-* headers
        message["Content-Language"] = language
    return message
