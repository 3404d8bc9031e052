#!/usr/bin/env python3
"""Benchmarks of `okta365 serve` against the emulators (BENCHMARKS.md, benchmark 5).

Python standard library only. Starts the Graph emulator with Graph's own
throttling budgets, the Okta emulator delivering event hooks to the service,
and `okta365 serve`; then drives Okta through the emulator's control API
(`/_emulator/users/{id}/status` writes `user.lifecycle.suspend`,
`/_emulator/users/{id}/profile` writes `user.account.update_profile`).

  load   RATE events/s for SECONDS, LOCKDOWN_SHARE of them suspensions (lockdowns),
         the rest profile updates (reconcile triggers); prints the journal's
         event-received -> lockdown-complete percentiles.
  crash  a burst of lockdowns while `serve` is killed with SIGKILL at KILLS random
         moments and restarted at once; then counts the Graph emulator's writes:
         every locked user must have exactly one PATCH and one revokeSignInSessions.

Everything listens on 127.0.0.1 only.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

GRAPH_SECRET = "bench-graph-secret"
OKTA_TOKEN = "bench-okta-token"
HOOK_SECRET = "bench-hook-secret"
TENANT = "8f2c1c5e-4a9b-4d6e-9f3a-2b7d1e6c0a41"
CLIENT = "6d3a9e0b-5c1f-4b7a-8e2d-0f4c9b1a7e35"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, log, env=None):
    """Starts a process whose first stdout line is `listening on URL`; returns (proc, url)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(log, "ab"),
                            stdin=subprocess.DEVNULL, env=env, text=True)
    first = proc.stdout.readline().strip()
    if not first.startswith("listening on "):
        raise SystemExit(f"{cmd[0]} did not start: {first!r} (see {log})")
    # Keep draining stdout so the process never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, first[len("listening on "):]


class Client:
    """One keep-alive HTTP connection to a loopback URL."""

    def __init__(self, url):
        host, port = url.split("//")[1].split(":")
        self.host, self.port = host, int(port)
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body)
        headers = {"content-type": "application/json"} if data else {}
        for attempt in range(3):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                text = resp.read()
                return resp.status, text
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt == 2:
                    raise


def managed_people(tenant):
    """Okta ids of ACTIVE users whose Office 365 account is managed and enabled."""
    okta = {u["id"]: u for u in json.load(open(os.path.join(tenant, "okta/users.json")))}
    ids = []
    for u in json.load(open(os.path.join(tenant, "m365/users.json"))):
        marker = (u.get("onPremisesExtensionAttributes") or {}).get("extensionAttribute15")
        if marker and u.get("accountEnabled") and okta.get(marker, {}).get("status") == "ACTIVE":
            ids.append((marker, u["id"], u["userPrincipalName"]))
    return ids


def write_config(out, tenant, okta_url, graph_url, writes_per_second):
    config = f"""policies: {os.path.join(tenant, 'policies')}
okta:
  org_url: {okta_url}
  auth: {{ token_env: BENCH_OKTA_TOKEN }}
m365:
  tenant_id: {TENANT}
  graph_url: {graph_url}
  login_url: {graph_url}
  auth: {{ client_id: {CLIENT}, client_secret_env: BENCH_GRAPH_SECRET }}
  limits: {{ writes_per_second: {writes_per_second} }}
ownership:
  okta_id_attribute: extensionAttribute15
  offboarded_at_attribute: extensionAttribute14
audit:
  path: {os.path.join(out, 'audit.jsonl')}
events:
  lockdown:
    breaker: {{ max_lockdowns: 100000, window_minutes: 10 }}
  journal: {{ path: {os.path.join(out, 'events.db')} }}
  reconcile: {{ apply: false }}
"""
    path = os.path.join(out, "okta365.yaml")
    open(path, "w").write(config)
    return path


class Rig:
    """The two emulators and the service."""

    def __init__(self, args):
        self.args = args
        shutil.rmtree(args.out, ignore_errors=True)
        os.makedirs(args.out)
        self.env = dict(os.environ, BENCH_OKTA_TOKEN=OKTA_TOKEN, BENCH_GRAPH_SECRET=GRAPH_SECRET,
                        OKTA365_HOOK_SECRET=HOOK_SECRET, OKTA365_LOG="okta365=warn")
        b = args.bin
        self.graph, self.graph_url = start(
            [b, "emulate", "graph", "--snapshot", args.tenant, "--client-secret", GRAPH_SECRET,
             # Graph's budgets: 3,500 resource units per 10 s, 3,000 writes per 150 s.
             "--throttle-units", "3500", "--throttle-window-secs", "10",
             "--throttle-writes", "3000", "--throttle-write-window-secs", "150"],
            os.path.join(args.out, "graph.log"), self.env)
        self.port = free_port()
        self.okta, self.okta_url = start(
            [b, "emulate", "okta", "--snapshot", args.tenant, "--token", OKTA_TOKEN,
             "--event-hook", f"http://127.0.0.1:{self.port}/hooks/okta",
             "--event-hook-secret", HOOK_SECRET,
             "--event-hook-types", "user.lifecycle.suspend user.account.update_profile"],
            os.path.join(args.out, "okta.log"), self.env)
        self.config = write_config(args.out, args.tenant, self.okta_url, self.graph_url,
                                   args.writes_per_second)
        self.serve = None
        self.launch()

    def launch(self):
        self.serve, url = start(
            [self.args.bin, "--config", self.config, "serve", "--listen", f"127.0.0.1:{self.port}"],
            os.path.join(self.args.out, "serve.log"), self.env)
        assert url == f"http://127.0.0.1:{self.port}", url

    def kill9(self):
        self.serve.send_signal(signal.SIGKILL)
        self.serve.wait()

    def stop(self):
        for p in (self.serve, self.okta, self.graph):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in (self.serve, self.okta, self.graph):
            if p:
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()

    def status(self):
        return subprocess.run([self.args.bin, "--config", self.config, "events", "status"],
                              capture_output=True, text=True, env=self.env).stdout

    def open_events(self):
        """Events not finished, from the journal (read-only)."""
        import sqlite3
        db = sqlite3.connect(f"file:{os.path.join(self.args.out, 'events.db')}?mode=ro", uri=True)
        try:
            return db.execute("SELECT COUNT(*) FROM events WHERE state IN ('received','acted') "
                              "AND event_type = 'user.lifecycle.suspend'").fetchone()[0]
        finally:
            db.close()


def suspend(okta, user):
    status, text = okta.call("PUT", f"/_emulator/users/{user}/status", {"status": "SUSPENDED"})
    if status != 200:
        print(f"suspend {user}: {status} {text[:200]}", file=sys.stderr)


def drive(rig, people, seconds, rate, share):
    """Sends `rate` events a second for `seconds`; returns the suspended users."""
    okta = Client(rig.okta_url)
    rng = random.Random(7)
    others = [p[0] for p in people]
    locked, n = [], 0
    start_at = time.monotonic()
    total = int(seconds * rate)
    every = max(1, round(1 / share))
    for i in range(total):
        due = start_at + i / rate
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        if i % every == 0 and n < len(people):
            user = people[n][0]
            n += 1
            suspend(okta, user)
            locked.append(people[n - 1])
        else:
            user = rng.choice(others)
            okta.call("POST", f"/_emulator/users/{user}/profile",
                      {"title": f"Title {rng.randrange(1_000_000)}"})
    late = time.monotonic() - start_at - seconds
    print(f"sent {total} events in {seconds + late:.1f} s ({len(locked)} suspensions)")
    return locked


def wait_done(rig, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rig.open_events() == 0:
            return True
        time.sleep(1)
    return False


def load(args):
    rig = Rig(args)
    try:
        people = managed_people(args.tenant)
        random.Random(1).shuffle(people)
        need = int(args.seconds * args.rate * args.lockdown_share) + 1
        if len(people) < need:
            raise SystemExit(f"the tenant has {len(people)} managed active users; {need} needed")
        time.sleep(2)
        drive(rig, people[:need], args.seconds, args.rate, args.lockdown_share)
        print("all lockdowns finished" if wait_done(rig) else "NOT all lockdowns finished")
        print(rig.status())
    finally:
        rig.stop()


def crash(args):
    rig = Rig(args)
    try:
        people = managed_people(args.tenant)
        random.Random(2).shuffle(people)
        count = int(args.seconds * args.rate)
        people = people[:count]
        time.sleep(2)
        rng = random.Random(args.seed)
        moments = sorted(rng.uniform(0.5, args.seconds) for _ in range(args.kills))
        driver = threading.Thread(target=drive, args=(rig, people, args.seconds, args.rate, 1.0))
        t0 = time.monotonic()
        driver.start()
        for at in moments:
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            rig.kill9()
            rig.launch()
        driver.join()
        finished = wait_done(rig)
        writes = json.loads(Client(rig.graph_url).call("GET", "/_emulator/writes")[1])
        patches, revokes = {}, {}
        for w in writes:
            method, path = w.split(" ", 1)
            parts = path.strip("/").split("/")
            if method == "PATCH" and len(parts) == 2 and parts[0] == "users":
                patches[parts[1]] = patches.get(parts[1], 0) + 1
            if method == "POST" and len(parts) == 3 and parts[2] == "revokeSignInSessions":
                revokes[parts[1]] = revokes.get(parts[1], 0) + 1
        ids = [p[1] for p in people]
        lost = [i for i in ids if revokes.get(i, 0) == 0 or patches.get(i, 0) == 0]
        doubled = [i for i in ids if revokes.get(i, 0) > 1 or patches.get(i, 0) > 1]
        print(f"kills: {args.kills} at {', '.join(f'{m:.1f}' for m in moments)} s")
        print(f"lockdown events: {len(ids)}; all finished: {finished}")
        print(f"users locked exactly once (1 PATCH, 1 revoke): {len(ids) - len(lost) - len(doubled)}")
        print(f"lost: {len(lost)}; doubled: {len(doubled)}")
        print(f"Graph writes in total: {len(writes)}")
        print(rig.status())
    finally:
        rig.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["load", "crash"])
    p.add_argument("--bin", default="target/release/okta365")
    p.add_argument("--tenant", required=True, help="a folder made by `okta365 generate`")
    p.add_argument("--out", default="/tmp/serve-bench")
    p.add_argument("--rate", type=float, default=50.0, help="events a second")
    p.add_argument("--seconds", type=float, default=300.0)
    p.add_argument("--lockdown-share", type=float, default=0.2)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--writes-per-second", type=float, default=25.0)
    args = p.parse_args()
    (load if args.mode == "load" else crash)(args)


if __name__ == "__main__":
    main()
