package metrics

import "github.com/beatmq/beatmq/broker/vhost"

// The rabbitmq_global_* families (prometheus_rabbitmq_global_metrics_collector
// over rabbit_global_counters): counters labelled by protocol, and, for
// what happens in queues, by queue type. beatmq has classic and quorum
// queues (streams are refused), so it writes their rows and not
// rabbit_stream_queue's.

// queueTypes are the queue_type label values, by vhost.QueueType.
var queueTypes = [vhost.NumQueueTypes]string{
	vhost.ClassicQueue: "rabbit_classic_queue",
	vhost.QuorumQueue:  "rabbit_quorum_queue",
}

// writeGlobal writes the rabbitmq_global_* families.
func writeGlobal(o *out, sn *snapshot) {
	m := sn.messages()
	byProtocol := func(name, help string, typ valueType, v float64) {
		o.named("rabbitmq_global_"+name, help, typ, "protocol").add(v, protocol)
	}
	byQueueType := func(name, help string, v func(*vhost.QueueMessageStats) uint64) {
		f := o.named("rabbitmq_global_"+name, help, counter, "protocol", "queue_type")
		for t := range m.ByQueueType {
			f.add(float64(v(&m.ByQueueType[t])), protocol, queueTypes[t])
		}
	}
	consumers, publishers := 0, 0
	for _, q := range sn.queues {
		consumers += q.Consumers
	}
	var dead vhost.DeadLetterStats
	for _, v := range sn.stats.VHosts {
		publishers += v.Publishers
		for t := range dead {
			for r := range dead[t] {
				for s := range dead[t][r] {
					dead[t][r][s] += v.DeadLettered[t][r][s]
				}
			}
		}
	}

	// rabbit_global_counters' PROTOCOL_COUNTERS.
	byProtocol("messages_received_total", "Total number of messages received from publishers", counter, float64(m.Received))
	byProtocol("messages_received_confirm_total", "Total number of messages received from publishers expecting confirmations", counter, float64(m.ReceivedConfirm))
	byProtocol("messages_routed_total", "Total number of messages routed to queues or streams", counter, float64(m.Routed))
	byProtocol("messages_unroutable_dropped_total", "Total number of messages published as non-mandatory into an exchange and dropped as unroutable", counter, float64(m.UnroutableDropped))
	byProtocol("messages_unroutable_returned_total", "Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable", counter, float64(m.UnroutableReturned))
	byProtocol("messages_confirmed_total", "Total number of messages confirmed to publishers", counter, float64(m.Confirmed))
	// The two gauges hold what they say: RabbitMQ 3.10.8's drift (its
	// consumers gauge falls only on basic.cancel, its publishers gauge
	// falls when a channel that never published closes).
	byProtocol("publishers", "Current number of publishers", gauge, float64(publishers))
	byProtocol("consumers", "Current number of consumers", gauge, float64(consumers))

	// PROTOCOL_QUEUE_TYPE_COUNTERS.
	byQueueType("messages_delivered_total", "Total number of messages delivered to consumers",
		func(q *vhost.QueueMessageStats) uint64 { return q.Delivered() })
	byQueueType("messages_delivered_consume_manual_ack_total", "Total number of messages delivered to consumers using basic.consume with manual acknowledgment",
		func(q *vhost.QueueMessageStats) uint64 { return q.DeliveredConsumeManualAck })
	byQueueType("messages_delivered_consume_auto_ack_total", "Total number of messages delivered to consumers using basic.consume with automatic acknowledgment",
		func(q *vhost.QueueMessageStats) uint64 { return q.DeliveredConsumeAutoAck })
	byQueueType("messages_delivered_get_manual_ack_total", "Total number of messages delivered to consumers using basic.get with manual acknowledgment",
		func(q *vhost.QueueMessageStats) uint64 { return q.DeliveredGetManualAck })
	byQueueType("messages_delivered_get_auto_ack_total", "Total number of messages delivered to consumers using basic.get with automatic acknowledgment",
		func(q *vhost.QueueMessageStats) uint64 { return q.DeliveredGetAutoAck })
	byQueueType("messages_get_empty_total", "Total number of times basic.get operations fetched no message",
		func(q *vhost.QueueMessageStats) uint64 { return q.GetEmpty })
	byQueueType("messages_redelivered_total", "Total number of messages redelivered to consumers",
		func(q *vhost.QueueMessageStats) uint64 { return q.Redelivered })
	byQueueType("messages_acknowledged_total", "Total number of messages acknowledged by consumers",
		func(q *vhost.QueueMessageStats) uint64 { return q.Acknowledged })

	writeDeadLetters(o, &dead)
}

// writeDeadLetters writes MESSAGES_DEAD_LETTERED_COUNTERS and the maxlen
// and delivery-limit ones, with the rows RabbitMQ writes for the queue
// types and strategies beatmq has: classic queues without delivery_limit,
// no at_least_once (refused).
func writeDeadLetters(o *out, dead *vhost.DeadLetterStats) {
	strategies := [vhost.NumDeadStrategies]string{vhost.DeadAtMostOnce: "at_most_once", vhost.DeadDisabled: "disabled"}
	for _, f := range []struct {
		name, help string
		reason     vhost.DeadLetterReason
	}{
		{"messages_dead_lettered_expired_total", "Total number of messages dead-lettered due to message TTL exceeded", vhost.DeadExpired},
		{"messages_dead_lettered_rejected_total", "Total number of messages dead-lettered due to basic.reject or basic.nack", vhost.DeadRejected},
		{"messages_dead_lettered_maxlen_total", "Total number of messages dead-lettered due to overflow drop-head or reject-publish-dlx", vhost.DeadMaxlen},
		{"messages_dead_lettered_delivery_limit_total", "Total number of messages dead-lettered due to delivery-limit exceeded", vhost.DeadDeliveryLimit},
	} {
		fam := o.named("rabbitmq_global_"+f.name, f.help, counter, "queue_type", "dead_letter_strategy")
		for t := range dead {
			if f.reason == vhost.DeadDeliveryLimit && vhost.QueueType(t) != vhost.QuorumQueue {
				continue
			}
			for _, s := range []vhost.DeadLetterStrategy{vhost.DeadAtMostOnce, vhost.DeadDisabled} {
				fam.add(float64(dead[t][f.reason][s]), queueTypes[t], strategies[s])
			}
		}
	}
}
