package metrics_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
)

// twoVHosts runs a broker with the virtual hosts "/" and "other", a queue
// holding one message in each, and one open connection; it returns the
// broker and that connection's id.
func twoVHosts(t *testing.T) (*brokertest.Broker, string) {
	t.Helper()
	cfg := broker.DefaultConfig()
	cfg.VHosts = []string{"/", "other"}
	b := brokertest.Run(t, brokertest.WithConfig(cfg), brokertest.WithPrometheus())
	for _, vh := range []string{"", "other"} {
		conn, err := amqp091.Dial(b.URL() + vh)
		must(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		ch, err := conn.Channel()
		must(t, err)
		_, err = ch.QueueDeclare("q-"+vh, false, false, false, false, nil)
		must(t, err)
		must(t, ch.Publish("", "q-"+vh, false, false, amqp091.Publishing{Body: []byte("hello")}))
		if _, _, err := ch.Get("q-"+vh, true); err != nil {
			t.Fatal(err)
		}
		must(t, ch.Publish("", "q-"+vh, false, false, amqp091.Publishing{Body: []byte("hello")}))
		// A round trip: the publish before it has been handled.
		_, err = ch.QueueDeclarePassive("q-"+vh, false, false, false, false, nil)
		must(t, err)
	}
	conns := b.Connections()
	return b, conns[0].ID
}

// /metrics sums; /metrics/per-object labels queues by vhost and queue and
// connections by their id, as RabbitMQ labels them.
func TestPerObject(t *testing.T) {
	b, id := twoVHosts(t)
	agg := samples(scrape(t, b.MetricsURL()+"/metrics"))
	per := samples(scrape(t, b.MetricsURL()+"/metrics/per-object"))
	for k, want := range map[string]float64{
		"rabbitmq_queue_messages_ready_bytes": 10,
		"rabbitmq_queues":                     2,
	} {
		if agg[k] != want {
			t.Errorf("/metrics %s = %v, want %v", k, agg[k], want)
		}
	}
	for k, want := range map[string]float64{
		`rabbitmq_queue_messages_ready{queue="q-",vhost="/"}`:                1,
		`rabbitmq_queue_messages_ready_bytes{queue="q-other",vhost="other"}`: 5,
		`rabbitmq_connection_channels{channel="` + id + `"}`:                 1,
		"rabbitmq_queues": 2,
	} {
		if got, ok := per[k]; !ok || got != want {
			t.Errorf("/metrics/per-object %s = %v (%v), want %v", k, got, ok, want)
		}
	}
	if _, ok := per["rabbitmq_queue_messages_ready"]; ok {
		t.Error("/metrics/per-object has the unlabelled sum")
	}
	if _, ok := per["rabbitmq_alarms_memory_used_watermark"]; ok {
		t.Error("/metrics/per-object has the alarms, which RabbitMQ's per-object registry does not")
	}
}

// /metrics/detailed writes only the groups asked for, prefixed, the queues
// of the vhosts asked for, and the identity; unknown registries are 404.
func TestDetailed(t *testing.T) {
	b, _ := twoVHosts(t)
	fams := scrape(t, b.MetricsURL()+"/metrics/detailed?family=queue_coarse_metrics&family=vhost_status&family=no_such_group&vhost=other")
	var names []string
	for name := range fams {
		names = append(names, name)
	}
	s := samples(fams)
	if len(fams) != 5 || s[`rabbitmq_detailed_queue_messages{queue="q-other",vhost="other"}`] != 1 ||
		s[`rabbitmq_cluster_vhost_status{vhost="/"}`] != 1 || s[`rabbitmq_cluster_vhost_status{vhost="other"}`] != 1 {
		t.Fatalf("families %v, samples %v", names, s)
	}
	if _, ok := s[`rabbitmq_detailed_queue_messages{queue="q-",vhost="/"}`]; ok {
		t.Error("vhost=other kept the queues of /")
	}
	if _, ok := fams["rabbitmq_identity_info"]; !ok {
		t.Error("no rabbitmq_identity_info")
	}
	if fams := scrape(t, b.MetricsURL()+"/metrics/detailed"); len(fams) != 1 {
		t.Errorf("/metrics/detailed without family: %d families, want the identity only", len(fams))
	}

	for _, c := range []struct {
		method, path string
		status       int
		body         string
	}{
		{http.MethodGet, "/metrics/nope", http.StatusNotFound, "Unknown Registry"},
		{http.MethodPost, "/metrics", http.StatusMethodNotAllowed, ""},
		{http.MethodGet, "/", http.StatusNotFound, ""},
	} {
		req, _ := http.NewRequest(c.method, b.MetricsURL()+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.body) {
			t.Errorf("%s %s: %s %q", c.method, c.path, resp.Status, body)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}

// The alarm families follow the server's alarms.
func TestAlarms(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithPrometheus())
	url := b.MetricsURL() + "/metrics"
	check := func(mem, disk float64) {
		t.Helper()
		s := samples(scrape(t, url))
		if s["rabbitmq_alarms_memory_used_watermark"] != mem || s["rabbitmq_alarms_free_disk_space_watermark"] != disk {
			t.Fatalf("alarms: memory %v disk %v, want %v %v", s["rabbitmq_alarms_memory_used_watermark"], s["rabbitmq_alarms_free_disk_space_watermark"], mem, disk)
		}
	}
	check(0, 0)
	b.SetAlarm(broker.AlarmMemory, true)
	check(1, 0)
	b.SetAlarm(broker.AlarmDisk, true)
	b.SetAlarm(broker.AlarmMemory, false)
	check(0, 1)
}
