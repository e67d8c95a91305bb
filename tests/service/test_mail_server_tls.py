"""TLS to a real SMTP server on loopback, by STARTTLS or from the first byte (SMTPS): the server's certificate is
checked before the password and the email go over the connection."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.errors import MailServerUnavailable
from service.pipeline.mail import smtp_connection
from service.settings import SmtpSettings, environment_problem
from tests.conftest import free_port


def self_signed(folder: Path, host: str) -> Path:
    """A certificate for ``host`` that no authority signed, with its key, in one PEM file."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command makes the test's certificate, and it is not installed")
    pem = folder / "relay.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={host}",
         "-addext", f"subjectAltName=IP:{host}", "-keyout", str(pem), "-out", str(pem)],
        check=True, capture_output=True,
    )  # fmt: skip
    return pem


def _relay(folder: Path, starttls: bool) -> Iterator[tuple[int, Path]]:
    """A relay on loopback with a self-signed certificate, offering STARTTLS (required) or speaking TLS from the
    first byte (SMTPS, as on port 465): (port, certificate)."""
    from aiosmtpd.controller import Controller

    class Mailbox:
        async def handle_DATA(self, _server, _session, _envelope):  # noqa: N802 (aiosmtpd's hook name)
            return "250 OK"

    certificate = self_signed(folder, "127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate)
    tls = {"tls_context": context, "require_starttls": True} if starttls else {"ssl_context": context}
    port = free_port()
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=port, **tls)
    controller.start()
    yield port, certificate
    controller.stop()


@pytest.fixture
def tls_relay(tmp_path):
    """A relay on loopback that offers STARTTLS with a self-signed certificate: (port, certificate)."""
    yield from _relay(tmp_path, starttls=True)


def test_starttls_to_a_server_whose_certificate_proves_nothing_is_refused_naming_what_to_set(tls_relay, monkeypatch):
    """smtplib's STARTTLS checked no certificate: a machine on the way could answer in the relay's place and read
    TAILOR_SMTP_PASSWORD and every email."""
    port, certificate = tls_relay
    settings = SmtpSettings(host="127.0.0.1", port=port, starttls=True)

    with pytest.raises(MailServerUnavailable) as refused, smtp_connection(settings):
        pass
    assert f"The SMTP server at 127.0.0.1:{port} did not prove it is 127.0.0.1" in str(refused.value)
    assert "SSL_CERT_FILE" in str(refused.value) and "nothing was sent" in str(refused.value)

    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # the shop trusts its own relay's authority
    with smtp_connection(settings) as smtp:
        assert smtp.noop()[0] == 250 and smtp.sock.version() is not None  # over TLS


@pytest.fixture
def smtps_relay(tmp_path):
    """A relay on loopback that speaks TLS from the first byte (SMTPS, as on port 465) with a self-signed
    certificate: (port, certificate)."""
    yield from _relay(tmp_path, starttls=False)


def test_a_server_that_speaks_tls_from_the_start_is_reached_with_its_certificate_checked(smtps_relay, monkeypatch):
    """There was no way to use SMTPS (port 465): the connection waited for a greeting the server never sends before
    TLS, until its timeout."""
    port, certificate = smtps_relay
    settings = SmtpSettings(host="127.0.0.1", port=port, ssl=True)

    with pytest.raises(MailServerUnavailable) as refused, smtp_connection(settings):
        pass
    assert f"The SMTP server at 127.0.0.1:{port} did not prove it is 127.0.0.1 for TLS" in str(refused.value)
    assert "SSL_CERT_FILE" in str(refused.value) and "nothing was sent" in str(refused.value)

    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    with smtp_connection(settings) as smtp:
        assert smtp.noop()[0] == 250 and smtp.sock.version() is not None  # over TLS
        smtp.sendmail("news@shop.example", ["c1@example.com"], "Subject: Hello\r\n\r\nHello\r\n")

    unset = SmtpSettings(host="127.0.0.1", port=port, timeout_seconds=0.5)  # waits for a greeting that never comes
    with pytest.raises(MailServerUnavailable, match="465, needs TAILOR_SMTP_SSL=true"), smtp_connection(unset):
        pass


def test_tls_from_the_start_and_starttls_together_are_refused_naming_both(monkeypatch):
    monkeypatch.setenv("TAILOR_SMTP_SSL", "true")
    monkeypatch.setenv("TAILOR_SMTP_STARTTLS", "true")
    with pytest.raises(ValidationError) as refused:
        SmtpSettings()
    problem = environment_problem(refused.value)
    assert problem.startswith("the environment is not valid: TAILOR_SMTP_SSL='true': cannot be used with ")
    assert "TAILOR_SMTP_STARTTLS" in problem
