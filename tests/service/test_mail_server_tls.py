"""STARTTLS to a real SMTP server on loopback: the server's certificate is checked before the password and the
email go over the connection."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from service.errors import MailServerUnavailable
from service.pipeline.mail import smtp_connection
from service.settings import SmtpSettings
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


@pytest.fixture
def tls_relay(tmp_path):
    """A relay on loopback that offers STARTTLS with a self-signed certificate: (port, certificate)."""
    from aiosmtpd.controller import Controller

    class Mailbox:
        async def handle_DATA(self, _server, _session, _envelope):  # noqa: N802 (aiosmtpd's hook name)
            return "250 OK"

    certificate = self_signed(tmp_path, "127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate)
    port = free_port()
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True)
    controller.start()
    yield port, certificate
    controller.stop()


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
