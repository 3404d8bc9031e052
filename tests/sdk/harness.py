"""The vendors' own SDKs against okta365's emulators, in every auth mode.

Okta's `okta` SDK (API token; OAuth private_key_jwt with and without DPoP)
and Microsoft's `msgraph-sdk` with azure-identity (client secret;
certificate) page users, groups, members and the System Log, read errors,
and create, update, license (Graph) and delete a user and a group. Each
emulator runs as `okta365 emulate …` on 127.0.0.1 only. Prints one line per
check and `N passed, N failed`; exits 1 on any failure.

Run: `python tests/sdk/harness.py` after `cargo build` (see docs/emulators.md)."""

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from cryptography.hazmat.primitives import serialization  # noqa: E402

import emulators  # noqa: E402

TENANT = "8f2c1c5e-4a9b-4d6e-9f3a-2b7d1e6c0a41"
GRAPH_CLIENT = "6d3a9e0b-5c1f-4b7a-8e2d-0f4c9b1a7e35"
GRAPH_SECRET = "sdk-harness-secret-Qf93kLz"
OKTA_TOKEN = "00sdkHarnessSswsToken-9f8e7d6c5b4a"
OKTA_CLIENT = "0oaSdkHarnessApp01"
OKTA_SCOPES = "okta.users.manage okta.groups.manage okta.logs.read"


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def checker(self, mode):
        started = time.monotonic()

        def check(name, ok, detail=None):
            if ok:
                self.passed += 1
                print(f"ok    {mode}: {name} ({time.monotonic() - started:.1f} s)")
            else:
                self.failed += 1
                print(f"FAIL  {mode}: {name}: {detail!r}")
        return check


async def graph_modes(results, workdir):
    import graph_sdk

    key = emulators.rsa_key()
    cert = emulators.self_signed(key, "okta365-sdk-harness")
    x5t, x5t256 = emulators.thumbprints(cert)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    (workdir / "graph-cert.pem").write_text(emulators.public_pem(key))
    certificate_file = workdir / "graph-cert-and-key.pem"
    certificate_file.write_text(emulators.private_pem(key) + cert_pem)
    emulator = emulators.Emulator(
        "graph", "--client-secret", GRAPH_SECRET,
        "--cert-public-key", workdir / "graph-cert.pem",
        # `=`: a base64url thumbprint may start with `-`.
        f"--cert-thumbprint={x5t}", f"--cert-thumbprint-sha256={x5t256}",
    )
    proxy = emulators.TlsProxy(emulator.url, workdir)
    try:
        for mode in ("client secret", "certificate"):
            check = results.checker(f"graph {mode}")
            cred = graph_sdk.credential(mode, proxy, TENANT, GRAPH_CLIENT, secret=GRAPH_SECRET,
                                        certificate_file=certificate_file)
            token = cred.get_token(*graph_sdk.SCOPES)
            check("azure-identity gets a token from the emulator", bool(token.token), None)
            client, adapter = graph_sdk.client_for(cred, emulator.url)
            try:
                await graph_sdk.run(check, client, adapter)
            except Exception as e:  # a crash is a failed check, with its cause
                check("the flow ran to its end", False, repr(e))
    finally:
        proxy.stop()
        emulator.stop()


async def okta_modes(results, workdir):
    import okta_sdk

    key = emulators.rsa_key()
    (workdir / "okta-app.pem").write_text(emulators.public_pem(key))
    private = emulators.private_pem(key)
    for mode, extra in (
        ("SSWS", []),
        ("private_key_jwt", ["--oauth-no-dpop"]),
        ("private_key_jwt + DPoP", []),
    ):
        oauth = [] if mode == "SSWS" else [
            "--oauth-client-id", OKTA_CLIENT, "--oauth-public-key", workdir / "okta-app.pem",
            "--oauth-scopes", OKTA_SCOPES, *extra,
        ]
        emulator = emulators.Emulator("okta", "--token", OKTA_TOKEN, *oauth)
        try:
            check = results.checker(f"okta {mode}")
            if mode == "SSWS":
                config = {"orgUrl": emulator.url, "token": OKTA_TOKEN}
            else:
                config = {
                    "orgUrl": emulator.url, "authorizationMode": "PrivateKey",
                    "clientId": OKTA_CLIENT, "scopes": OKTA_SCOPES.split(), "privateKey": private,
                    "dpopEnabled": mode.endswith("DPoP"),
                }
            try:
                await okta_sdk.run(check, config)
            except Exception as e:
                check("the flow ran to its end", False, repr(e))
        finally:
            emulator.stop()


async def main():
    started = time.monotonic()
    results = Results()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        await okta_modes(results, workdir)
        await graph_modes(results, workdir)
    print(f"SDK harness: {time.monotonic() - started:.1f} s")
    print(f"{results.passed} passed, {results.failed} failed")
    return 1 if results.failed or not results.passed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
