package metrics

// writeChannel writes channel_metrics' channel_consumers and
// channel_messages_unacked. beatmq keeps no per-channel view apart from
// the vhost's sessions, so both are node-wide sums, also on
// /metrics/per-object (where RabbitMQ labels them per channel): the
// consumers of every queue, which all belong to a channel, and their
// unacknowledged messages. The prefetch, unconfirmed and uncommitted
// families are left out.
func writeChannel(o *out, v *view, sn *snapshot) {
	consumers, unacked := 0, 0
	for _, q := range sn.queues {
		if v.vhosts == nil || v.vhosts[q.VHost] {
			consumers += q.Consumers
			unacked += q.MessagesUnacknowledged
		}
	}
	o.core("channel_consumers", "Consumers on a channel", gauge).add(float64(consumers))
	o.core("channel_messages_unacked", "Delivered but not yet acknowledged messages", gauge).add(float64(unacked))
}

// connLabel is the label RabbitMQ's per-object connection families carry:
// "channel", with the connection's pid as value (the collector's label/1
// labels every pid so); beatmq's connection id has the same form.
const connLabel = "channel"

// writeConnCoarse writes connection_coarse_metrics' octet counters.
// Summed over the open connections only, as RabbitMQ sums its table, so
// the sums fall when a connection closes. connection_process_reductions_total
// is left out.
func writeConnCoarse(o *out, v *view, sn *snapshot) {
	conns := sn.openConns()
	in := o.core("connection_incoming_bytes_total", "Total number of bytes received on a connection", counter, labelsIf(v.perObject)...)
	outb := o.core("connection_outgoing_bytes_total", "Total number of bytes sent on a connection", counter, labelsIf(v.perObject)...)
	if v.perObject {
		for _, c := range conns {
			in.add(float64(c.RecvOctets), c.ID)
			outb.add(float64(c.SendOctets), c.ID)
		}
		return
	}
	var recv, sent uint64
	for _, c := range conns {
		recv += c.RecvOctets
		sent += c.SendOctets
	}
	in.add(float64(recv))
	outb.add(float64(sent))
}

// writeConn writes connection_metrics' connection_channels. The packet
// counts and connection_pending_packets are left out: beatmq counts
// octets, not the socket's packets.
func writeConn(o *out, v *view, sn *snapshot) {
	conns := sn.openConns()
	f := o.core("connection_channels", "Channels on a connection", gauge, labelsIf(v.perObject)...)
	if v.perObject {
		for _, c := range conns {
			f.add(float64(c.Channels), c.ID)
		}
		return
	}
	n := 0
	for _, c := range conns {
		n += c.Channels
	}
	f.add(float64(n))
}

// labelsIf is the connection label when perObject, else none.
func labelsIf(perObject bool) []string {
	if perObject {
		return []string{connLabel}
	}
	return nil
}
