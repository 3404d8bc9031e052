"""Starting the in-repo emulators (the `okta365 emulate` subcommands) on
loopback, the keys and certificates the auth modes need, and a loopback TLS
proxy for the identity platform (azure-identity and MSAL accept only https
authorities; the proxy terminates TLS and forwards to the Graph emulator,
saying so in `X-Forwarded-Proto`)."""

import datetime
import http.client
import ipaddress
import os
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "examples" / "acme"


def okta365_binary():
    """The okta365 binary the tests built (`OKTA365_BIN` overrides)."""
    binary = Path(os.environ.get("OKTA365_BIN", ROOT / "target" / "debug" / "okta365"))
    if not binary.exists():
        raise SystemExit(f"{binary} does not exist: build it first (cargo build)")
    return binary


class Emulator:
    """One `okta365 emulate okta|graph` process, serving on 127.0.0.1:PORT."""

    def __init__(self, kind, *args):
        self.process = subprocess.Popen(
            [str(okta365_binary()), "emulate", kind, "--snapshot", str(SNAPSHOT),
             "--listen", "127.0.0.1:0", "--quiet", *map(str, args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline().strip()
        prefix = "listening on "
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError(
                f"the {kind} emulator did not start: {line!r} {self.process.stderr.read()}"
            )
        # Nothing more is read from stderr: let it go nowhere from now on.
        threading.Thread(target=self.process.stderr.read, daemon=True).start()
        self.url = line[len(prefix):]
        assert self.url.startswith("http://127.0.0.1:"), self.url

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def self_signed(key, name, ip=None):
    """A self-signed certificate for `name` (with `ip` as a SAN, for TLS)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False,
        ).add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256())


def thumbprints(cert):
    """`x5t` (SHA-1) and `x5t#S256` of a certificate, base64url without padding."""
    import base64

    def b64(raw):
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return b64(cert.fingerprint(hashes.SHA1())), b64(cert.fingerprint(hashes.SHA256()))


class TlsProxy:
    """https://127.0.0.1:PORT in front of an http emulator, for the identity
    platform's endpoints only (loopback, bounded to this process)."""

    def __init__(self, target_url, workdir):
        key = rsa_key()
        cert = self_signed(key, "127.0.0.1", ip="127.0.0.1")
        self.ca_file = Path(workdir) / "tls-proxy.pem"
        self.ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file = Path(workdir) / "tls-proxy.key"
        key_file.write_text(private_pem(key))
        target = target_url.removeprefix("http://")
        host, port = target.split(":")

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("connection", "keep-alive", "proxy-connection")}
                headers["X-Forwarded-Proto"] = "https"
                upstream = http.client.HTTPConnection(host, int(port), timeout=30)
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            do_GET = do_POST = forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.ca_file), str(key_file))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
