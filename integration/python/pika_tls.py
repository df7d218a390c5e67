"""pika (BlockingConnection) over TLS: issue 14's amqps scenario.

Three logins on the broker's TLS port, each with pika's ssl_options (an
ssl.SSLContext trusting the test's CA): "plain" as guest/guest with PLAIN
and no client certificate, "external" with a client certificate whose CN is
guest and pika's ExternalCredentials, "unknown" with a certificate for a
user the broker does not know. The first two declare a server-named queue,
publish one message and get it back. One JSON line per login,
{"event": "login", "name": ..., "ok": ..., "body": ..., "mechanism": ...},
which TestTLSPika checks.
"""

import argparse
import ssl

import pika
from pika.credentials import ExternalCredentials, PlainCredentials

from scenario_common import emit, error_fields


def login(args, name, cert, key, credentials):
    ctx = ssl.create_default_context(cafile=args.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert:
        ctx.load_cert_chain(cert, key)
    params = pika.ConnectionParameters(
        host="127.0.0.1",
        port=args.port,
        credentials=credentials,
        ssl_options=pika.SSLOptions(ctx, "localhost"),
        client_properties={"connection_name": "pika-tls-" + name},
        socket_timeout=10,
    )
    res = {"event": "login", "name": name, "ok": False}
    try:
        conn = pika.BlockingConnection(params)
        try:
            ch = conn.channel()
            q = ch.queue_declare("", exclusive=True).method.queue
            ch.basic_publish("", q, b"over TLS: " + name.encode())
            _, _, body = ch.basic_get(q, auto_ack=True)
            res["body"] = body.decode() if body is not None else None
            res["ok"] = True
        finally:
            conn.close()
    except Exception as exc:  # reported, checked by the Go test
        res.update(error_fields(exc))
    emit(res)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--unknown-cert", required=True)
    p.add_argument("--unknown-key", required=True)
    args = p.parse_args()
    login(args, "plain", None, None, PlainCredentials("guest", "guest"))
    login(args, "external", args.cert, args.key, ExternalCredentials())
    login(args, "unknown", args.unknown_cert, args.unknown_key, ExternalCredentials())


if __name__ == "__main__":
    main()
