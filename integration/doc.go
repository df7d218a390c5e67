// Package integration is beatmq's cross-language interop suite. Its tests start a
// broker — the built ../bin/beatmq by default (a missing binary fails the tests),
// or a private RabbitMQ node when BEATMQ_TARGET=rabbitmq — and drive real AMQP
// 0-9-1 clients through small scenario programs in each client's own language:
// goclient/ (amqp091-go), java/ (the Java client), node/ (amqplib), python/
// (pika and py-amqp), ruby/ (Bunny), plus the amqp-tools command-line programs.
// Every program prints JSON lines that the Go side checks; a TCP relay of the
// suite's own sits between a client and the broker when a scenario needs one
// direction to go silent.
//
// Scenarios: 1 roundtrip (heartbeat 5, 1,000 confirmed messages consumed with
// manual acks), 2 negotiation (asks 0, 1, 5, 600; expected values in
// expected_test.go), 3 idle with a 1 s heartbeat, 4a broker silent (the client
// must detect it), 4b client silent (the broker must close 2T–3T after the last
// octet), 5 the broker's log lines against RabbitMQ 3.10.8's formats, 7 messaging
// features through amqp091-go (direct reply-to, CC/BCC, quorum queues), each
// observation compared with RabbitMQ 3.10.8's. The results table is printed at the
// end of the run (results_test.go).
//
// Fault matrix (beatmq only): TestFaultMatrix runs each client's "watch"
// scenario (its own exclusive queue, a message to itself every T/4 or none),
// injects a fault through the management API and records when the client
// reports the connection lost and when and why the broker closed it. By
// default three cells with assertions (half-open, reset, a brief
// freeze-out); BEATMQ_FAULT_MATRIX=path runs every cell and writes the tables
// there (`make fault-matrix`, docs/client-fault-matrix.md).
//
// TestPrometheusCounters scrapes the broker's Prometheus endpoint (beatmq's
// --prometheus-addr, RabbitMQ's rabbitmq_prometheus) around the same
// publish, confirm, consume, get, reject and dead-letter steps: the global
// counters and queue gauges must move by the same amounts on both.
//
// Durability (beatmq only: each test starts and SIGKILLs its own broker by
// pid, on a fresh --data-dir): TestCrashKill9 kills the broker at random
// moments under publishers with confirms and consumers with acks, both
// --sync modes, and checks that nothing confirmed is lost and every
// redelivery is flagged; TestCrashTornTail damages the last segment and
// checks the cut and its log line; TestDurableKill9Pika is the 100-message
// kill -9 scenario with pika.
//
// TLS (beatmq only: each test starts its own broker with --tls-addr and
// verify_peer, certificates made by the test): TestTLSPika (pika with
// ssl_options: PLAIN, EXTERNAL, EXTERNAL for an unknown user) and
// TestTLSJava (the Java client over TLS 1.2: PLAIN, EXTERNAL), both with
// --auth-mechanisms PLAIN,AMQPLAIN,EXTERNAL; TestTLSPyAMQP (py-amqp with a
// password: AMQPLAIN by default, EXTERNAL refused once listed).
//
// Browser (beatmq only: each test starts its own broker and a headless
// Chromium, driven with chromedp; a missing Chromium fails them, `make deps`
// installs it): TestBrowserPage logs in to the management web page, finds an
// amqp091-go connection in the connections table, watches its heartbeat
// timeline, mutes the broker's heartbeats from the page and sees the client
// give up and the page drop the connection, publishes and gets messages on a
// queue's page, and takes the README's screenshots; TestBrowserMarkupAsText
// checks that connection names, properties, queue names, headers and bodies
// with markup show as text and run nothing; TestBrowserCrossOrigin has a page
// of another origin post forms and send fetches to the state-changing
// endpoints while the browser is logged in, and checks from the broker that
// nothing changed. Every one fails on a console error, an uncaught exception
// or a CSP violation. TestBrowserConnectionsWeight (opt-in) measures the
// connections page with 1,000 connections open.
//
// The tests carry the integration build tag, so `go test ./...` skips them: run
// them with `make integration` (beatmq) or `make interop-rabbitmq`, or
// `go test -tags integration ./integration/` after `make build`. Environment:
//
//	BEATMQ_TARGET           beatmq (default) or rabbitmq
//	BEATMQ_BIN              the beatmq binary (default ../bin/beatmq)
//	BEATMQ_RABBITMQ_PORT    RabbitMQ's AMQP port (default: a free port)
//	BEATMQ_RABBITMQ_NODE    RabbitMQ's node name (default beatmq-interop-PID@localhost)
//	BEATMQ_INTEROP_CLIENTS  comma-separated subset: go,java,amqplib,pika,bunny,pyamqp,amqp-tools
//	BEATMQ_INTEROP_PARALLEL client programs at once in the timing scenarios (default 4)
//	BEATMQ_RESULTS_FILE     also write the results table to this file
//	BEATMQ_FAULT_MATRIX     run the full fault matrix and write its tables into this Markdown file
//	BEATMQ_KEEP             keep the temporary directory (broker log, builds)
//	BEATMQ_CHROMIUM         the Chromium binary (default /usr/bin/chromium, else chromium on PATH)
//	BEATMQ_SCREENSHOTS      write the browser tests' screenshots into this directory (`make screenshots`)
//	BEATMQ_BROWSER_WEIGHT   run TestBrowserConnectionsWeight (`make browser-weight`)
//	BEATMQ_PYTHON, BEATMQ_JAVA_CLASSPATH  override /usr/bin/python3 and the Debian jars
package integration
