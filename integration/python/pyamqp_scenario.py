"""py-amqp (the client under kombu and Celery) scenario program for beatmq's interop suite.

See scenario_common.py for the output protocol. py-amqp has no I/O thread: the
program must call drain_events and heartbeat_tick itself, as kombu does.
"""

import socket
import ssl
import time

import amqp

from scenario_common import Client, WatchOps, emit, library, now, payload, stdin_says_stop

CLIENT = "pyamqp"


def connect(args):
    # py-amqp takes its TLS settings as a dict of ssl options; with a
    # server_hostname it checks the broker's certificate name as kombu does.
    tls = None
    if args.tls_ca:
        tls = {"ca_certs": args.tls_ca, "cert_reqs": ssl.CERT_REQUIRED, "server_hostname": "localhost"}
    conn = amqp.Connection(
        host="%s:%d" % (args.host, args.port),
        ssl=tls or False,
        heartbeat=args.heartbeat,
        client_properties={"connection_name": args.name},
        connect_timeout=10,
    )
    conn.connect()
    # The value py-amqp negotiated and sent in tune-ok.
    hb = conn.heartbeat
    # Open a channel before announcing "open": the driver may cut the
    # connection as soon as it reads that line.
    ch = conn.channel()
    emit({"event": "open", "client": CLIENT, "heartbeat": hb, "library": library("py-amqp", amqp.__version__), "t": now()})
    return conn, hb, ch


def pump(conn, seconds):
    """Process inbound frames and send heartbeats for up to `seconds`."""
    try:
        conn.drain_events(timeout=seconds)
    except socket.timeout:
        pass
    conn.heartbeat_tick()


def pump_until(conn, deadline, stop_on_stdin):
    while time.monotonic() < deadline:
        pump(conn, 0.05)
        if stop_on_stdin and stdin_says_stop():
            return


def roundtrip(args, res):
    conn, hb, ch = connect(args)
    res["heartbeat"] = hb
    ch.queue_declare(queue=args.queue, exclusive=True)
    ch.confirm_select()
    published = confirmed = 0
    for i in range(args.count):
        # In confirm mode basic_publish waits for the broker's ack (or raises on nack).
        ch.basic_publish(amqp.Message(payload(i)), exchange="", routing_key=args.queue)
        published += 1
        confirmed += 1
    res["published"], res["confirmed"] = published, confirmed
    ch.basic_qos(0, 100, False)
    got = []

    def on_message(msg):
        got.append(msg.body.decode() if isinstance(msg.body, bytes) else msg.body)
        ch.basic_ack(msg.delivery_tag)

    tag = ch.basic_consume(args.queue, no_ack=False, callback=on_message)
    deadline = time.monotonic() + 10
    while len(got) < args.count and time.monotonic() < deadline:
        pump(conn, 0.5)
    ch.basic_cancel(tag)
    res["received"] = len(got)
    res["payload_errors"] = sum(1 for i, b in enumerate(got) if b != payload(i))
    conn.close()
    res["closed"] = True


def watch_consume(ch, queue, on_body):
    ch.queue_declare(queue=queue, exclusive=True, auto_delete=True)

    def on_message(msg):
        on_body(msg.body.decode() if isinstance(msg.body, bytes) else msg.body)

    ch.basic_consume(queue, no_ack=True, callback=on_message)


def watch_publish(ch, queue, text):
    ch.basic_publish(amqp.Message(text), exchange="", routing_key=queue)


def main():
    ops = WatchOps(watch_consume, watch_publish, pump)
    Client(CLIENT, connect, roundtrip, pump_until, lambda conn: conn.connected, lambda conn: conn.collect(),
           watch_ops=ops).main()


if __name__ == "__main__":
    main()
