"""pika (BlockingConnection): issue 11's scenario, in two runs of this program.

--phase publish declares the durable queue and publishes --count messages
with delivery_mode=2 and publisher confirms (with confirms on, basic_publish
returns once the broker acked the message and raises if it nacked it or
returned it); --phase consume, on the restarted broker, reads the queue's
message count with a passive declare, then consumes with manual acks until
the queue stays empty for 2 s (at most --count + 50 messages), and reads the
count again. Each run prints one JSON line, {"event": "result", ...}, which
TestDurableKill9Pika checks.
"""

import argparse

import pika

from scenario_common import emit, error_fields

CLIENT = "pika"


def body(i):
    return "durq-%05d" % i


def connect(args):
    params = pika.ConnectionParameters(
        host=args.host,
        port=args.port,
        heartbeat=30,
        client_properties={"connection_name": "pika-durable-" + args.phase},
        connection_attempts=3,
        retry_delay=0.5,
        socket_timeout=10,
    )
    conn = pika.BlockingConnection(params)
    return conn, conn.channel()


def publish(args, res):
    conn, ch = connect(args)
    ch.queue_declare(queue=args.queue, durable=True)
    ch.confirm_delivery()
    res["published"] = res["confirmed"] = 0
    for i in range(args.count):
        res["published"] += 1
        ch.basic_publish(exchange="", routing_key=args.queue, body=body(i).encode(),
                         properties=pika.BasicProperties(delivery_mode=2), mandatory=True)
        res["confirmed"] += 1
    conn.close()


def consume(args, res):
    conn, ch = connect(args)
    ok = ch.queue_declare(queue=args.queue, passive=True)
    res["durable_count"] = ok.method.message_count
    ch.basic_qos(prefetch_count=50)
    bodies, redelivered, persistent = [], 0, 0
    for method, props, data in ch.consume(args.queue, auto_ack=False, inactivity_timeout=2):
        if method is None:
            break
        bodies.append(data.decode(errors="replace"))
        redelivered += 1 if method.redelivered else 0
        persistent += 1 if props.delivery_mode == 2 else 0
        ch.basic_ack(method.delivery_tag)
        if len(bodies) >= args.count + 50:
            break
    ch.cancel()
    res["bodies"] = bodies
    res["received"] = len(bodies)
    res["redelivered"] = redelivered
    res["persistent"] = persistent
    res["payload_errors"] = sum(1 for i, b in enumerate(bodies) if b != body(i))
    res["left_count"] = ch.queue_declare(queue=args.queue, passive=True).method.message_count
    conn.close()


def main():
    p = argparse.ArgumentParser(description="pika durable-queue scenario program")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--phase", required=True, choices=["publish", "consume"])
    p.add_argument("--queue", default="durq")
    p.add_argument("--count", type=int, default=100)
    args = p.parse_args()
    res = {"event": "result", "client": CLIENT, "scenario": "durable-" + args.phase}
    try:
        (publish if args.phase == "publish" else consume)(args, res)
    except Exception as exc:  # reported to the Go side, which fails the test
        res.update(error_fields(exc))
    emit(res)


if __name__ == "__main__":
    main()
