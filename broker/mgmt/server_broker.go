package mgmt

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/alarm"
)

// serverBroker is a broker.Server as the management API sees it (Broker),
// built on the server's public read-only views.
type serverBroker struct {
	s    *broker.Server
	mem  *alarm.MemoryMonitor // nil: no memory monitor runs
	disk *alarm.DiskMonitor   // nil: no disk monitor runs
	http []net.Addr
	prom []net.Addr
}

// Monitors are the resource monitors whose state and settings the
// management API shows and changes; either may be nil.
type Monitors struct {
	Memory *alarm.MemoryMonitor
	Disk   *alarm.DiskMonitor
}

// ServerBroker returns s as a Broker, for NewHandler. mem is the memory
// monitor whose watermark the API reads and sets, or nil when none runs
// (the watermark endpoint then answers 400). httpAddrs are the addresses the
// management API listens on, listed in the overview next to the AMQP
// listeners. Users log in with their tags (Server.Authenticate): the
// configured ones are administrators unless their tags say otherwise.
func ServerBroker(s *broker.Server, mem *alarm.MemoryMonitor, httpAddrs ...net.Addr) Broker {
	return ServerBrokerWith(s, Monitors{Memory: mem}, httpAddrs...)
}

// ServerBrokerWith is ServerBroker with every resource monitor: the disk
// monitor's free space and limit show in GET /api/nodes, and its limit is
// set through PUT DiskFreeLimitPath.
func ServerBrokerWith(s *broker.Server, m Monitors, httpAddrs ...net.Addr) Broker {
	return NewServerBroker(s, ServerOptions{Monitors: m, HTTP: httpAddrs})
}

// ServerOptions are what the management API shows of a broker.Server
// besides the server itself.
type ServerOptions struct {
	// Monitors are the resource monitors.
	Monitors
	// HTTP are the management API's listeners; Prometheus those of the
	// Prometheus metrics (broker/metrics), listed as RabbitMQ lists
	// rabbitmq_prometheus's: protocol "http/prometheus", web context
	// "RabbitMQ Prometheus".
	HTTP, Prometheus []net.Addr
}

// NewServerBroker returns s as a Broker, for NewHandler, with what o
// adds; ServerBroker and ServerBrokerWith are shorthands for it.
func NewServerBroker(s *broker.Server, o ServerOptions) Broker {
	return &serverBroker{s: s, mem: o.Memory, disk: o.Disk, http: o.HTTP, prom: o.Prometheus}
}

// errNoMemoryMonitor answers a watermark change when no monitor runs.
var errNoMemoryMonitor = errors.New("no memory monitor runs in this broker")

// errNoDiskMonitor answers a disk free limit change when no monitor runs.
var errNoDiskMonitor = errors.New("no free disk space monitor runs in this broker (it needs a data directory)")

func (a *serverBroker) Overview() Overview {
	o := Overview{ProductVersion: broker.Version, Node: a.s.ClusterName(), StartedAt: a.s.StartedAt()}
	for _, l := range a.s.AMQPListeners() {
		o.Listeners = append(o.Listeners, listenerOf(l.Protocol, l.Addr))
	}
	for _, addr := range a.http {
		protocol := "http"
		if _, ok := addr.(HTTPSAddr); ok {
			protocol = "https"
		}
		o.Listeners = append(o.Listeners, listenerOf(protocol, addr))
	}
	for _, addr := range a.prom {
		o.Listeners = append(o.Listeners, listenerOf(ProtocolPrometheus, addr))
	}
	return o
}

func listenerOf(protocol string, addr net.Addr) Listener {
	host, port := splitHostPort(addr.String())
	return Listener{Protocol: protocol, IPAddress: host, Port: port}
}

func splitHostPort(hp string) (string, int) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return hp, 0
	}
	port, _ := strconv.Atoi(p)
	return host, port
}

// Connections lists the open connections: running or blocked. One that has
// begun to close is gone from the list at once.
func (a *serverBroker) Connections() []Connection {
	infos := a.s.Connections()
	out := make([]Connection, 0, len(infos))
	blocking := a.s.Blocked()
	for i := range infos {
		in := &infos[i]
		var state string
		switch {
		case in.State == broker.StateBlocked && in.Flow:
			state = "flow"
		case in.State == broker.StateBlocked:
			state = "blocked"
		case in.State != broker.StateRunning:
			continue
		case blocking:
			state = "blocking"
		default:
			state = "running"
		}
		peerHost, peerPort := splitHostPort(in.Peer)
		host, port := splitHostPort(in.Local)
		out = append(out, Connection{
			Name: in.Name, Node: a.s.ClusterName(), User: in.User, Vhost: in.VHost,
			PeerHost: peerHost, PeerPort: peerPort, Host: host, Port: port,
			State: state, AuthMechanism: in.AuthMechanism, SSLProtocol: sslProtocol(in.TLS.Version), PeerCertSubject: in.TLS.PeerSubject,
			ClientProperties: tableMap(in.ClientProperties),
			Timeout:          in.Heartbeat, FrameMax: in.FrameMax, ChannelMax: in.ChannelMax,
			Channels: in.Channels, ConnectedAt: in.ConnectedAt,
			RecvOct: in.RecvOctets, SendOct: in.SendOctets,
			Heartbeat: heartbeatTelemetry(in.Telemetry), Fault: faultName(in.Fault),
		})
	}
	return out
}

// CloseConnection closes the connection with 320 CONNECTION_FORCED (see
// Server.CloseConnection).
func (a *serverBroker) CloseConnection(name, reason string) bool {
	return a.s.CloseConnection(name, reason)
}

func (a *serverBroker) Queues() []Queue {
	qs := a.s.Queues()
	out := make([]Queue, 0, len(qs))
	for _, q := range qs {
		out = append(out, Queue{
			Name: q.Name, Vhost: q.VHost, Node: a.s.ClusterName(),
			Durable: q.Durable, AutoDelete: q.AutoDelete, Exclusive: q.Exclusive, Type: q.Type,
			Arguments:     tableMap(q.Arguments),
			MessagesReady: q.MessagesReady, MessagesUnacknowledged: q.MessagesUnacknowledged,
			MessageBytes: uint64(max(q.MessageBytesReady, 0)), Consumers: q.Consumers,
			MessagesPersistent: q.MessagesPersistent, MessageBytesPersistent: uint64(max(q.MessageBytesPersistent, 0)),
			MessagesPagedOut: q.MessagesPagedOut, MessageBytesPagedOut: uint64(max(q.MessageBytesPagedOut, 0)),
			Policy: q.Policy, PolicyDefinition: q.PolicyDefinition,
		})
	}
	return out
}

func (a *serverBroker) Exchanges() []Exchange {
	xs := a.s.Exchanges()
	out := make([]Exchange, 0, len(xs))
	for _, x := range xs {
		out = append(out, Exchange{
			Name: x.Name, Vhost: x.VHost, Type: x.Type, Durable: x.Durable,
			AutoDelete: x.AutoDelete, Internal: x.Internal, Arguments: tableMap(x.Arguments),
			Policy: x.Policy,
		})
	}
	return out
}

// Memory reports the memory monitor's status; all zero when none runs. The
// alarm is the server's: raised by the monitor or by anything else that
// calls SetAlarm.
func (a *serverBroker) Memory() Memory {
	var out Memory
	if a.mem != nil {
		m := a.mem.Status()
		out = Memory{Used: m.Used, Total: m.Total, HighWatermark: m.HighWatermark, Limit: m.Limit}
	}
	out.Alarm = slices.Contains(a.s.Alarms(), broker.AlarmMemory)
	return out
}

// Disk reports the disk monitor's status; Monitored false when none runs.
// The alarm is the server's, as for Memory.
func (a *serverBroker) Disk() Disk {
	var out Disk
	if a.disk != nil {
		d := a.disk.Status()
		out = Disk{Monitored: true, Free: d.Free, Limit: d.Limit, Setting: d.LimitSetting.String()}
	}
	out.Alarm = slices.Contains(a.s.Alarms(), broker.AlarmDisk)
	return out
}

func (a *serverBroker) SetDiskFreeLimit(limit string) error {
	if a.disk == nil {
		return errNoDiskMonitor
	}
	l, err := alarm.ParseDiskFreeLimit(limit)
	if err != nil {
		return err
	}
	a.disk.SetLimit(l)
	return nil
}

func (a *serverBroker) SetMemoryHighWatermark(fraction float64) error {
	if a.mem == nil {
		return errNoMemoryMonitor
	}
	return a.mem.SetHighWatermark(fraction)
}

func (a *serverBroker) Authenticate(user, pass string) ([]string, bool) {
	return a.s.Authenticate(user, pass)
}

// tableMap converts an AMQP field table as Connection documents: nested
// tables to maps, arrays to []any, decimals as RabbitMQ shows them.
func tableMap(t amqp.Table) map[string]any {
	if t == nil {
		return nil
	}
	m := make(map[string]any, len(t))
	for _, f := range t {
		m[f.Name] = fieldValue(f.Value)
	}
	return m
}

func fieldValue(v any) any {
	switch x := v.(type) {
	case amqp.Table:
		return tableMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fieldValue(e)
		}
		return out
	case amqp.Decimal:
		return RabbitMQDecimal(x.Scale, x.Value)
	case amqp.Int64L:
		return int64(x)
	case time.Time:
		return x
	}
	return v
}

// heartbeatTelemetry converts the broker's telemetry for the API.
func heartbeatTelemetry(t broker.Telemetry) HeartbeatTelemetry {
	return HeartbeatTelemetry{
		Received: t.HeartbeatsReceived, Sent: t.HeartbeatsSent,
		CadenceLast: t.LastInterval, CadenceMedian: t.MedianInterval, Interval: t.Interval,
		SilenceInMax: t.LongestInboundSilence, SilenceOutMax: t.LongestOutboundSilence,
		RecvAge: t.LastReceivedAge, SendAge: t.LastSentAge, LateWarnings: t.LateWarnings,
	}
}

// faultName is the kind of f, "" for none.
func faultName(f broker.Fault) string {
	if f.Kind == broker.FaultNone {
		return ""
	}
	return f.Kind.String()
}

// SetFault parses the kind and injects the fault (Server.SetFault).
func (a *serverBroker) SetFault(name string, f Fault) error {
	kind, err := broker.ParseFaultKind(f.Kind)
	if err != nil {
		return err
	}
	err = a.s.SetFault(name, broker.Fault{Kind: kind, For: f.For, Factor: f.Factor, Latency: f.Latency})
	if errors.Is(err, broker.ErrNoConnection) {
		return ErrNoConnection
	}
	return err
}

// ClearFault clears the fault (Server.ClearFault).
func (a *serverBroker) ClearFault(name string) error {
	if err := a.s.ClearFault(name); errors.Is(err, broker.ErrNoConnection) {
		return ErrNoConnection
	} else if err != nil {
		return err
	}
	return nil
}

// sslProtocol is a TLS version as RabbitMQ shows it (an Erlang ssl atom):
// "TLS 1.3" is "tlsv1.3".
func sslProtocol(version string) string {
	if v, ok := strings.CutPrefix(version, "TLS "); ok {
		return "tlsv" + v
	}
	return version
}

// HTTPSAddr marks, among ServerBrokerWith's addresses, one that serves the
// API over HTTPS: /api/overview lists it with protocol "https", as
// RabbitMQ lists management.ssl's listener.
type HTTPSAddr struct{ net.Addr }
