package mgmt

import (
	"cmp"
	"net/http"
	"slices"
)

// queueJSON is one element of GET /api/queues, with RabbitMQ's field names
// for a classic queue, and for a quorum queue its leader, members and
// online nodes. Rates and Erlang-only items are left out.
type queueJSON struct {
	Arguments              map[string]any  `json:"arguments"`
	AutoDelete             bool            `json:"auto_delete"`
	Consumers              int             `json:"consumers"`
	Durable                bool            `json:"durable"`
	Exclusive              bool            `json:"exclusive"`
	ExclusiveConsumerTag   *string         `json:"exclusive_consumer_tag"`
	Leader                 string          `json:"leader,omitempty"`
	Members                []string        `json:"members,omitempty"`
	Online                 []string        `json:"online,omitempty"`
	MessageBytes           uint64          `json:"message_bytes"`
	MessageBytesPersistent uint64          `json:"message_bytes_persistent"`
	Messages               int             `json:"messages"`
	MessagesReady          int             `json:"messages_ready"`
	MessagesPersistent     int             `json:"messages_persistent"`
	MessagesPagedOut       int             `json:"messages_paged_out"`
	MessageBytesPagedOut   uint64          `json:"message_bytes_paged_out"`
	MessagesRAM            int             `json:"messages_ram"`
	MessageBytesRAM        uint64          `json:"message_bytes_ram"`
	MessagesUnacknowledged int             `json:"messages_unacknowledged"`
	Name                   string          `json:"name"`
	Node                   string          `json:"node,omitempty"`
	OwnerPidDetails        *ownerPidDetail `json:"owner_pid_details,omitempty"`
	Policy                 *string         `json:"policy"`
	EffectivePolicy        map[string]any  `json:"effective_policy_definition"`
	OperatorPolicy         *string         `json:"operator_policy"` // beatmq has none: null
	State                  string          `json:"state"`
	Type                   string          `json:"type"`
	Vhost                  string          `json:"vhost"`
}

// ownerPidDetail names the connection owning an exclusive queue, as
// RabbitMQ's "owner_pid_details" does.
type ownerPidDetail struct {
	Name string `json:"name"`
}

// toJSON renders q as RabbitMQ does.
func (q *Queue) toJSON() queueJSON {
	j := queueJSON{
		Arguments:              jsonTable(q.Arguments),
		AutoDelete:             q.AutoDelete,
		Consumers:              q.Consumers,
		Durable:                q.Durable,
		Exclusive:              q.Exclusive,
		MessageBytes:           q.MessageBytes,
		MessageBytesPersistent: q.MessageBytesPersistent,
		MessagesPersistent:     q.MessagesPersistent,
		MessagesPagedOut:       q.MessagesPagedOut,
		MessageBytesPagedOut:   q.MessageBytesPagedOut,
		MessagesRAM:            q.MessagesReady + q.MessagesUnacknowledged - q.MessagesPagedOut,
		MessageBytesRAM:        q.MessageBytes - min(q.MessageBytesPagedOut, q.MessageBytes),
		Messages:               q.MessagesReady + q.MessagesUnacknowledged,
		MessagesReady:          q.MessagesReady,
		MessagesUnacknowledged: q.MessagesUnacknowledged,
		Name:                   q.Name,
		Node:                   q.Node,
		State:                  cmp.Or(q.State, "running"),
		Type:                   cmp.Or(q.Type, "classic"),
		Vhost:                  q.Vhost,
	}
	if j.Type == "quorum" && q.Node != "" {
		// One node holds every replica.
		j.Leader, j.Members, j.Online = q.Node, []string{q.Node}, []string{q.Node}
	}
	j.EffectivePolicy = map[string]any{}
	if q.Policy != "" {
		name := q.Policy
		j.Policy, j.EffectivePolicy = &name, q.PolicyDefinition
	}
	if q.ExclusiveConsumerTag != "" {
		tag := q.ExclusiveConsumerTag
		j.ExclusiveConsumerTag = &tag
	}
	if q.Owner != "" {
		j.OwnerPidDetails = &ownerPidDetail{Name: q.Owner}
	}
	return j
}

// getQueues serves GET /api/queues, /api/queues/ and /api/queues/{vhost}:
// the queues of the vhosts u may list (404 for an unknown vhost, 401 for one
// u holds no permission in).
func (h *handler) getQueues(w http.ResponseWriter, r *http.Request, u *user) {
	vhost := r.PathValue("vhost")
	onlyVhost := vhost != ""
	if onlyVhost && !h.vhostExists(vhost) {
		writeNotFound(w)
		return
	}
	if onlyVhost && !h.vhostAuthorised(w, u, vhost) {
		return
	}
	listed := h.listedVhosts(u)
	qs := h.b.Queues()
	out := make([]queueJSON, 0, len(qs))
	for i := range qs {
		if onlyVhost && qs[i].Vhost != vhost || !listed.has(qs[i].Vhost) {
			continue
		}
		out = append(out, qs[i].toJSON())
	}
	slices.SortFunc(out, func(a, b queueJSON) int {
		return cmp.Or(cmp.Compare(a.Vhost, b.Vhost), cmp.Compare(a.Name, b.Name))
	})
	writeJSON(w, http.StatusOK, out)
}

// getQueue serves GET /api/queues/{vhost}/{name}: 401 in a vhost u holds
// no permission in, whether the queue exists or not.
func (h *handler) getQueue(w http.ResponseWriter, r *http.Request, u *user) {
	vhost, name := r.PathValue("vhost"), r.PathValue("name")
	if !h.vhostAuthorised(w, u, vhost) {
		return
	}
	for _, q := range h.b.Queues() {
		if q.Vhost == vhost && q.Name == name {
			writeJSON(w, http.StatusOK, q.toJSON())
			return
		}
	}
	writeNotFound(w)
}
