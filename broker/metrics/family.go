package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// out is where one scrape's metrics go.
type out struct {
	ch     chan<- prometheus.Metric
	prefix string // of the core families: "rabbitmq_" or "rabbitmq_detailed_"
}

// family is one metric family being written.
type family struct {
	ch   chan<- prometheus.Metric
	desc *prometheus.Desc
	typ  prometheus.ValueType
}

// core starts a core family, whose name takes the scrape's prefix.
func (o *out) core(name, help string, typ prometheus.ValueType, labels ...string) family {
	return o.named(o.prefix+name, help, typ, labels...)
}

// named starts a family under its full name.
func (o *out) named(name, help string, typ prometheus.ValueType, labels ...string) family {
	return family{ch: o.ch, desc: prometheus.NewDesc(name, help, labels, nil), typ: typ}
}

// add writes one sample with the family's labels set to values. Names
// from clients (queues, virtual hosts) need not be UTF-8, which label
// values must be: invalid octets become U+FFFD.
func (f family) add(v float64, values ...string) {
	for i, s := range values {
		values[i] = strings.ToValidUTF8(s, "\uFFFD")
	}
	f.ch <- prometheus.MustNewConstMetric(f.desc, f.typ, v, values...)
}

// valueType is a family's type.
type valueType = prometheus.ValueType

// The value types, as RabbitMQ's collectors declare them.
const (
	counter = prometheus.CounterValue
	gauge   = prometheus.GaugeValue
	untyped = prometheus.UntypedValue
)
