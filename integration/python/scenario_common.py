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
