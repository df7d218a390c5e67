"""Shared plumbing for the Python scenario programs of beatmq's interop suite.

Each program prints JSON lines on stdout: {"event": "open", ...} once the
connection is open, then exactly one {"event": "result", ...} line. The Go
tests in integration/ drive the programs and check those lines.
"""

import argparse
import json
import select
import sys
import time


def parse_args(client):
    """Parse the command line every scenario program accepts."""
    p = argparse.ArgumentParser(description="%s scenario program" % client)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--scenario", required=True,
                   choices=["roundtrip", "hold", "idle", "dead"])
    p.add_argument("--heartbeat", type=int, required=True)
    p.add_argument("--name", required=True, help="connection_name client property")
    p.add_argument("--queue", default="")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=4.0,
                   help="idle: how long to stay idle; hold/dead: upper bound")
    return p.parse_args()


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


def error_fields(exc):
    """The fields describing an exception in a result line."""
    return {"error": str(exc) or repr(exc), "error_type": type(exc).__module__ + "." + type(exc).__name__}


class Client:
    """What a scenario needs of one client library.

    connect(args) -> (conn, negotiated heartbeat, channel); roundtrip(args, res);
    pump_until(conn, deadline, stop_on_stdin) runs the library's I/O loop;
    is_alive(conn) says whether it still considers the connection open;
    after_failure(conn) tidies up after the connection failed (may be None).
    """

    def __init__(self, name, connect, roundtrip, pump_until, is_alive, after_failure=None):
        self.name = name
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

    def main(self):
        args = parse_args(self.name)
        res = {"event": "result", "client": self.name, "scenario": args.scenario, "closed": False}
        scenarios = {"roundtrip": self.roundtrip, "hold": self.hold, "idle": self.idle, "dead": self.dead}
        try:
            scenarios[args.scenario](args, res)
        except Exception as exc:
            res["t_error"] = now()
            res.update(error_fields(exc))
        res["t_end"] = now()
        emit(res)
