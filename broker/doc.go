// Package broker is beatmq's AMQP 0-9-1 server: listeners, configuration,
// shutdown, the resource alarms (SetAlarm: memory and disk, independent),
// and read-only views of what it holds (Connections, Queues, Exchanges,
// Bindings, VHosts) that the management API, brokertest and operators use.
// It behaves like RabbitMQ 3.10.8 on the wire and in its logs; the facts it
// copies are in the repository's docs/rabbitmq-observed.md and
// docs/heartbeat-semantics.md.
//
//	srv, err := broker.New(broker.DefaultConfig())
//	...
//	go srv.ListenAndServe()
//	...
//	srv.Shutdown(ctx)
//
// Each accepted connection is run by the connection engine
// (broker/internal/engine): protocol header, handshake, channels, close.
// ServeConn serves one connection accepted elsewhere, any net.Conn, so that
// tests can run a connection over net.Pipe under testing/synctest. The
// messaging model lives in broker/vhost; admin sits on top and imports this
// package, never the reverse: broker/mgmt (the HTTP management API) and
// broker/alarm (the memory and disk monitors that call SetAlarm).
//
// For tests, broker/brokertest starts a Server on a random port.
//
// Locks: Server.mu is taken before any connection's own lock (see
// broker/internal/engine's doc) and never while a connection's hook runs.
package broker
