package metrics_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// The samples TestCountersMove watches, as samples() keys them.
const (
	mConns        = "rabbitmq_connections"
	mConnsOpened  = "rabbitmq_connections_opened_total"
	mConnsClosed  = "rabbitmq_connections_closed_total"
	mSockets      = "rabbitmq_process_open_tcp_sockets"
	mChannels     = "rabbitmq_channels"
	mChOpened     = "rabbitmq_channels_opened_total"
	mChClosed     = "rabbitmq_channels_closed_total"
	mConnChannels = "rabbitmq_connection_channels"
	mQueues       = "rabbitmq_queues"
	mQDeclared    = "rabbitmq_queues_declared_total"
	mQCreated     = "rabbitmq_queues_created_total"
	mQDeleted     = "rabbitmq_queues_deleted_total"
	mConsumers    = "rabbitmq_consumers"
	mChConsumers  = "rabbitmq_channel_consumers"
	mMessages     = "rabbitmq_queue_messages"
	mReady        = "rabbitmq_queue_messages_ready"
	mUnacked      = "rabbitmq_queue_messages_unacked"
	mChUnacked    = "rabbitmq_channel_messages_unacked"
	mAuth         = `rabbitmq_auth_attempts_total{protocol="amqp091"}`
	mAuthOK       = `rabbitmq_auth_attempts_succeeded_total{protocol="amqp091"}`
	mAuthFailed   = `rabbitmq_auth_attempts_failed_total{protocol="amqp091"}`

	byProto = `{protocol="amqp091"}`
	byType  = `{protocol="amqp091",queue_type="rabbit_classic_queue"}`

	mReceived    = "rabbitmq_global_messages_received_total" + byProto
	mRecvConfirm = "rabbitmq_global_messages_received_confirm_total" + byProto
	mRouted      = "rabbitmq_global_messages_routed_total" + byProto
	mDropped     = "rabbitmq_global_messages_unroutable_dropped_total" + byProto
	mReturned    = "rabbitmq_global_messages_unroutable_returned_total" + byProto
	mConfirmed   = "rabbitmq_global_messages_confirmed_total" + byProto
	mPublishers  = "rabbitmq_global_publishers" + byProto
	mGConsumers  = "rabbitmq_global_consumers" + byProto
	mDelivered   = "rabbitmq_global_messages_delivered_total" + byType
	mConsManual  = "rabbitmq_global_messages_delivered_consume_manual_ack_total" + byType
	mConsAuto    = "rabbitmq_global_messages_delivered_consume_auto_ack_total" + byType
	mGetManual   = "rabbitmq_global_messages_delivered_get_manual_ack_total" + byType
	mGetAuto     = "rabbitmq_global_messages_delivered_get_auto_ack_total" + byType
	mGetEmpty    = "rabbitmq_global_messages_get_empty_total" + byType
	mRedelivered = "rabbitmq_global_messages_redelivered_total" + byType
	mAcked       = "rabbitmq_global_messages_acknowledged_total" + byType

	byQuorum        = `{protocol="amqp091",queue_type="rabbit_quorum_queue"}`
	mQDelivered     = "rabbitmq_global_messages_delivered_total" + byQuorum
	mQGetManual     = "rabbitmq_global_messages_delivered_get_manual_ack_total" + byQuorum
	mQDeliveryLimit = `rabbitmq_global_messages_dead_lettered_delivery_limit_total{dead_letter_strategy="disabled",queue_type="rabbit_quorum_queue"}`

	dead          = `rabbitmq_global_messages_dead_lettered_%s_total{dead_letter_strategy="%s",queue_type="rabbit_classic_queue"}`
	mDeadRejected = "rejected/disabled"
	mDeadExpired  = "expired/disabled"
	mDeadMaxlen   = "maxlen/disabled"
	mDeadExpDLX   = "expired/at_most_once"
)

// deadKey is the sample of a dead-letter counter named reason/strategy.
func deadKey(short string) string {
	r, s, _ := strings.Cut(short, "/")
	return fmt.Sprintf(dead, r, s)
}

var watched = []string{
	mConns, mConnsOpened, mConnsClosed, mSockets, mChannels, mChOpened, mChClosed, mConnChannels,
	mQueues, mQDeclared, mQCreated, mQDeleted, mConsumers, mChConsumers, mMessages, mReady, mUnacked, mChUnacked,
	mAuth, mAuthOK, mAuthFailed,
	mReceived, mRecvConfirm, mRouted, mDropped, mReturned, mConfirmed, mPublishers, mGConsumers,
	mDelivered, mConsManual, mConsAuto, mGetManual, mGetAuto, mGetEmpty, mRedelivered, mAcked,
	deadKey(mDeadRejected), deadKey(mDeadExpired), deadKey(mDeadMaxlen), deadKey(mDeadExpDLX),
	mQDelivered, mQGetManual, mQDeliveryLimit,
}

// mover scrapes /metrics around each step of a scenario and checks how
// the watched samples moved.
type mover struct {
	t    *testing.T
	url  string
	last map[string]float64
}

// step waits (up to 5 s: acks and closes are asynchronous) until every
// sample in want has moved by its delta since the last step, then checks
// that no other watched sample moved.
func (m *mover) step(name string, want map[string]float64) {
	m.t.Helper()
	norm := map[string]float64{}
	for k, d := range want {
		if !strings.HasPrefix(k, "rabbitmq_") {
			k = deadKey(k)
		}
		norm[k] = d
	}
	var now map[string]float64
	var wrong []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		now = samples(scrape(m.t, m.url))
		wrong = wrong[:0]
		for _, k := range watched {
			if got := now[k] - m.last[k]; got != norm[k] {
				wrong = append(wrong, fmt.Sprintf("%s moved %+g, want %+g", k, got, norm[k]))
			}
		}
		if len(wrong) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(wrong) > 0 {
		sort.Strings(wrong)
		m.t.Errorf("%s:\n\t%s", name, strings.Join(wrong, "\n\t"))
	}
	m.last = now
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The counters move as RabbitMQ 3.10.8's did for the same scenario
// (observed on a live node with rabbitmq_prometheus, scraping /metrics
// after each step), and the gauges follow. Two gauges differ on purpose:
// rabbitmq_global_consumers and rabbitmq_global_publishers count what is
// open, where RabbitMQ 3.10.8's drift (its consumers gauge does not fall
// when a channel closes with consumers; its publishers gauge falls when a
// channel that never published closes and not when one that did does).
func TestCountersMove(t *testing.T) {
	b := runFull(t)
	m := &mover{t: t, url: b.MetricsURL() + "/metrics"}
	m.last = samples(scrape(t, m.url))

	conn, err := amqp091.Dial(b.URL())
	must(t, err)
	m.step("open connection", map[string]float64{mConns: 1, mConnsOpened: 1, mSockets: 1, mAuth: 1, mAuthOK: 1})
	ch, err := conn.Channel()
	must(t, err)
	m.step("open channel", map[string]float64{mChannels: 1, mChOpened: 1, mConnChannels: 1})

	_, err = ch.QueueDeclare("pq1", false, false, false, false, nil)
	must(t, err)
	_, err = ch.QueueDeclare("pq1", false, false, false, false, nil)
	must(t, err)
	_, err = ch.QueueDeclarePassive("pq1", false, false, false, false, nil)
	must(t, err)
	m.step("declare twice, then passively", map[string]float64{mQueues: 1, mQCreated: 1, mQDeclared: 2})

	publish := func(ch *amqp091.Channel, x, key string, mandatory bool) {
		t.Helper()
		must(t, ch.Publish(x, key, mandatory, false, amqp091.Publishing{Body: []byte("x")}))
	}
	for range 3 {
		publish(ch, "", "pq1", false)
	}
	m.step("publish 3", map[string]float64{mReceived: 3, mRouted: 3, mPublishers: 1, mMessages: 3, mReady: 3})

	must(t, ch.Confirm(false))
	confs := ch.NotifyPublish(make(chan amqp091.Confirmation, 100))
	rets := ch.NotifyReturn(make(chan amqp091.Return, 10))
	confirmed := func(n int) {
		t.Helper()
		for range n {
			select {
			case c := <-confs:
				if !c.Ack {
					t.Fatalf("publish %d nacked", c.DeliveryTag)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no confirm")
			}
		}
	}
	publish(ch, "", "pq1", false)
	publish(ch, "", "pq1", false)
	confirmed(2)
	m.step("confirm mode, publish 2", map[string]float64{mReceived: 2, mRecvConfirm: 2, mConfirmed: 2, mRouted: 2, mMessages: 2, mReady: 2})
	publish(ch, "", "nowhere", true)
	<-rets
	confirmed(1)
	m.step("mandatory, unroutable", map[string]float64{mReceived: 1, mRecvConfirm: 1, mConfirmed: 1, mReturned: 1})
	publish(ch, "", "nowhere", false)
	confirmed(1)
	m.step("not mandatory, unroutable", map[string]float64{mReceived: 1, mRecvConfirm: 1, mConfirmed: 1, mDropped: 1})

	_, err = ch.QueueDeclare("pq2", false, false, false, false, nil)
	must(t, err)
	must(t, ch.QueueBind("pq1", "k", "amq.fanout", false, nil))
	must(t, ch.QueueBind("pq2", "k", "amq.fanout", false, nil))
	m.step("declare pq2, bind both to amq.fanout", map[string]float64{mQueues: 1, mQCreated: 1, mQDeclared: 1})
	publish(ch, "amq.fanout", "k", false)
	confirmed(1)
	m.step("fanout to two queues", map[string]float64{mReceived: 1, mRecvConfirm: 1, mConfirmed: 1, mRouted: 2, mMessages: 2, mReady: 2})

	ch2, err := conn.Channel()
	must(t, err)
	must(t, ch2.Qos(10, 0, false))
	dl, err := ch2.Consume("pq1", "c1", false, false, false, false, nil)
	must(t, err)
	var last amqp091.Delivery
	for range 6 {
		last = <-dl
	}
	m.step("consume 6 with manual acks", map[string]float64{
		mChannels: 1, mChOpened: 1, mConnChannels: 1, mConsumers: 1, mChConsumers: 1, mGConsumers: 1,
		mDelivered: 6, mConsManual: 6, mReady: -6, mUnacked: 6, mChUnacked: 6,
	})
	must(t, last.Ack(true))
	m.step("ack all 6", map[string]float64{mAcked: 6, mMessages: -6, mUnacked: -6, mChUnacked: -6})

	ch3, err := conn.Channel()
	must(t, err)
	if _, ok, err := ch3.Get("pq2", true); err != nil || !ok {
		t.Fatalf("get: %v %v", ok, err)
	}
	if _, ok, err := ch3.Get("pq2", false); err != nil || ok {
		t.Fatalf("get on an empty queue: %v %v", ok, err)
	}
	m.step("get with auto-ack, then get-empty", map[string]float64{
		mChannels: 1, mChOpened: 1, mConnChannels: 1, mDelivered: 1, mGetAuto: 1, mGetEmpty: 1, mMessages: -1, mReady: -1,
	})
	publish(ch, "", "pq2", false)
	confirmed(1)
	d, _, err := ch3.Get("pq2", false)
	must(t, err)
	must(t, d.Nack(false, true))
	d, _, err = ch3.Get("pq2", false)
	must(t, err)
	if !d.Redelivered {
		t.Fatal("not redelivered")
	}
	m.step("publish 1, get, nack with requeue, get again", map[string]float64{
		mReceived: 1, mRecvConfirm: 1, mConfirmed: 1, mRouted: 1,
		mDelivered: 2, mGetManual: 2, mRedelivered: 1, mMessages: 1, mUnacked: 1, mChUnacked: 1,
	})
	must(t, d.Reject(false))
	m.step("reject without requeue, no dead-letter exchange", map[string]float64{mDeadRejected: 1, mMessages: -1, mUnacked: -1, mChUnacked: -1})

	dl2, err := ch3.Consume("pq2", "c2", true, false, false, false, nil)
	must(t, err)
	publish(ch, "", "pq2", false)
	confirmed(1)
	<-dl2
	m.step("consume with auto-ack, publish 1", map[string]float64{
		mConsumers: 1, mChConsumers: 1, mGConsumers: 1,
		mReceived: 1, mRecvConfirm: 1, mConfirmed: 1, mRouted: 1, mDelivered: 1, mConsAuto: 1,
	})
	must(t, ch3.Tx())
	publish(ch3, "", "pq2", false)
	publish(ch3, "", "nowhere", false)
	m.step("in a transaction, publish 2 (1 routable)", map[string]float64{mReceived: 2, mRecvConfirm: 2, mPublishers: 1})
	must(t, ch3.TxCommit())
	<-dl2
	m.step("commit", map[string]float64{mRouted: 1, mDropped: 1, mDelivered: 1, mConsAuto: 1})

	_, err = ch.QueueDeclare("pq3", false, false, false, false, amqp091.Table{"x-message-ttl": int32(0)})
	must(t, err)
	publish(ch, "", "pq3", false)
	confirmed(1)
	m.step("x-message-ttl 0, publish 1", map[string]float64{
		mQueues: 1, mQCreated: 1, mQDeclared: 1, mReceived: 1, mRecvConfirm: 1, mConfirmed: 1, mRouted: 1, mDeadExpired: 1,
	})
	_, err = ch.QueueDeclare("pq4", false, false, false, false, amqp091.Table{"x-max-length": int32(1)})
	must(t, err)
	publish(ch, "", "pq4", false)
	publish(ch, "", "pq4", false)
	confirmed(2)
	m.step("x-max-length 1, publish 2", map[string]float64{
		mQueues: 1, mQCreated: 1, mQDeclared: 1, mReceived: 2, mRecvConfirm: 2, mConfirmed: 2, mRouted: 2,
		mDeadMaxlen: 1, mMessages: 1, mReady: 1,
	})
	// beatmq's own step (no RabbitMQ observation): a dead-letter exchange
	// that exists makes the strategy at_most_once; the dead letter is
	// routed by the queue, not received from a publisher.
	_, err = ch.QueueDeclare("pq5", false, false, false, false, amqp091.Table{
		"x-message-ttl": int32(0), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "pq4",
	})
	must(t, err)
	publish(ch, "", "pq5", false)
	confirmed(1)
	m.step("dead-lettered to an exchange", map[string]float64{
		mQueues: 1, mQCreated: 1, mQDeclared: 1, mReceived: 1, mRecvConfirm: 1, mConfirmed: 1, mRouted: 1,
		mDeadExpDLX: 1, mDeadMaxlen: 1, // pq4 holds one: the dead letter pushes out its head
	})

	// beatmq's own step too: a quorum queue's rows, and its delivery limit.
	_, err = ch.QueueDeclare("pqq", true, false, false, false, amqp091.Table{"x-queue-type": "quorum", "x-delivery-limit": int32(0)})
	must(t, err)
	publish(ch, "", "pqq", false)
	confirmed(1)
	d, _, err = ch.Get("pqq", false)
	must(t, err)
	must(t, d.Nack(false, true))
	m.step("quorum queue, get, requeue past x-delivery-limit 0", map[string]float64{
		mQueues: 1, mQCreated: 1, mQDeclared: 1, mReceived: 1, mRecvConfirm: 1, mConfirmed: 1, mRouted: 1,
		mQDelivered: 1, mQGetManual: 1, mQDeliveryLimit: 1,
	})

	must(t, ch2.Close())
	m.step("close the consuming channel", map[string]float64{
		mChannels: -1, mChClosed: 1, mConnChannels: -1, mConsumers: -1, mChConsumers: -1, mGConsumers: -1,
	})
	for _, q := range []string{"pq3", "pq4", "pq5"} {
		_, err = ch.QueueDelete(q, false, false, false)
		must(t, err)
	}
	m.step("delete pq3, pq4, pq5", map[string]float64{mMessages: -1, mReady: -1, mQueues: -3, mQDeleted: 3})
	must(t, conn.Close())
	m.step("close the connection", map[string]float64{
		mChannels: -2, mChClosed: 2, mConnChannels: -2, mConns: -1, mConnsClosed: 1, mSockets: -1,
		mConsumers: -1, mChConsumers: -1, mGConsumers: -1, mPublishers: -2,
	})

	if _, err := amqp091.Dial(strings.Replace(b.URL(), "guest:guest", "guest:wrong", 1)); err == nil {
		t.Fatal("wrong password accepted")
	}
	m.step("failed login", map[string]float64{mAuth: 1, mAuthFailed: 1, mConnsClosed: 1})

	conn, err = amqp091.Dial(b.URL())
	must(t, err)
	ch, err = conn.Channel()
	must(t, err)
	for _, q := range []string{"pq1", "pq2", "pqq"} {
		_, err = ch.QueueDelete(q, false, false, false)
		must(t, err)
	}
	must(t, conn.Close())
	m.step("reconnect, delete pq1, pq2 and pqq, close", map[string]float64{
		mAuth: 1, mAuthOK: 1, mConnsOpened: 1, mConnsClosed: 1, mChOpened: 1, mChClosed: 1, mQueues: -3, mQDeleted: 3,
	})
}

// brokertest keeps the metrics off unless asked.
func TestMetricsOffByDefault(t *testing.T) {
	if b := brokertest.Run(t); b.MetricsURL() != "" {
		t.Fatalf("MetricsURL %q without WithPrometheus", b.MetricsURL())
	}
}
