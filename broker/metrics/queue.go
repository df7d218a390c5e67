package metrics

import "github.com/beatmq/beatmq/broker/vhost"

// queueFamily is one family of the queue groups: its value for one queue.
type queueFamily struct {
	name, help string
	value      func(*vhost.QueueInfo) int64
}

// The queue groups, with RabbitMQ's names and help texts. Left out, with
// no beatmq counterpart: queue_process_reductions_total,
// queue_process_memory_bytes, queue_consumer_capacity,
// queue_consumer_utilisation, queue_head_message_timestamp,
// queue_disk_reads_total, queue_disk_writes_total.
var (
	queueCoarseFamilies = []queueFamily{
		{"queue_messages_ready", "Messages ready to be delivered to consumers", func(q *vhost.QueueInfo) int64 { return int64(q.MessagesReady) }},
		{"queue_messages_unacked", "Messages delivered to consumers but not yet acknowledged", func(q *vhost.QueueInfo) int64 { return int64(q.MessagesUnacknowledged) }},
		{"queue_messages", "Sum of ready and unacknowledged messages - total queue depth", func(q *vhost.QueueInfo) int64 { return int64(q.Messages) }},
	}
	queueConsumersFamily = queueFamily{"queue_consumers", "Consumers on a queue", func(q *vhost.QueueInfo) int64 { return int64(q.Consumers) }}
	// Unacknowledged messages are always in memory; ready ones are unless
	// paged out.
	queueFamilies = []queueFamily{
		queueConsumersFamily,
		{"queue_messages_ram", "Ready and unacknowledged messages stored in memory", func(q *vhost.QueueInfo) int64 {
			return int64(q.Messages - q.MessagesPagedOut)
		}},
		{"queue_messages_ram_bytes", "Size of ready and unacknowledged messages stored in memory", func(q *vhost.QueueInfo) int64 {
			return q.MessageBytesReady - q.MessageBytesPagedOut + q.MessageBytesUnacknowledged
		}},
		{"queue_messages_ready_ram", "Ready messages stored in memory", func(q *vhost.QueueInfo) int64 { return int64(q.MessagesReady - q.MessagesPagedOut) }},
		{"queue_messages_unacked_ram", "Unacknowledged messages stored in memory", func(q *vhost.QueueInfo) int64 { return int64(q.MessagesUnacknowledged) }},
		{"queue_messages_persistent", "Persistent messages", func(q *vhost.QueueInfo) int64 { return int64(q.MessagesPersistent) }},
		{"queue_messages_persistent_bytes", "Size in bytes of persistent messages", func(q *vhost.QueueInfo) int64 { return q.MessageBytesPersistent }},
		{"queue_messages_bytes", "Size in bytes of ready and unacknowledged messages", func(q *vhost.QueueInfo) int64 {
			return q.MessageBytesReady + q.MessageBytesUnacknowledged
		}},
		{"queue_messages_ready_bytes", "Size in bytes of ready messages", func(q *vhost.QueueInfo) int64 { return q.MessageBytesReady }},
		{"queue_messages_unacked_bytes", "Size in bytes of all unacknowledged messages", func(q *vhost.QueueInfo) int64 { return q.MessageBytesUnacknowledged }},
		{"queue_messages_paged_out", "Messages paged out to disk", func(q *vhost.QueueInfo) int64 { return int64(q.MessagesPagedOut) }},
		{"queue_messages_paged_out_bytes", "Size in bytes of messages paged out to disk", func(q *vhost.QueueInfo) int64 { return q.MessageBytesPagedOut }},
	}
)

// writeQueueCoarse writes queue_coarse_metrics.
func writeQueueCoarse(o *out, v *view, sn *snapshot) { writeQueues(o, v, sn, queueCoarseFamilies) }

// writeQueueConsumers writes queue_consumer_count, the cheap subset of
// queue_metrics that /metrics/detailed offers; not with queue_metrics.
func writeQueueConsumers(o *out, v *view, sn *snapshot) {
	if !v.has(groupQueue) {
		writeQueues(o, v, sn, []queueFamily{queueConsumersFamily})
	}
}

// writeQueue writes queue_metrics.
func writeQueue(o *out, v *view, sn *snapshot) { writeQueues(o, v, sn, queueFamilies) }

// writeQueues writes fams for the queues of the view's virtual hosts: a
// sample per queue labelled vhost and queue, or one sum.
func writeQueues(o *out, v *view, sn *snapshot, fams []queueFamily) {
	for _, f := range fams {
		if v.perObject {
			fam := o.core(f.name, f.help, gauge, "vhost", "queue")
			for i := range sn.queues {
				if q := &sn.queues[i]; v.vhosts == nil || v.vhosts[q.VHost] {
					fam.add(float64(f.value(q)), q.VHost, q.Name)
				}
			}
			continue
		}
		var sum int64
		for i := range sn.queues {
			if q := &sn.queues[i]; v.vhosts == nil || v.vhosts[q.VHost] {
				sum += f.value(q)
			}
		}
		o.core(f.name, f.help, gauge).add(float64(sum))
	}
}
