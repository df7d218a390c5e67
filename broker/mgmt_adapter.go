package broker

import (
	"crypto/subtle"
	"net"
	"strconv"
	"time"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker/mgmt"
	"github.com/beatmq/beatmq/broker/vhost"
)

// mgmtAdapter is the Server as the management API sees it (mgmt.Broker).
type mgmtAdapter struct {
	s    *Server
	http []net.Addr
}

// NewMgmtAdapter returns s as a mgmt.Broker, for mgmt.NewHandler. httpAddrs
// are the addresses the management API listens on, listed in the overview
// next to the AMQP listeners. Every configured user may use the API as an
// administrator, as RabbitMQ's default user guest does.
func NewMgmtAdapter(s *Server, httpAddrs ...net.Addr) mgmt.Broker {
	return &mgmtAdapter{s: s, http: httpAddrs}
}

func (a *mgmtAdapter) Overview() mgmt.Overview {
	o := mgmt.Overview{ProductVersion: Version, Node: a.s.set.clusterName, StartedAt: a.s.started}
	for _, addr := range a.s.Listeners() {
		o.Listeners = append(o.Listeners, listenerOf("amqp", addr))
	}
	for _, addr := range a.http {
		o.Listeners = append(o.Listeners, listenerOf("http", addr))
	}
	return o
}

func listenerOf(protocol string, addr net.Addr) mgmt.Listener {
	host, port := splitHostPort(addr.String())
	return mgmt.Listener{Protocol: protocol, IPAddress: host, Port: port}
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
func (a *mgmtAdapter) Connections() []mgmt.Connection {
	infos := a.s.Connections()
	out := make([]mgmt.Connection, 0, len(infos))
	blocking := a.s.Blocked()
	for i := range infos {
		in := &infos[i]
		var state string
		switch {
		case in.State == StateBlocked:
			state = "blocked"
		case in.State != StateRunning:
			continue
		case blocking:
			state = "blocking"
		default:
			state = "running"
		}
		peerHost, peerPort := splitHostPort(in.Peer)
		host, port := splitHostPort(in.Local)
		out = append(out, mgmt.Connection{
			Name: in.Name, Node: a.s.set.clusterName, User: in.User, Vhost: in.VHost,
			PeerHost: peerHost, PeerPort: peerPort, Host: host, Port: port,
			State: state, AuthMechanism: in.AuthMechanism,
			ClientProperties: tableMap(in.ClientProperties),
			Timeout:          in.Heartbeat, FrameMax: in.FrameMax, ChannelMax: in.ChannelMax,
			Channels: in.Channels, ConnectedAt: in.ConnectedAt,
			RecvOct: in.RecvOctets, SendOct: in.SendOctets,
		})
	}
	return out
}

// CloseConnection closes the connection with 320 CONNECTION_FORCED (see
// Server.CloseConnection).
func (a *mgmtAdapter) CloseConnection(name, reason string) bool {
	return a.s.CloseConnection(name, reason)
}

func (a *mgmtAdapter) Queues() []mgmt.Queue {
	var out []mgmt.Queue
	for _, v := range a.s.msg.vhosts {
		for _, q := range v.Queues() {
			out = append(out, mgmt.Queue{
				Name: q.Name, Vhost: v.Name(), Node: a.s.set.clusterName,
				Durable: q.Durable, AutoDelete: q.AutoDelete, Exclusive: q.Exclusive,
				Arguments:     tableMap(q.Arguments),
				MessagesReady: q.MessagesReady, MessagesUnacknowledged: q.MessagesUnacknowledged,
				MessageBytes: uint64(max(q.MessageBytesReady, 0)), Consumers: q.Consumers,
			})
		}
	}
	return out
}

func (a *mgmtAdapter) Exchanges() []mgmt.Exchange {
	var out []mgmt.Exchange
	for _, v := range a.s.msg.vhosts {
		for _, x := range v.Exchanges() {
			out = append(out, exchangeOf(v, x))
		}
	}
	return out
}

func exchangeOf(v *vhost.VHost, x vhost.ExchangeInfo) mgmt.Exchange {
	return mgmt.Exchange{
		Name: x.Name, Vhost: v.Name(), Type: x.Type, Durable: x.Durable,
		AutoDelete: x.AutoDelete, Internal: x.Internal, Arguments: tableMap(x.Arguments),
	}
}

func (a *mgmtAdapter) Memory() mgmt.Memory {
	m := a.s.Memory()
	return mgmt.Memory{Used: m.Used, Total: m.Total, HighWatermark: m.HighWatermark, Limit: m.Limit, Alarm: m.Alarm}
}

func (a *mgmtAdapter) SetMemoryHighWatermark(fraction float64) error {
	return a.s.SetMemoryHighWatermark(fraction)
}

func (a *mgmtAdapter) Authenticate(user, pass string) ([]string, bool) {
	want, ok := a.s.set.users[user]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(pass)) != 1 {
		return nil, false
	}
	return []string{mgmt.TagAdministrator}, true
}

// tableMap converts an AMQP field table as mgmt.Connection documents: nested
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
		return mgmt.RabbitMQDecimal(x.Scale, x.Value)
	case amqp.Int64L:
		return int64(x)
	case time.Time:
		return x
	}
	return v
}
