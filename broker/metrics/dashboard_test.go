package metrics_test

import (
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/beatmq/beatmq/broker/alarm"
	"github.com/beatmq/beatmq/broker/brokertest"
)

// runFull starts a broker with everything a stand-alone beatmq reports:
// its metrics, a data directory with the disk monitor, the memory monitor
// (a watermark it will not reach).
func runFull(t *testing.T, opts ...brokertest.Option) *brokertest.Broker {
	t.Helper()
	return brokertest.Run(t, append([]brokertest.Option{
		brokertest.WithPrometheus(),
		brokertest.WithDataDir(t.TempDir()),
		brokertest.WithDiskFreeLimit(alarm.DiskFreeLimit{Bytes: 1}),
		brokertest.WithMemoryMonitor(1),
	}, opts...)...)
}

// Every metric RabbitMQ's RabbitMQ-Overview dashboard queries is on
// /metrics, with a sample, with the type rabbitmq_prometheus gives it.
func TestOverviewDashboardMetrics(t *testing.T) {
	b := runFull(t)
	fams := scrape(t, b.MetricsURL()+"/metrics")
	for _, name := range readNames(t, "testdata/rabbitmq-overview-metrics.txt") {
		f, ok := fams[name]
		if !ok || len(f.GetMetric()) == 0 {
			t.Errorf("%s: not exposed", name)
			continue
		}
		want := dto.MetricType_GAUGE
		switch {
		case strings.HasSuffix(name, "_total"):
			want = dto.MetricType_COUNTER
		case strings.HasSuffix(name, "_info"):
			want = dto.MetricType_UNTYPED
		}
		if f.GetType() != want {
			t.Errorf("%s: type %v, want %v", name, f.GetType(), want)
		}
	}
}
