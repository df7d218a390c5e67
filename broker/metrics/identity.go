package metrics

import (
	"runtime/debug"
	"strings"
	"sync"

	"github.com/beatmq/beatmq/broker"
)

// CompatVersion is the RabbitMQ version whose rabbitmq_prometheus plugin
// these metrics follow, reported as rabbitmq_build_info's rabbitmq_version
// (as the management API reports it).
const CompatVersion = "3.10.8"

// writeIdentity writes rabbitmq_identity_info, which every endpoint
// carries so that dashboards can join on the node and cluster names, and
// rabbitmq_build_info where the view has it. identity_info has no
// rabbitmq_cluster_permanent_id (beatmq keeps no cluster id).
func writeIdentity(o *out, v *view, sn *snapshot) {
	if v.build {
		writeBuildInfo(o, sn)
	}
	o.named(prefixCore+"identity_info", "RabbitMQ node & cluster identity info", untyped,
		"rabbitmq_node", "rabbitmq_cluster").add(1, sn.node, sn.node)
}

// writeBuildInfo writes rabbitmq_build_info: the RabbitMQ version beatmq
// follows, and beatmq's as the product's and the plugin's; no
// erlang_version.
func writeBuildInfo(o *out, sn *snapshot) {
	o.named(prefixCore+"build_info", "RabbitMQ & Erlang/OTP version info", untyped,
		"rabbitmq_version", "prometheus_plugin_version", "prometheus_client_version", "product_name", "product_version").
		add(1, CompatVersion, broker.Version, clientVersion(), sn.product, broker.Version)
}

// clientVersion is the version of the Prometheus client library built in,
// without Go's "v", as RabbitMQ writes its library's ("4.9.1").
var clientVersion = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/prometheus/client_golang" {
				return strings.TrimPrefix(d.Version, "v")
			}
		}
	}
	return "unknown"
})
