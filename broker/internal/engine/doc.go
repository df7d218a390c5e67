// Package engine is beatmq's connection engine: the state machine of one
// AMQP 0-9-1 connection, from the protocol header through the handshake and
// its channels to the close, with RabbitMQ 3.10.8's timing, reply texts and
// log lines. It serves one net.Conn at a time (New, Conn.Serve) and reaches
// the rest of the broker through two small seams: Host (the server: resource
// alarm, virtual hosts, goroutine accounting, the end of a connection) and
// channel_messaging.go (the channel methods that map onto broker/vhost).
// It knows nothing of listeners, HTTP or disk.
//
// Comments name the rabbit_reader.erl function each rule comes from; the
// facts it copies are in the repository's docs/rabbitmq-observed.md and
// docs/heartbeat-semantics.md.
//
// # Connection life
//
// A connection goes through the states of ConnState: pre_init (waiting for the
// protocol header), starting (connection.start sent), tuning (tune sent),
// opening (tune-ok received: heartbeats start here, not at open), running,
// blocked (a resource alarm is on and the connection published), closed
// (connection.close or close-ok sent, waiting for the peer: T seconds if
// 0 < T < 30, else 30 s). Every end has a typed CloseReason.
//
// # Concurrency
//
// Per connection there are at most three goroutines when idle:
//
//   - the reader goroutine (Conn.serve): reads the socket through a
//     frames.Reader, runs the state machine and owns every field of conn and
//     channel not listed below: state, channels, content assembly, messaging
//     state. All hooks in channel_messaging.go run on it. It is one goroutine
//     at a time rather than one for the connection's life: after the
//     handshake, and at most every 5 s after other work, the reader about to
//     wait for input hands the loop to a new goroutine and exits, so that an
//     idle connection waits on a 2 KiB stack instead of the 8 KiB the
//     handshake grew (conn.go, errFreshStack).
//   - the heartbeat sender and receiver (heartbeat.Monitor), started at
//     tune-ok when T > 0: timers whose checks run on short-lived goroutines,
//     on a 4 ms grid shared by all connections (heartbeat.CoalesceFor) so
//     that one wake-up serves many. The sender writes heartbeat frames
//     straight to the connection's frames.Writer; the receiver calls
//     Conn.abort on a timeout, and, while the connection is blocked (the
//     receiver paused), when the peer's host stops acknowledging what is
//     sent to it (ReasonPeerUnreachable; heartbeat.Config.PeerAcks).
//
// and, only while queued frames wait, a drainer goroutine (send.go).
//
// Every frame goes through the connection's one frames.Writer (safe for
// concurrent use; each call's frames stay contiguous, so a heartbeat never
// lands inside a message). Every frame but heartbeats also goes through the
// connection's send queue, which keeps the frames of a channel in the order
// they were sent: one goroutine at a time holds the right to write. The
// reader goroutine writes its replies itself when the queue is idle (no
// goroutine, no copy); goroutines that must not block (queues delivering
// messages: channel.queueDeliver) append to the queue and, when nobody is
// writing, start a drainer that writes until the queue is empty and exits.
// An idle connection thus holds no writer goroutine and no buffer.
//
// Flushing (outbox): the last of the goroutines busy writing flushes. The
// reader goroutine counts as busy from the moment a read returns data until
// it is about to block again, and the drainer for one batch, so frames
// produced together leave in one write(2) while a lone frame is never held.
//
// Other goroutines reach the reader goroutine only through Conn.post (an
// interrupt flag, then the read deadline moved to now so that a blocking read
// returns, plus a wake-up channel for a reader that is waiting without
// reading: blocked by the alarm, or in RabbitMQ's 3-second silent delay), and
// through Conn.abort (reset the socket: missed heartbeats, a failed heartbeat
// write, the shutdown deadline), after which the reader's next read fails.
//
// # Fault injection and telemetry
//
// Conn.SetFault (fault.go) breaks a connection on purpose, one fault at a
// time, for tests and operators: the outbound kinds act in outbound, the
// io.Writer beneath the frames.Writer; the inbound kinds in readSocket,
// the reader goroutine's read; the heartbeat kinds in sendHeartbeat, the
// Monitor's SendHeartbeat. Unset, each costs one atomic pointer load.
// FaultKind's constants say how the broker's own detection treats each.
//
// Telemetry (telemetry.go) stamps every socket read and write (monotonic
// time since accept, atomics), counts heartbeat frames in and out, and keeps
// the client's heartbeat cadence under Conn.ctl.mu. The late-heartbeat
// warning runs on the heartbeat sender's checks (heartbeat.Config.Late), with
// no goroutine or timer of its own.
//
// Locks, in the order they may be taken:
//
//	broker.Server.mu → Conn.ctl.mu   (inspection, CloseConnection, SetAlarm)
//
// Conn.ctl.mu (inspection snapshot, abort and close requests), sendQueue.mu and
// the frames.Writer's mutex are leaves: nothing else is locked or called
// while one is held. No lock is held while a messaging hook runs, and
// messagingSent runs on the writer with no lock held.
package engine
