// Package metrics serves beatmq's Prometheus metrics the way RabbitMQ
// 3.10's rabbitmq_prometheus plugin serves its own: the same endpoints,
// metric names, types, labels and help texts, so that RabbitMQ's Grafana
// dashboards and alerts read beatmq unchanged. It reads the broker's
// public views (broker.Server.Stats, Queues, Alarms) and the resource
// monitors at scrape time only; nothing is collected between scrapes.
//
// # Endpoints
//
//	GET /metrics             every family summed over its objects, unlabelled
//	                         (rabbitmq_prometheus's default), plus the
//	                         rabbitmq_global_*, rabbitmq_alarms_*, beatmq_*,
//	                         go_* and process_* families
//	GET /metrics/per-object  a sample per queue (labels vhost, queue) and per
//	                         connection (label channel, the connection's id, as
//	                         RabbitMQ labels a connection's pid); no alarms, as
//	                         RabbitMQ's per-object registry has none
//	GET /metrics/detailed    only the groups named by family= (RabbitMQ's table
//	                         names: connection_churn_metrics, queue_coarse_metrics,
//	                         queue_metrics, ...), per object, prefixed
//	                         rabbitmq_detailed_; vhost= keeps the queues of those
//	                         virtual hosts; vhost_status, exchange_names and
//	                         exchange_bindings are prefixed rabbitmq_cluster_
//	GET /metrics/{other}     404 "Unknown Registry"
//
// Every endpoint carries rabbitmq_identity_info{rabbitmq_node,
// rabbitmq_cluster}, on which RabbitMQ's dashboards join.
//
// # What is left out
//
// Families with no honest beatmq value are not written rather than written
// as zeros: the Erlang VM's (erlang_processes_used and _limit, erlang_gc_*,
// erlang_scheduler_*, erlang_net_ticktime_seconds, erlang_vm_*, erlang_mnesia_*;
// go_* and process_* say what Go's runtime and the process do), Mnesia's
// and the queue index's (schema_db_*, queue_index_*), io_* and msg_store_*,
// raft_* (no quorum queues), reductions and process memory, consumer
// capacity and utilisation, head message timestamps, disk reads and writes
// per queue, packet counts, the per-channel and per-consumer families
// (prefetch, unconfirmed, uncommitted, per-channel publish and delivery
// counters; rabbitmq_channel_consumers and _messages_unacked are written as
// node-wide sums), rabbitmq_alarms_file_descriptor_limit (beatmq has no such
// alarm), auth_attempts_detailed_*, rabbitmq_cluster_permanent_id,
// erlang_version, the rows of rabbit_stream_queue (streams are refused)
// and of at-least-once dead-lettering (refused too), with
// messages_dead_lettered_confirmed_total.
// README.md's Prometheus section lists the names that are written.
package metrics
