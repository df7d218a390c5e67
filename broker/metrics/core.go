package metrics

// The node-wide groups of RabbitMQ's core collector
// (prometheus_rabbitmq_core_metrics_collector's METRICS_RAW and TOTALS),
// with its names, types and help texts.

// writeChurn writes connection_churn_metrics.
func writeChurn(o *out, _ *view, sn *snapshot) {
	st := &sn.stats
	var declared, created, deleted uint64
	for _, v := range st.VHosts {
		declared += v.QueuesDeclared
		created += v.QueuesCreated
		deleted += v.QueuesDeleted
	}
	for _, f := range []struct {
		name, help string
		v          uint64
	}{
		{"connections_opened_total", "Total number of connections opened", st.ConnectionsOpened},
		{"connections_closed_total", "Total number of connections closed or terminated", st.ConnectionsClosed},
		{"channels_opened_total", "Total number of channels opened", st.ChannelsOpened},
		{"channels_closed_total", "Total number of channels closed", st.ChannelsClosed},
		{"queues_declared_total", "Total number of queues declared", declared},
		{"queues_created_total", "Total number of queues created", created},
		{"queues_deleted_total", "Total number of queues deleted", deleted},
	} {
		o.core(f.name, f.help, counter).add(float64(f.v))
	}
}

// writeAuth writes auth_attempt_metrics: one sample per protocol, as
// RabbitMQ lists its table rows even when aggregating, and none before the
// first login attempt.
func writeAuth(o *out, _ *view, sn *snapshot) {
	ok, failed := sn.stats.AuthSucceeded, sn.stats.AuthFailed
	if ok+failed == 0 {
		return
	}
	o.core("auth_attempts_total", "Total number of authorization attempts", counter, "protocol").add(float64(ok+failed), protocol)
	o.core("auth_attempts_succeeded_total", "Total number of successful authentication attempts", counter, "protocol").add(float64(ok), protocol)
	o.core("auth_attempts_failed_total", "Total number of failed authentication attempts", counter, "protocol").add(float64(failed), protocol)
}

// writeTotals writes RabbitMQ's TOTALS: objects open now. Unprefixed by
// detailed scrapes, which do not write them.
func writeTotals(o *out, sn *snapshot) {
	conns := sn.openConns()
	channels, consumers := 0, 0
	for _, c := range conns {
		channels += c.Channels
	}
	for _, q := range sn.queues {
		consumers += q.Consumers
	}
	o.named(prefixCore+"connections", "Connections currently open", gauge).add(float64(len(conns)))
	o.named(prefixCore+"channels", "Channels currently open", gauge).add(float64(channels))
	o.named(prefixCore+"consumers", "Consumers currently connected", gauge).add(float64(consumers))
	o.named(prefixCore+"queues", "Queues available", gauge).add(float64(len(sn.queues)))
}

// protocol is the protocol label of AMQP 0-9-1, RabbitMQ's amqp091.
const protocol = "amqp091"
