package metrics

// writeCluster writes the cluster-wide groups /metrics/detailed offers
// (RabbitMQ's METRICS_CLUSTER), prefixed rabbitmq_cluster_: every virtual
// host is running; the exchanges, internal ones and the default exchange
// left out, and their bindings.
func writeCluster(o *out, v *view, src *Sources) {
	s := src.Server
	if v.has(groupVHostStatus) {
		f := o.named(prefixCluster+"vhost_status", "Whether a given vhost is running", gauge, "vhost")
		for _, name := range s.VHosts() {
			f.add(1, name)
		}
	}
	if !v.has(groupExchangeBindings) && !v.has(groupExchangeNames) {
		return
	}
	type key struct{ vhost, name string }
	bindings := map[key]int{}
	for _, b := range s.Bindings() {
		bindings[key{b.VHost, b.Source}]++
	}
	var counts, names family
	if v.has(groupExchangeBindings) {
		counts = o.named(prefixCluster+"exchange_bindings", "Number of bindings for an exchange. This value is cluster-wide.", gauge, "vhost", "exchange", "type")
	}
	if v.has(groupExchangeNames) {
		names = o.named(prefixCluster+"exchange_name", "Enumerates exchanges without any additional info. This value is cluster-wide. A cheaper alternative to `exchange_bindings`", gauge, "vhost", "exchange", "type")
	}
	for _, x := range s.Exchanges() {
		if x.Internal || x.Name == "" {
			continue
		}
		if counts.desc != nil {
			counts.add(float64(bindings[key{x.VHost, x.Name}]), x.VHost, x.Name, x.Type)
		}
		if names.desc != nil {
			names.add(1, x.VHost, x.Name, x.Type)
		}
	}
}
