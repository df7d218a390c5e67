package metrics

import "time"

// writeNodeCoarse writes node_coarse_metrics: descriptors, sockets, memory
// and disk in use. RabbitMQ's erlang_processes_used, erlang_gc_* and
// erlang_scheduler_context_switches_total have no honest Go counterpart
// and are left out (the go_* families say what Go's runtime does).
func writeNodeCoarse(o *out, _ *view, sn *snapshot) {
	if sn.fds.open >= 0 {
		o.core("process_open_fds", "Open file descriptors", gauge).add(float64(sn.fds.open))
	}
	o.core("process_open_tcp_sockets", "Open TCP sockets", gauge).add(float64(sn.sockets()))
	o.core("process_resident_memory_bytes", "Memory used in bytes", gauge).add(float64(sn.rss))
	if sn.disk != nil {
		o.core("disk_space_available_bytes", "Disk space available in bytes", gauge).add(float64(sn.disk.Free))
	}
}

// writeNode writes node_metrics: the limits and the uptime.
// erlang_processes_limit, erlang_scheduler_run_queue and
// erlang_net_ticktime_seconds are left out (no Erlang VM, no
// distribution).
func writeNode(o *out, _ *view, sn *snapshot) {
	if sn.fds.max >= 0 {
		o.core("process_max_fds", "Open file descriptors limit", gauge).add(float64(sn.fds.max))
		// beatmq keeps no socket limit of its own (RabbitMQ's file handle
		// cache does): a socket can take any descriptor the rest of the
		// process does not hold.
		limit := sn.fds.max
		if sn.fds.open >= 0 {
			limit -= max(sn.fds.open-int64(sn.sockets()), 0)
		}
		o.core("process_max_tcp_sockets", "Open TCP sockets limit", gauge).add(float64(max(limit, 0)))
	}
	if sn.memLimit > 0 {
		o.core("resident_memory_limit_bytes", "Memory high watermark in bytes", gauge).add(float64(sn.memLimit))
	}
	if sn.disk != nil {
		o.core("disk_space_available_limit_bytes", "Free disk space low watermark in bytes", gauge).add(float64(sn.disk.Limit))
	}
	// The node's uptime: the broker's, under RabbitMQ's name for it.
	o.core("erlang_uptime_seconds", "Node uptime", gauge).add(time.Since(sn.started).Seconds())
}
