"""py-amqp (the client under kombu and Celery) over TLS with a password.

One login on the broker's TLS port as guest/guest, no client certificate,
with py-amqp's default authentication list (GSSAPI, EXTERNAL, AMQPLAIN,
PLAIN: it takes the first one the server offers) and ssl options as kombu's
broker_use_ssl passes them. It declares a server-named queue, publishes one
message and gets it back. One JSON line,
{"event": "login", "ok": ..., "body": ..., "offered": ...}, which
TestTLSPyAMQP checks.
"""

import argparse
import ssl

import amqp

from scenario_common import emit, error_fields


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    args = p.parse_args()
    res = {"event": "login", "name": "pyamqp", "ok": False}
    conn = amqp.Connection(
        host="127.0.0.1:%d" % args.port,
        userid="guest",
        password="guest",
        ssl={"ca_certs": args.ca, "cert_reqs": ssl.CERT_REQUIRED, "server_hostname": "localhost"},
        client_properties={"connection_name": "pyamqp-tls"},
        connect_timeout=10,
    )
    try:
        try:
            conn.connect()
        finally:
            res["offered"] = b" ".join(conn.mechanisms).decode()
        ch = conn.channel()
        q, _, _ = ch.queue_declare("", exclusive=True)
        ch.basic_publish(amqp.Message(b"over TLS: pyamqp"), "", q)
        m = ch.basic_get(q, no_ack=True)
        res["body"] = m.body.decode() if m is not None else None
        res["ok"] = True
        conn.close()
    except Exception as exc:  # reported, checked by the Go test
        res.update(error_fields(exc))
    emit(res)


if __name__ == "__main__":
    main()
