package metrics

import "github.com/prometheus/client_golang/prometheus"

// The metric groups of RabbitMQ's core collector, named after the tables
// its families are read from: /metrics/detailed?family=NAME selects them.
const (
	groupChurn          = "connection_churn_metrics"
	groupNodeCoarse     = "node_coarse_metrics"
	groupNode           = "node_metrics"
	groupAuth           = "auth_attempt_metrics"
	groupQueueCoarse    = "queue_coarse_metrics"
	groupQueueConsumers = "queue_consumer_count" // detailed only: a subset of queue_metrics
	groupQueue          = "queue_metrics"
	groupChannel        = "channel_metrics"
	groupConnCoarse     = "connection_coarse_metrics"
	groupConn           = "connection_metrics"
	// Cluster-wide groups, /metrics/detailed only, prefixed rabbitmq_cluster_.
	groupVHostStatus      = "vhost_status"
	groupExchangeBindings = "exchange_bindings"
	groupExchangeNames    = "exchange_names"
)

// The prefixes of the core families.
const (
	prefixCore     = "rabbitmq_"
	prefixDetailed = "rabbitmq_detailed_"
	prefixCluster  = "rabbitmq_cluster_"
)

// view is what one endpoint shows.
type view struct {
	// perObject writes a sample per queue and per connection, labelled as
	// RabbitMQ labels them; otherwise one sum per family, unlabelled.
	perObject bool
	// prefix is the core families' prefix.
	prefix string
	// groups are the core groups written; nil writes every group but
	// queue_consumer_count and the cluster ones.
	groups map[string]bool
	// vhosts, when not nil, keeps only the queues of those virtual hosts.
	vhosts map[string]bool
	// totals writes rabbitmq_connections, _channels, _consumers, _queues;
	// global the rabbitmq_global_* families; alarms the rabbitmq_alarms_*
	// ones; heartbeat beatmq's own; build rabbitmq_build_info (every view
	// writes rabbitmq_identity_info).
	totals, global, alarms, heartbeat, build bool
}

// has reports whether the view writes group.
func (v *view) has(group string) bool {
	if v.groups == nil {
		return group != groupQueueConsumers && group != groupVHostStatus &&
			group != groupExchangeBindings && group != groupExchangeNames
	}
	return v.groups[group]
}

// collector writes a view of the broker at every scrape. It is an
// unchecked collector (Describe sends nothing): its families follow the
// broker's state and the request.
type collector struct {
	src *Sources
	v   view
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector: one snapshot of the sources,
// then every family of the view, in RabbitMQ's collectors' order.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	sn := c.src.take()
	o := &out{ch: ch, prefix: c.v.prefix}
	v := &c.v
	writeCore(o, v, sn)
	if v.totals {
		writeTotals(o, sn)
	}
	writeCluster(o, v, c.src)
	writeIdentity(o, v, sn)
	if v.global {
		writeGlobal(o, sn)
	}
	if v.alarms {
		writeAlarms(o, sn)
	}
	if v.heartbeat {
		writeHeartbeat(o, v, sn)
	}
}

// writeCore writes the core groups the view has.
func writeCore(o *out, v *view, sn *snapshot) {
	for _, g := range []struct {
		name  string
		write func(*out, *view, *snapshot)
	}{
		{groupChurn, writeChurn},
		{groupNodeCoarse, writeNodeCoarse},
		{groupNode, writeNode},
		{groupAuth, writeAuth},
		{groupQueueCoarse, writeQueueCoarse},
		{groupQueueConsumers, writeQueueConsumers},
		{groupQueue, writeQueue},
		{groupChannel, writeChannel},
		{groupConnCoarse, writeConnCoarse},
		{groupConn, writeConn},
	} {
		if v.has(g.name) {
			g.write(o, v, sn)
		}
	}
}
