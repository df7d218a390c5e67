package mgmt

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"time"
)

// connectionJSON is one element of GET /api/connections, with RabbitMQ's
// field names (rabbit_mgmt_format:format_connection_created/1 and the
// connection's info items). Rates and Erlang-only items are left out.
type connectionJSON struct {
	AuthMechanism          string         `json:"auth_mechanism"`
	ChannelMax             uint16         `json:"channel_max"`
	Channels               int            `json:"channels"`
	ClientProperties       map[string]any `json:"client_properties"`
	ConnectedAt            int64          `json:"connected_at"`
	FrameMax               uint32         `json:"frame_max"`
	Host                   string         `json:"host"`
	Name                   string         `json:"name"`
	Node                   string         `json:"node,omitempty"`
	PeerCertIssuer         *string        `json:"peer_cert_issuer"`
	PeerCertSubject        *string        `json:"peer_cert_subject"`
	PeerCertValidity       *string        `json:"peer_cert_validity"`
	PeerHost               string         `json:"peer_host"`
	PeerPort               int            `json:"peer_port"`
	Port                   int            `json:"port"`
	Protocol               string         `json:"protocol"`
	RecvCnt                uint64         `json:"recv_cnt"`
	RecvOct                uint64         `json:"recv_oct"`
	SendCnt                uint64         `json:"send_cnt"`
	SendOct                uint64         `json:"send_oct"`
	SendPend               int            `json:"send_pend"`
	SSL                    bool           `json:"ssl"`
	SSLCipher              *string        `json:"ssl_cipher"`
	SSLHash                *string        `json:"ssl_hash"`
	SSLKeyExchange         *string        `json:"ssl_key_exchange"`
	SSLProtocol            *string        `json:"ssl_protocol"`
	State                  string         `json:"state"`
	Timeout                uint16         `json:"timeout"`
	Type                   string         `json:"type"`
	User                   string         `json:"user"`
	UserProvidedName       *string        `json:"user_provided_name,omitempty"`
	UserWhoPerformedAction string         `json:"user_who_performed_action"`
	Vhost                  string         `json:"vhost"`

	// beatmq's own fields (RabbitMQ's above are untouched).
	HeartbeatReceived      uint64   `json:"beatmq_heartbeat_received"`
	HeartbeatSent          uint64   `json:"beatmq_heartbeat_sent"`
	HeartbeatCadenceLast   float64  `json:"beatmq_heartbeat_cadence_last_s"`
	HeartbeatCadenceMedian float64  `json:"beatmq_heartbeat_cadence_median_s"`
	HeartbeatSilenceInMax  *float64 `json:"beatmq_heartbeat_silence_in_max_t"`
	HeartbeatSilenceOutMax *float64 `json:"beatmq_heartbeat_silence_out_max_t"`
	HeartbeatRecvAge       float64  `json:"beatmq_heartbeat_recv_age_s"`
	HeartbeatSendAge       float64  `json:"beatmq_heartbeat_send_age_s"`
	HeartbeatLateWarnings  uint64   `json:"beatmq_heartbeat_late_warnings"`
	Fault                  *string  `json:"beatmq_fault"`
}

// inT is d in units of t (null when there is no heartbeat), to 3 decimals.
func inT(d, t time.Duration) *float64 {
	if t <= 0 {
		return nil
	}
	v := math.Round(float64(d)/float64(t)*1000) / 1000
	return &v
}

// seconds is d in seconds, to the millisecond.
func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }

// toJSON renders c as RabbitMQ does.
func (c *Connection) toJSON() connectionJSON {
	j := connectionJSON{
		AuthMechanism:          c.AuthMechanism,
		ChannelMax:             c.ChannelMax,
		Channels:               c.Channels,
		ClientProperties:       jsonTable(c.ClientProperties),
		FrameMax:               c.FrameMax,
		Host:                   c.Host,
		Name:                   c.Name,
		Node:                   c.Node,
		PeerHost:               c.PeerHost,
		PeerPort:               c.PeerPort,
		Port:                   c.Port,
		Protocol:               cmp.Or(c.Protocol, "AMQP 0-9-1"),
		RecvCnt:                c.RecvCnt,
		RecvOct:                c.RecvOct,
		SendCnt:                c.SendCnt,
		SendOct:                c.SendOct,
		State:                  cmp.Or(c.State, "running"),
		Timeout:                c.Timeout,
		Type:                   "network",
		User:                   c.User,
		UserWhoPerformedAction: c.User,
		Vhost:                  c.Vhost,
	}
	if !c.ConnectedAt.IsZero() {
		j.ConnectedAt = c.ConnectedAt.UnixMilli()
	}
	if c.SSLProtocol != "" {
		j.SSL, j.SSLProtocol = true, &c.SSLProtocol
	}
	if c.PeerCertSubject != "" {
		j.PeerCertSubject = &c.PeerCertSubject
	}
	hb := &c.Heartbeat
	j.HeartbeatReceived, j.HeartbeatSent, j.HeartbeatLateWarnings = hb.Received, hb.Sent, hb.LateWarnings
	j.HeartbeatCadenceLast, j.HeartbeatCadenceMedian = seconds(hb.CadenceLast), seconds(hb.CadenceMedian)
	j.HeartbeatSilenceInMax, j.HeartbeatSilenceOutMax = inT(hb.SilenceInMax, hb.Interval), inT(hb.SilenceOutMax, hb.Interval)
	j.HeartbeatRecvAge, j.HeartbeatSendAge = seconds(hb.RecvAge), seconds(hb.SendAge)
	if c.Fault != "" {
		j.Fault = &c.Fault
	}
	// RabbitMQ shows the client-provided connection_name separately.
	if name, ok := c.ClientProperties["connection_name"].(string); ok {
		j.UserProvidedName = &name
	}
	return j
}

// visibleConnections returns the open connections u may see, sorted by
// vhost and name, optionally only those of vhost (when onlyVhost).
func (h *handler) visibleConnections(u *user, vhost string, onlyVhost bool) []connectionJSON {
	conns := h.b.Connections()
	out := make([]connectionJSON, 0, len(conns))
	for i := range conns {
		c := &conns[i]
		if !u.seesAll() && c.User != u.name {
			continue
		}
		if onlyVhost && c.Vhost != vhost {
			continue
		}
		out = append(out, c.toJSON())
	}
	slices.SortFunc(out, func(a, b connectionJSON) int {
		return cmp.Or(cmp.Compare(a.Vhost, b.Vhost), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// getConnections serves GET /api/connections and /api/connections/, whole
// or a page of them (writeList).
func (h *handler) getConnections(w http.ResponseWriter, r *http.Request, u *user) {
	writeList(w, r, h.visibleConnections(u, "", false), func(c *connectionJSON) string { return c.Name })
}

// getVhostConnections serves GET /api/vhosts/{vhost}/connections (404 for
// an unknown vhost, 401 for one u holds no permission in, monitoring users
// included).
func (h *handler) getVhostConnections(w http.ResponseWriter, r *http.Request, u *user) {
	vhost := r.PathValue("vhost")
	if !h.vhostExists(vhost) {
		writeNotFound(w)
		return
	}
	if !h.vhostAuthorised(w, u, vhost) {
		return
	}
	writeJSON(w, http.StatusOK, h.visibleConnections(u, vhost, true))
}

// findConnection returns the open connection called name if u may see it.
func (h *handler) findConnection(u *user, name string) (*Connection, bool) {
	conns := h.b.Connections()
	for i := range conns {
		c := &conns[i]
		if c.Name == name && (u.seesAll() || c.User == u.name) {
			return c, true
		}
	}
	return nil, false
}

// getConnection serves GET /api/connections/{name}.
func (h *handler) getConnection(w http.ResponseWriter, r *http.Request, u *user) {
	c, ok := h.findConnection(u, r.PathValue("name"))
	if !ok {
		writeNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, c.toJSON())
}

// deleteConnection serves DELETE /api/connections/{name}: the broker closes
// the connection with 320 CONNECTION_FORCED and the X-Reason header (or
// DefaultCloseReason) as reply text. Administrators may close any
// connection, other users their own. 204 on success, 404 when there is no
// such open connection.
func (h *handler) deleteConnection(w http.ResponseWriter, r *http.Request, u *user) {
	name := r.PathValue("name")
	c, ok := h.findConnection(u, name)
	if !ok {
		writeNotFound(w)
		return
	}
	if !u.isAdmin() && c.User != u.name {
		notAuthorised(w, "Not administrator user")
		return
	}
	reason := r.Header.Get("X-Reason")
	if reason == "" {
		reason = DefaultCloseReason
	}
	if !h.b.CloseConnection(name, reason) {
		// Closed by someone else between the lookup and now.
		writeNotFound(w)
		return
	}
	h.log.Info("management API: closing connection", "connection", name, "reason", reason, "by", u.name)
	w.WriteHeader(http.StatusNoContent)
}
