package mgmt

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
)

// channelJSON is one element of GET /api/channels, with RabbitMQ 3.10.8's
// field names; rates and Erlang-only items are left out. The
// consumer_details, deliveries and publishes of GET /api/channels/{name}
// are left out of the list, as in RabbitMQ.
type channelJSON struct {
	AcksUncommitted        int               `json:"acks_uncommitted"`
	Confirm                bool              `json:"confirm"`
	ConnectionDetails      connectionDetails `json:"connection_details"`
	ConsumerCount          int               `json:"consumer_count"`
	ConsumerDetails        *[]consumerJSON   `json:"consumer_details,omitempty"`
	Deliveries             *[]any            `json:"deliveries,omitempty"`
	GlobalPrefetchCount    int               `json:"global_prefetch_count"`
	MessageStats           *channelStatsJSON `json:"message_stats,omitempty"`
	MessagesUnacknowledged int               `json:"messages_unacknowledged"`
	MessagesUncommitted    int               `json:"messages_uncommitted"`
	MessagesUnconfirmed    int               `json:"messages_unconfirmed"`
	Name                   string            `json:"name"`
	Node                   string            `json:"node,omitempty"`
	Number                 uint16            `json:"number"`
	PendingRaftCommands    int               `json:"pending_raft_commands"`
	PrefetchCount          int               `json:"prefetch_count"`
	Publishes              *[]any            `json:"publishes,omitempty"`
	State                  string            `json:"state"`
	Transactional          bool              `json:"transactional"`
	User                   string            `json:"user"`
	UserWhoPerformedAction string            `json:"user_who_performed_action"`
	Vhost                  string            `json:"vhost"`
}

// connectionDetails names a channel's connection.
type connectionDetails struct {
	Name     string `json:"name"`
	PeerHost string `json:"peer_host"`
	PeerPort int    `json:"peer_port"`
}

// channelStatsJSON is a channel's message_stats: each side's counters
// appear once the channel has used that side, as RabbitMQ's metrics
// tables get their rows (publish, or deliver and get).
type channelStatsJSON struct {
	Publish          *uint64 `json:"publish,omitempty"`
	Confirm          *uint64 `json:"confirm,omitempty"`
	ReturnUnroutable *uint64 `json:"return_unroutable,omitempty"`
	DropUnroutable   *uint64 `json:"drop_unroutable,omitempty"`
	Ack              *uint64 `json:"ack,omitempty"`
	Deliver          *uint64 `json:"deliver,omitempty"`
	DeliverGet       *uint64 `json:"deliver_get,omitempty"`
	DeliverNoAck     *uint64 `json:"deliver_no_ack,omitempty"`
	Get              *uint64 `json:"get,omitempty"`
	GetEmpty         *uint64 `json:"get_empty,omitempty"`
	GetNoAck         *uint64 `json:"get_no_ack,omitempty"`
	Redeliver        *uint64 `json:"redeliver,omitempty"`
}

// consumerJSON is one element of a channel's consumer_details.
type consumerJSON struct {
	Arguments      map[string]any `json:"arguments"`
	AckRequired    bool           `json:"ack_required"`
	Active         bool           `json:"active"`
	ActivityStatus string         `json:"activity_status"`
	ChannelDetails map[string]any `json:"channel_details"`
	ConsumerTag    string         `json:"consumer_tag"`
	Exclusive      bool           `json:"exclusive"`
	PrefetchCount  int            `json:"prefetch_count"`
	Queue          queueRef       `json:"queue"`
}

// queueRef names a queue.
type queueRef struct {
	Name  string `json:"name"`
	Vhost string `json:"vhost"`
}

// Name is RabbitMQ's name of the channel: "<connection name> (<number>)".
func (c *Channel) Name() string {
	return c.Connection + " (" + strconv.Itoa(int(c.Number)) + ")"
}

// toJSON renders c as RabbitMQ does; detail adds consumer_details,
// deliveries and publishes, as GET /api/channels/{name} has them.
func (c *Channel) toJSON(detail bool) channelJSON {
	j := channelJSON{
		AcksUncommitted:        c.AcksUncommitted,
		Confirm:                c.Confirm,
		ConnectionDetails:      connectionDetails{Name: c.Connection, PeerHost: c.PeerHost, PeerPort: c.PeerPort},
		ConsumerCount:          len(c.Consumers),
		GlobalPrefetchCount:    c.GlobalPrefetchCount,
		MessagesUnacknowledged: c.Unacked,
		MessagesUncommitted:    c.Uncommitted,
		MessagesUnconfirmed:    c.Unconfirmed,
		Name:                   c.Name(),
		Node:                   c.Node,
		Number:                 c.Number,
		PrefetchCount:          c.PrefetchCount,
		State:                  cmp.Or(c.State, "running"),
		Transactional:          c.Transactional,
		User:                   c.User,
		UserWhoPerformedAction: c.User,
		Vhost:                  c.Vhost,
		MessageStats:           c.Stats.toJSON(),
	}
	if detail {
		consumers := make([]consumerJSON, 0, len(c.Consumers))
		for _, k := range c.Consumers {
			consumers = append(consumers, consumerJSON{
				Arguments: jsonTable(k.Arguments), AckRequired: k.AckRequired, Active: true, ActivityStatus: "up",
				ChannelDetails: map[string]any{
					"connection_name": c.Connection, "name": c.Name(), "node": c.Node, "number": c.Number,
					"peer_host": c.PeerHost, "peer_port": c.PeerPort, "user": c.User,
				},
				ConsumerTag: k.Tag, Exclusive: k.Exclusive, PrefetchCount: k.Prefetch,
				Queue: queueRef{Name: k.Queue, Vhost: c.Vhost},
			})
		}
		none, none2 := []any{}, []any{}
		j.ConsumerDetails, j.Deliveries, j.Publishes = &consumers, &none, &none2
	}
	return j
}

// toJSON renders s; nil when the channel has neither published nor
// delivered.
func (s *ChannelStats) toJSON() *channelStatsJSON {
	var j channelStatsJSON
	used := false
	if s.Publish+s.Confirm+s.ReturnUnroutable+s.DropUnroutable > 0 {
		j.Publish, j.Confirm, j.ReturnUnroutable, j.DropUnroutable = &s.Publish, &s.Confirm, &s.ReturnUnroutable, &s.DropUnroutable
		used = true
	}
	deliverGet := s.Deliver + s.DeliverNoAck + s.Get + s.GetNoAck
	if deliverGet+s.GetEmpty+s.Ack > 0 {
		j.Ack, j.Deliver, j.DeliverGet, j.DeliverNoAck = &s.Ack, &s.Deliver, &deliverGet, &s.DeliverNoAck
		j.Get, j.GetEmpty, j.GetNoAck, j.Redeliver = &s.Get, &s.GetEmpty, &s.GetNoAck, &s.Redeliver
		used = true
	}
	if !used {
		return nil
	}
	return &j
}

// visibleChannels returns the channels u may see (all for administrators
// and monitoring users, else those of u's own connections) that keep
// keeps, sorted by vhost then name.
func (h *handler) visibleChannels(u *user, keep func(*Channel) bool) []channelJSON {
	chs := h.b.Channels()
	out := make([]channelJSON, 0, len(chs))
	for i := range chs {
		c := &chs[i]
		if (u.seesAll() || c.User == u.name) && keep(c) {
			out = append(out, c.toJSON(false))
		}
	}
	slices.SortFunc(out, func(a, b channelJSON) int {
		return cmp.Or(cmp.Compare(a.Vhost, b.Vhost), cmp.Compare(a.ConnectionDetails.Name, b.ConnectionDetails.Name),
			cmp.Compare(a.Number, b.Number))
	})
	return out
}

// getChannels serves GET /api/channels, whole or a page of them
// (writeList).
func (h *handler) getChannels(w http.ResponseWriter, r *http.Request, u *user) {
	writeList(w, r, h.visibleChannels(u, func(*Channel) bool { return true }), func(c *channelJSON) string { return c.Name })
}

// getVhostChannels serves GET /api/vhosts/{vhost}/channels (404 for an
// unknown vhost, 401 for one the user may not see).
func (h *handler) getVhostChannels(w http.ResponseWriter, r *http.Request, u *user) {
	vhost := r.PathValue("vhost")
	if !h.vhostExists(vhost) {
		writeNotFound(w)
		return
	}
	if !h.vhostAuthorised(w, u, vhost) {
		return
	}
	writeJSON(w, http.StatusOK, h.visibleChannels(u, func(c *Channel) bool { return c.Vhost == vhost }))
}

// getConnectionChannels serves GET /api/connections/{name}/channels.
// RabbitMQ 3.10.8 answers 500 with no body for an unknown connection and
// 401 "User not authorised to access object" for another user's, unless
// the user may see every connection.
func (h *handler) getConnectionChannels(w http.ResponseWriter, r *http.Request, u *user) {
	name := r.PathValue("name")
	i := slices.IndexFunc(h.b.Connections(), func(c Connection) bool { return c.Name == name })
	if i < 0 {
		writeEmpty500(w)
		return
	}
	if c := h.b.Connections(); !u.seesAll() && !slices.ContainsFunc(c, func(c Connection) bool { return c.Name == name && c.User == u.name }) {
		notAuthorised(w, "User not authorised to access object")
		return
	}
	writeJSON(w, http.StatusOK, h.visibleChannels(u, func(c *Channel) bool { return c.Connection == name }))
}

// getChannel serves GET /api/channels/{name}: 404 for an unknown channel,
// 401 "User not authorised to access object" for another user's, unless
// the user may see every connection.
func (h *handler) getChannel(w http.ResponseWriter, r *http.Request, u *user) {
	name := r.PathValue("name")
	for _, c := range h.b.Channels() {
		if c.Name() != name {
			continue
		}
		if !u.seesAll() && c.User != u.name {
			notAuthorised(w, "User not authorised to access object")
			return
		}
		writeJSON(w, http.StatusOK, c.toJSON(true))
		return
	}
	writeNotFound(w)
}
