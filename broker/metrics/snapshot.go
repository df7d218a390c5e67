package metrics

import (
	"cmp"
	"slices"
	"time"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/alarm"
	"github.com/beatmq/beatmq/broker/vhost"
)

// Sources are what the metrics read, at scrape time only: the broker's
// public views and its resource monitors.
type Sources struct {
	// Server is the broker.
	Server *broker.Server
	// Memory is the memory monitor; nil when none runs: the resident
	// memory is then read at each scrape and no memory limit is reported.
	Memory *alarm.MemoryMonitor
	// Disk is the free disk space monitor; nil when none runs (no data
	// directory): no disk figures are reported.
	Disk *alarm.DiskMonitor
}

// snapshot is everything one scrape reports, read once.
type snapshot struct {
	node, product string
	started       time.Time
	stats         broker.Stats
	queues        []vhost.QueueInfo
	memAlarm      bool
	diskAlarm     bool
	rss           uint64
	memLimit      uint64 // 0: no memory monitor
	disk          *alarm.DiskStatus
	fds           fdCounts
}

// take reads the sources.
func (src *Sources) take() *snapshot {
	s := src.Server
	sn := &snapshot{
		node: s.ClusterName(), product: cmp.Or(s.Config().Product, broker.Product), started: s.StartedAt(),
		stats: s.Stats(), queues: s.Queues(), fds: readFDs(),
	}
	alarms := s.Alarms()
	sn.memAlarm = slices.Contains(alarms, broker.AlarmMemory)
	sn.diskAlarm = slices.Contains(alarms, broker.AlarmDisk)
	if src.Memory != nil {
		m := src.Memory.Status()
		sn.rss, sn.memLimit = m.Used, m.Limit
	} else {
		sn.rss = alarm.ResidentMemory()
	}
	if src.Disk != nil {
		d := src.Disk.Status()
		sn.disk = &d
	}
	return sn
}

// openConns are the connections that completed connection.open and have
// not ended: RabbitMQ's connection_created table, which
// rabbitmq_connections counts.
func (sn *snapshot) openConns() []broker.ConnStats {
	var out []broker.ConnStats
	for _, c := range sn.stats.Connections {
		if c.VHost != "" && c.State != broker.StateTerminated {
			out = append(out, c)
		}
	}
	return out
}

// sockets counts the accepted connections not yet ended, in the handshake
// or not: the AMQP sockets the broker holds.
func (sn *snapshot) sockets() int {
	n := 0
	for _, c := range sn.stats.Connections {
		if c.State != broker.StateTerminated {
			n++
		}
	}
	return n
}

// messages sums the message counters of every virtual host.
func (sn *snapshot) messages() vhost.MessageStats {
	var m vhost.MessageStats
	for _, v := range sn.stats.VHosts {
		m.Add(v.Messages)
	}
	return m
}
