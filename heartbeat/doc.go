// Package heartbeat implements AMQP 0-9-1 tuning and heartbeats the way
// RabbitMQ 3.10.8 does them.
//
// It has three parts, each modelled on a RabbitMQ function:
//
//   - [Negotiate] validates the frame_max and channel_max a client sends in
//     connection.tune-ok (rabbit_reader:validate_negotiated_integer_value/3)
//     and takes the heartbeat verbatim.
//   - [CountingConn] counts the octets a connection receives and sends, the
//     recv_oct and send_oct socket statistics RabbitMQ polls (rabbit_net:getstat/2).
//   - [Monitor] runs the two heartbeat loops of rabbit_heartbeat for one
//     connection: a sender that every T/2 writes a heartbeat frame if nothing
//     was sent since its last check, and a receiver that every T compares the
//     received-octet count and reports a timeout after two consecutive checks
//     without change.
//
// One addition RabbitMQ lacks: while the receiver is paused (the connection
// is blocked and its socket not read), [Config.PeerAcks] lets it go on with
// the same two-check rule applied to the peer's TCP acknowledgements
// ([CountingConn.PeerAcks] reads TCP_INFO on Linux), so that a peer whose
// host vanished is reported to [Config.OnUnreachable] within 3T instead of
// never (rabbitmq-server#384).
//
// A broker uses it like this, at connection.tune-ok:
//
//	hb, _ := heartbeat.Negotiate("heartbeat", 0, tuneOk.Heartbeat, 0) // never fails
//	m := heartbeat.Start(heartbeat.Config{
//		Interval:      time.Duration(hb) * time.Second,
//		Counters:      countingConn,
//		SendHeartbeat: writer.WriteHeartbeat,
//		OnTimeout:     func() { /* log, then countingConn.Reset() */ },
//		OnSendError:   func(err error) { /* close the connection */ },
//	})
//	...
//	countingConn.Close() // first: unblocks a heartbeat stuck on a full socket
//	m.Stop()
//
// The package writes nothing itself: heartbeat frames go out through
// Config.SendHeartbeat, the connection's single frame writer, so they never
// interleave with other frames.
//
// Nothing in it is AMQP but the frame SendHeartbeat writes: any protocol over
// a net.Conn can count its octets with CountingConn and run a Monitor with
// its own heartbeat message, as the examples do for a line protocol whose
// heartbeat is "PING\n".
package heartbeat
