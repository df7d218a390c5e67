"""Shared plumbing for the Python scenario programs of beatmq's interop suite.

Each program prints JSON lines on stdout: {"event": "open", ...} once the
connection is open, then exactly one {"event": "result", ...} line. The Go
tests in integration/ drive the programs and check those lines.
"""

import argparse
import json
import platform
import select
import ssl
import sys
import time


def parse_args(client):
    """Parse the command line every scenario program accepts."""
    p = argparse.ArgumentParser(description="%s scenario program" % client)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--scenario", required=True,
                   choices=["roundtrip", "hold", "idle", "dead", "watch"])
    p.add_argument("--heartbeat", type=int, required=True)
    p.add_argument("--name", required=True, help="connection_name client property")
    p.add_argument("--queue", default="")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=4.0,
                   help="idle: how long to stay idle; hold/dead/watch: upper bound")
    p.add_argument("--every", type=float, default=0.0,
                   help="watch: seconds between two published messages (0: none)")
    p.add_argument("--tls-ca", default="",
                   help="connect over TLS, trusting this CA (PEM file)")
    return p.parse_args()


def tls_context(args):
    """An ssl.SSLContext that trusts --tls-ca and checks the broker's name
    (TLS 1.2 or later), or None for plain TCP."""
    if not args.tls_ca:
        return None
    ctx = ssl.create_default_context(cafile=args.tls_ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def emit(obj):
    """Print one JSON line and flush it."""
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def stdin_says_stop():
    """True once stdin has a line or reached EOF (the driver's close signal)."""
    r, _, _ = select.select([sys.stdin], [], [], 0)
    if not r:
        return False
    sys.stdin.readline()
    return True


def payload(i):
    """The body of message i (0-based)."""
    return "msg-%05d" % i


def now():
    """Wall-clock time in seconds since the epoch (the Go side compares it with its own)."""
    return time.time()


def library(name, version):
    """The library and interpreter versions, as the open line reports them."""
    return "%s %s (Python %s)" % (name, version, platform.python_version())


def error_fields(exc):
    """The fields describing an exception in a result line."""
    return {"error": str(exc) or repr(exc), "error_type": type(exc).__module__ + "." + type(exc).__name__}


class WatchOps:
    """What the watch scenario needs of a library.

    consume(ch, queue, on_body) declares the exclusive queue and consumes it
    without acks, calling on_body(text) per message; publish(ch, queue, text)
    sends one; pump(conn, seconds) runs the library's I/O for up to seconds.
    """

    def __init__(self, consume, publish, pump):
        self.consume = consume
        self.publish = publish
        self.pump = pump


class Client:
    """What a scenario needs of one client library.

    connect(args) -> (conn, negotiated heartbeat, channel); roundtrip(args, res);
    pump_until(conn, deadline, stop_on_stdin) runs the library's I/O loop;
    is_alive(conn) says whether it still considers the connection open;
    after_failure(conn) tidies up after the connection failed (may be None);
    watch_ops (a WatchOps) is what the watch scenario needs.
    """

    def __init__(self, name, connect, roundtrip, pump_until, is_alive, after_failure=None, watch_ops=None):
        self.name = name
        self.watch_ops = watch_ops
        self.connect = connect
        self.roundtrip = roundtrip
        self.pump_until = pump_until
        self.is_alive = is_alive
        self.after_failure = after_failure

    def hold(self, args, res):
        conn, hb, _ = self.connect(args)
        res["heartbeat"] = hb
        self.pump_until(conn, time.monotonic() + args.seconds, True)
        res["alive"] = self.is_alive(conn)
        conn.close()
        res["closed"] = True

    def idle(self, args, res):
        conn, hb, ch = self.connect(args)
        res["heartbeat"] = hb
        self.pump_until(conn, time.monotonic() + args.seconds, False)
        # A round trip after the idle period proves both sides kept the connection.
        ch.queue_declare(queue="", exclusive=True)
        res["alive"] = self.is_alive(conn)
        conn.close()
        res["closed"] = True

    def dead(self, args, res):
        conn, hb, _ = self.connect(args)
        res["heartbeat"] = hb
        try:
            self.pump_until(conn, time.monotonic() + args.seconds, True)
            res["alive"] = self.is_alive(conn)
        except Exception as exc:  # the detection we are waiting for
            res["t_detect"] = now()
            res.update(error_fields(exc))
            res["alive"] = False
            if self.after_failure is not None:
                try:
                    self.after_failure(conn)
                except Exception:
                    pass
            return
        conn.close()
        res["closed"] = True

    def watch(self, args, res):
        """Keep the connection open while the fault matrix injects a fault.

        Consumes its own exclusive queue (no acks) and publishes a message to it
        every --every seconds (none if 0). When the library raises, it reports
        t_detect and the error at once; when stdin says stop or --seconds pass,
        it waits up to 5 s for what it published and reports whether the
        connection is open. Counters: published, received, max_delay (seconds).
        """
        ops = self.watch_ops
        conn, hb, ch = self.connect(args)
        res["heartbeat"] = hb
        sent = []
        got = {"n": 0, "max": 0.0}

        def on_body(body):
            try:
                i = int(body)
                if 0 <= i < len(sent):
                    got["max"] = max(got["max"], now() - sent[i])
            except ValueError:
                pass
            got["n"] += 1

        def record():
            res["published"], res["received"], res["max_delay"] = len(sent), got["n"], got["max"]

        try:
            ops.consume(ch, args.queue, on_body)
            bound = time.monotonic() + args.seconds
            nxt = time.monotonic() + args.every if args.every > 0 else float("inf")
            while time.monotonic() < bound and not stdin_says_stop():
                if time.monotonic() >= nxt:
                    ops.publish(ch, args.queue, str(len(sent)))
                    sent.append(now())
                    nxt += args.every
                ops.pump(conn, 0.02)
            drain = time.monotonic() + 5
            while got["n"] < len(sent) and time.monotonic() < drain:
                ops.pump(conn, 0.02)
            res["alive"] = self.is_alive(conn)
        except Exception as exc:  # the detection we are waiting for
            res["t_detect"] = now()
            res.update(error_fields(exc))
            res["alive"] = False
            record()
            if self.after_failure is not None:
                try:
                    self.after_failure(conn)
                except Exception:
                    pass
            return
        record()
        conn.close()
        res["closed"] = True

    def main(self):
        args = parse_args(self.name)
        res = {"event": "result", "client": self.name, "scenario": args.scenario, "closed": False}
        scenarios = {"roundtrip": self.roundtrip, "hold": self.hold, "idle": self.idle, "dead": self.dead,
                     "watch": self.watch}
        try:
            scenarios[args.scenario](args, res)
        except Exception as exc:
            res["t_error"] = now()
            res.update(error_fields(exc))
        res["t_end"] = now()
        emit(res)
