"""pika (BlockingConnection) scenario program for beatmq's interop suite.

See scenario_common.py for the output protocol. BlockingConnection has no I/O
thread: heartbeats are sent and checked only while the program is inside
pika (connection.sleep / process_data_events), so every wait below pumps I/O.
"""

import time

import pika

from scenario_common import Client, WatchOps, emit, library, now, payload, stdin_says_stop, tls_context

CLIENT = "pika"


def connect(args):
    ctx = tls_context(args)
    params = pika.ConnectionParameters(
        ssl_options=pika.SSLOptions(ctx, "localhost") if ctx else None,
        host=args.host,
        port=args.port,
        heartbeat=args.heartbeat,
        client_properties={"connection_name": args.name},
        connection_attempts=1,
        socket_timeout=10,
        blocked_connection_timeout=None,
    )
    conn = pika.BlockingConnection(params)
    # The value sent in tune-ok (pika's own negotiation result).
    hb = conn._impl.params.heartbeat
    # Open a channel before announcing "open": the driver may cut the
    # connection as soon as it reads that line.
    ch = conn.channel()
    emit({"event": "open", "client": CLIENT, "heartbeat": hb, "library": library("pika", pika.__version__), "t": now()})
    return conn, hb, ch


def roundtrip(args, res):
    conn, hb, ch = connect(args)
    res["heartbeat"] = hb
    ch.queue_declare(queue=args.queue, exclusive=True)
    ch.confirm_delivery()
    published = confirmed = 0
    for i in range(args.count):
        # With confirms on, basic_publish returns once the broker acked the message.
        ch.basic_publish(exchange="", routing_key=args.queue, body=payload(i).encode())
        published += 1
        confirmed += 1
    res["published"], res["confirmed"] = published, confirmed
    ch.basic_qos(prefetch_count=100)
    received = bad = 0
    for method, _props, body in ch.consume(args.queue, auto_ack=False, inactivity_timeout=10):
        if method is None:
            break
        if body.decode() != payload(received):
            bad += 1
        received += 1
        ch.basic_ack(method.delivery_tag)
        if received == args.count:
            break
    ch.cancel()
    res["received"], res["payload_errors"] = received, bad
    conn.close()
    res["closed"] = True


def pump_until(conn, deadline, stop_on_stdin):
    while time.monotonic() < deadline:
        conn.sleep(0.05)
        if stop_on_stdin and stdin_says_stop():
            return


def watch_consume(ch, queue, on_body):
    ch.queue_declare(queue=queue, exclusive=True, auto_delete=True)
    ch.basic_consume(queue, lambda _ch, _method, _props, body: on_body(body.decode()), auto_ack=True)


def watch_publish(ch, queue, text):
    ch.basic_publish(exchange="", routing_key=queue, body=text.encode())


def main():
    ops = WatchOps(watch_consume, watch_publish, lambda conn, seconds: conn.process_data_events(time_limit=seconds))
    Client(CLIENT, connect, roundtrip, pump_until, lambda conn: conn.is_open, watch_ops=ops).main()


if __name__ == "__main__":
    main()
