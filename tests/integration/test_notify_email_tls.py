"""E-mail over SMTP with STARTTLS and login, against a local TLS SMTP server (aiosmtpd) whose
self-signed certificate is made here; the message carries plain text and HTML."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deploy.local.infra import free_port
from services.notify.channels.base import ChannelRefused, Message
from services.notify.channels.email import EmailChannel, SmtpMailer
from services.notify.settings import NotifySettings
from services.notify.templates.domain import Rendered

pytestmark = pytest.mark.integration


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.pem", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class Catcher:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(envelope.content)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        ok = auth_data.login == b"union" and auth_data.password == b"s3cret-pass"
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)


def message() -> Message:
    rendered = Rendered(
        "报名成功：春季踏青", "张颖，您好！\n\n您已成功报名「春季踏青」。<b>不是标签</b>"
    )
    return Message(
        "e1:m1",
        "m1",
        "main",
        "registration_confirmed",
        "zhang@school.local",
        rendered.title,
        rendered.text,
        rendered.html,
    )


async def test_starttls_and_login_send_text_and_html(tmp_path):
    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    catcher = Catcher()
    port = free_port()
    server = Controller(
        catcher,
        hostname="127.0.0.1",
        port=port,
        tls_context=tls,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=catcher.authenticate,
    )
    server.start()
    try:
        settings = NotifySettings(
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="starttls",
            smtp_username="union",
            smtp_password="s3cret-pass",
            smtp_ca_file=cert,
        )
        await EmailChannel(SmtpMailer(settings)).send(message())
        assert catcher.logins == ["union"]
        [raw] = catcher.messages
        mail = message_from_bytes(raw, policy=policy.default)
        assert mail["Subject"] == "报名成功：春季踏青" and mail["To"] == "zhang@school.local"
        plain, rich = mail.get_body(("plain",)), mail.get_body(("html",))
        assert plain is not None and rich is not None  # text and HTML alternatives
        text, html = plain.get_content(), rich.get_content()
        assert "您已成功报名「春季踏青」。<b>不是标签</b>" in text
        assert "&lt;b&gt;不是标签&lt;/b&gt;" in html and "<h3>报名成功：春季踏青</h3>" in html

        wrong = settings.model_copy(update={"smtp_password": settings.smtp_password.__class__("x")})
        with pytest.raises(ChannelRefused):  # a refused login is this message's failure
            await EmailChannel(SmtpMailer(wrong)).send(message())
        assert len(catcher.messages) == 1
    finally:
        server.stop()
