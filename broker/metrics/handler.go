package metrics

import (
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultAddr is rabbitmq_prometheus's listener, loopback only as
// beatmq's other listeners are by default.
const DefaultAddr = "127.0.0.1:15692"

// detailedGroups are the groups /metrics/detailed?family= may ask for.
var detailedGroups = []string{
	groupChurn, groupNodeCoarse, groupNode, groupAuth,
	groupQueueCoarse, groupQueueConsumers, groupQueue,
	groupChannel, groupConnCoarse, groupConn,
	groupVHostStatus, groupExchangeBindings, groupExchangeNames,
}

// NewHandler serves the metrics of src at /metrics (aggregated),
// /metrics/per-object and /metrics/detailed, as rabbitmq_prometheus does;
// see the package documentation. Every scrape reads src afresh; nothing is
// collected between scrapes.
func NewHandler(src Sources) http.Handler {
	runtime := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	aggregated := registry(&collector{src: &src, v: view{
		prefix: prefixCore, totals: true, global: true, alarms: true, heartbeat: true, build: true,
	}}, runtime...)
	// RabbitMQ's per-object registry has no alarm collector.
	perObject := registry(&collector{src: &src, v: view{
		perObject: true, prefix: prefixCore, totals: true, global: true, heartbeat: true, build: true,
	}}, runtime...)
	mux := http.NewServeMux()
	mux.Handle("/metrics", getOnly(aggregated))
	mux.Handle("/metrics/{$}", getOnly(aggregated))
	mux.Handle("/metrics/per-object", getOnly(perObject))
	mux.Handle("/metrics/detailed", getOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		detailed(&src, r).ServeHTTP(w, r)
	})))
	mux.Handle("/metrics/{registry}", getOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "Unknown Registry", http.StatusNotFound)
	})))
	return mux
}

// registry serves the metrics of c and others.
func registry(c prometheus.Collector, others ...prometheus.Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	reg.MustRegister(others...)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// detailed serves /metrics/detailed: the groups named by the family query
// parameters (none without), per object, prefixed rabbitmq_detailed_ (the
// cluster-wide ones rabbitmq_cluster_), the queues of the vhost
// parameters' virtual hosts only when there are any (rabbit_prometheus_handler's
// filters).
func detailed(src *Sources, r *http.Request) http.Handler {
	q := r.URL.Query()
	v := view{perObject: true, prefix: prefixDetailed, groups: map[string]bool{}}
	for _, g := range q["family"] {
		if slices.Contains(detailedGroups, g) {
			v.groups[g] = true
		}
	}
	if vs, ok := q["vhost"]; ok {
		v.vhosts = map[string]bool{}
		for _, name := range vs {
			v.vhosts[name] = true
		}
	}
	return registry(&collector{src: src, v: v})
}

// getOnly answers methods other than GET and HEAD with 405.
func getOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}
