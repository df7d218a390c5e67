//go:build integration

package integration

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	amqp "github.com/rabbitmq/amqp091-go"
)

// The samples TestPrometheusCounters watches: what its own steps move.
// Connection and channel churn are left out, since other tests' connections
// may still be closing; so are rabbitmq_global_publishers and _consumers,
// whose RabbitMQ 3.10.8 values drift (beatmq's TestCountersMove covers
// all of them against the values observed on RabbitMQ).
var promWatched = []string{
	"rabbitmq_queues", "rabbitmq_queues_declared_total", "rabbitmq_queues_created_total", "rabbitmq_queues_deleted_total",
	"rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_unacked", "rabbitmq_consumers",
	promProto("received"), promProto("received_confirm"), promProto("routed"), promProto("unroutable_dropped"),
	promProto("unroutable_returned"), promProto("confirmed"),
	promType("delivered"), promType("delivered_consume_manual_ack"), promType("delivered_consume_auto_ack"),
	promType("delivered_get_manual_ack"), promType("delivered_get_auto_ack"), promType("get_empty"),
	promType("redelivered"), promType("acknowledged"),
	promDead("rejected"), promDead("expired"), promDead("maxlen"),
}

func promProto(name string) string {
	return `rabbitmq_global_messages_` + name + `_total{protocol="amqp091"}`
}

func promType(name string) string {
	return `rabbitmq_global_messages_` + name + `_total{protocol="amqp091",queue_type="rabbit_classic_queue"}`
}

func promDead(reason string) string {
	return `rabbitmq_global_messages_dead_lettered_` + reason + `_total{dead_letter_strategy="disabled",queue_type="rabbit_classic_queue"}`
}

// promScrape reads the target's /metrics as "name{labels sorted}" → value.
func promScrape(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+`="`+l.GetValue()+`"`)
			}
			sort.Strings(ls)
			key := name
			if len(ls) > 0 {
				key += "{" + strings.Join(ls, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Untyped != nil:
				out[key] = m.GetUntyped().GetValue()
			}
		}
	}
	return out, nil
}

// TestPrometheusCounters runs the same steps against beatmq and RabbitMQ
// (make interop-rabbitmq), scraping the Prometheus endpoint after each:
// the global counters and the queue gauges must move by the same amounts
// on both. RabbitMQ refreshes its queue gauges every 5 s
// (collect_statistics_interval), so each step waits up to 15 s.
func TestPrometheusCounters(t *testing.T) {
	b := broker(t)
	url := b.MetricsURL()
	var last map[string]float64
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if last, err = promScrape(url); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("%s: %v", url, err)
		}
	}
	step := func(name string, want map[string]float64) {
		t.Helper()
		var now map[string]float64
		var wrong []string
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if now, err = promScrape(url); err != nil {
				t.Fatal(err)
			}
			wrong = wrong[:0]
			for _, k := range promWatched {
				if got := now[k] - last[k]; got != want[k] {
					wrong = append(wrong, fmt.Sprintf("%s moved %+g, want %+g", k, got, want[k]))
				}
			}
			if len(wrong) == 0 || time.Now().After(deadline) {
				break
			}
		}
		if len(wrong) > 0 {
			t.Errorf("%s on %s:\n\t%s", name, b.Kind(), strings.Join(wrong, "\n\t"))
		}
		last = now
	}
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	conn, err := amqp.Dial("amqp://guest:guest@" + b.Addr() + "/")
	check(err)
	defer conn.Close()
	ch, err := conn.Channel()
	check(err)
	q := fmt.Sprintf("prom-%d", time.Now().UnixNano())
	_, err = ch.QueueDeclare(q, false, false, false, false, nil)
	check(err)
	_, err = ch.QueueDeclare(q, false, false, false, false, nil)
	check(err)
	_, err = ch.QueueDeclarePassive(q, false, false, false, false, nil)
	check(err)
	step("declare twice, then passively", map[string]float64{
		"rabbitmq_queues": 1, "rabbitmq_queues_declared_total": 2, "rabbitmq_queues_created_total": 1,
	})
	publish := func(key string, mandatory bool) {
		t.Helper()
		check(ch.Publish("", key, mandatory, false, amqp.Publishing{Body: []byte("x")}))
	}
	for range 3 {
		publish(q, false)
	}
	step("publish 3", map[string]float64{promProto("received"): 3, promProto("routed"): 3, "rabbitmq_queue_messages_ready": 3})

	check(ch.Confirm(false))
	confs := ch.NotifyPublish(make(chan amqp.Confirmation, 10))
	rets := ch.NotifyReturn(make(chan amqp.Return, 1))
	publish(q, false)
	publish(q, false)
	<-confs
	<-confs
	step("confirm mode, publish 2", map[string]float64{
		promProto("received"): 2, promProto("received_confirm"): 2, promProto("confirmed"): 2, promProto("routed"): 2,
		"rabbitmq_queue_messages_ready": 2,
	})
	publish(q+"-nowhere", true)
	<-rets
	<-confs
	publish(q+"-nowhere", false)
	<-confs
	step("unroutable, mandatory then not", map[string]float64{
		promProto("received"): 2, promProto("received_confirm"): 2, promProto("confirmed"): 2,
		promProto("unroutable_returned"): 1, promProto("unroutable_dropped"): 1,
	})

	ch2, err := conn.Channel()
	check(err)
	check(ch2.Qos(10, 0, false))
	dl, err := ch2.Consume(q, "", false, false, false, false, nil)
	check(err)
	var d amqp.Delivery
	for range 5 {
		d = <-dl
	}
	step("consume 5 with manual acks", map[string]float64{
		promType("delivered"): 5, promType("delivered_consume_manual_ack"): 5,
		"rabbitmq_queue_messages_ready": -5, "rabbitmq_queue_messages_unacked": 5, "rabbitmq_consumers": 1,
	})
	check(d.Ack(true))
	check(ch2.Close())
	step("ack all, close the channel", map[string]float64{
		promType("acknowledged"): 5, "rabbitmq_queue_messages_unacked": -5, "rabbitmq_consumers": -1,
	})

	publish(q, false)
	<-confs
	ch3, err := conn.Channel()
	check(err)
	d, _, err = ch3.Get(q, false)
	check(err)
	check(d.Nack(false, true))
	d, _, err = ch3.Get(q, false)
	check(err)
	check(d.Reject(false))
	_, ok, err := ch3.Get(q, true)
	check(err)
	if ok {
		t.Fatal("the queue is not empty")
	}
	step("get, nack with requeue, get, reject, get-empty", map[string]float64{
		promProto("received"): 1, promProto("received_confirm"): 1, promProto("confirmed"): 1, promProto("routed"): 1,
		promType("delivered"): 2, promType("delivered_get_manual_ack"): 2, promType("redelivered"): 1,
		promType("get_empty"): 1, promDead("rejected"): 1,
	})

	ttl, maxlen := q+"-ttl", q+"-maxlen"
	_, err = ch.QueueDeclare(ttl, false, false, false, false, amqp.Table{"x-message-ttl": int32(0)})
	check(err)
	_, err = ch.QueueDeclare(maxlen, false, false, false, false, amqp.Table{"x-max-length": int32(1)})
	check(err)
	publish(ttl, false)
	publish(maxlen, false)
	publish(maxlen, false)
	for range 3 {
		<-confs
	}
	step("x-message-ttl 0 and x-max-length 1", map[string]float64{
		"rabbitmq_queues": 2, "rabbitmq_queues_declared_total": 2, "rabbitmq_queues_created_total": 2,
		promProto("received"): 3, promProto("received_confirm"): 3, promProto("confirmed"): 3, promProto("routed"): 3,
		promDead("expired"): 1, promDead("maxlen"): 1, "rabbitmq_queue_messages_ready": 1,
	})
	for _, name := range []string{q, ttl, maxlen} {
		_, err = ch.QueueDelete(name, false, false, false)
		check(err)
	}
	step("delete the three queues", map[string]float64{
		"rabbitmq_queues": -3, "rabbitmq_queues_deleted_total": 3, "rabbitmq_queue_messages_ready": -1,
	})
}
