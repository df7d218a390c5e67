package mgmt

import (
	"cmp"
	"net/http"
	"strconv"
	"time"
)

// overviewJSON is GET /api/overview with RabbitMQ's field names. Message
// rates are not collected, so rates_mode is "none" and message_stats empty.
type overviewJSON struct {
	ManagementVersion string             `json:"management_version"`
	RatesMode         string             `json:"rates_mode"`
	ExchangeTypes     []exchangeTypeJSON `json:"exchange_types"`
	ProductVersion    string             `json:"product_version"`
	ProductName       string             `json:"product_name"`
	RabbitMQVersion   string             `json:"rabbitmq_version"`
	ClusterName       string             `json:"cluster_name"`
	DisableStats      bool               `json:"disable_stats"`
	EnableQueueTotals bool               `json:"enable_queue_totals"`
	MessageStats      struct{}           `json:"message_stats"`
	QueueTotals       queueTotalsJSON    `json:"queue_totals"`
	ObjectTotals      objectTotalsJSON   `json:"object_totals"`
	Node              string             `json:"node"`
	Listeners         []listenerJSON     `json:"listeners"`
	Contexts          []contextJSON      `json:"contexts"`
	// Alarms is beatmq's own item: RabbitMQ 3.10.8's overview has none (its
	// web UI reads mem_alarm and disk_free_alarm from /api/nodes). Same
	// elements as GET /api/health/checks/alarms; [] when none.
	Alarms []alarmJSON `json:"alarms"`
}

// exchangeTypeJSON is one element of "exchange_types".
type exchangeTypeJSON struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Enabled     bool   `json:"enabled"`
}

// exchangeTypes are the exchange types beatmq implements, described as
// RabbitMQ describes them.
var exchangeTypes = []exchangeTypeJSON{
	{"direct", "AMQP direct exchange, as per the AMQP specification", true},
	{"fanout", "AMQP fanout exchange, as per the AMQP specification", true},
	{"headers", "AMQP headers exchange, as per the AMQP specification", true},
	{"topic", "AMQP topic exchange, as per the AMQP specification", true},
}

// queueTotalsJSON is "queue_totals".
type queueTotalsJSON struct {
	Messages               int `json:"messages"`
	MessagesReady          int `json:"messages_ready"`
	MessagesUnacknowledged int `json:"messages_unacknowledged"`
}

// objectTotalsJSON is "object_totals". RabbitMQ 3.10.8 counts consumers
// only for monitoring users and administrators (rabbit_mgmt_wm_overview):
// for others the item is absent.
type objectTotalsJSON struct {
	Channels    int  `json:"channels"`
	Connections int  `json:"connections"`
	Consumers   *int `json:"consumers,omitempty"`
	Exchanges   int  `json:"exchanges"`
	Queues      int  `json:"queues"`
}

// listenerJSON is one element of "listeners".
type listenerJSON struct {
	Node       string   `json:"node"`
	Protocol   string   `json:"protocol"`
	IPAddress  string   `json:"ip_address"`
	Port       int      `json:"port"`
	SocketOpts struct{} `json:"socket_opts"`
}

// contextJSON is one element of "contexts": a web listener. RabbitMQ writes
// its port as a string, and the Prometheus listener's protocol as the
// Erlang term it configured, quotes included ("'http/prometheus'").
type contextJSON struct {
	Node        string `json:"node"`
	Description string `json:"description"`
	Path        string `json:"path"`
	Port        string `json:"port"`
	IP          string `json:"ip,omitempty"`
	Protocol    string `json:"protocol,omitempty"`
}

// getOverview serves GET /api/overview. Totals count the connections and
// channels u may see; queues, exchanges and messages of every vhost for
// monitoring users and administrators, else of the vhosts u holds a
// permission in (rabbit_mgmt_wm_overview:to_json/2 with
// rabbit_mgmt_util:list_visible_vhosts/1); consumers only for the former.
func (h *handler) getOverview(w http.ResponseWriter, _ *http.Request, u *user) {
	ov := h.b.Overview()
	j := overviewJSON{
		ManagementVersion: CompatVersion,
		RatesMode:         "none",
		ExchangeTypes:     exchangeTypes,
		ProductVersion:    ov.ProductVersion,
		ProductName:       ProductName,
		RabbitMQVersion:   CompatVersion,
		ClusterName:       cmp.Or(ov.ClusterName, ov.Node),
		EnableQueueTotals: true,
		Node:              ov.Node,
		Listeners:         []listenerJSON{},
		Contexts:          []contextJSON{},
		Alarms:            h.alarms(ov.Node),
	}
	for _, c := range h.visibleConnections(u, "", false) {
		j.ObjectTotals.Connections++
		j.ObjectTotals.Channels += c.Channels
	}
	visible := h.visibleVhosts(u)
	consumers := 0
	for _, q := range h.b.Queues() {
		if !visible.has(q.Vhost) {
			continue
		}
		j.ObjectTotals.Queues++
		consumers += q.Consumers
		j.QueueTotals.MessagesReady += q.MessagesReady
		j.QueueTotals.MessagesUnacknowledged += q.MessagesUnacknowledged
	}
	j.QueueTotals.Messages = j.QueueTotals.MessagesReady + j.QueueTotals.MessagesUnacknowledged
	if u.seesAll() {
		j.ObjectTotals.Consumers = &consumers
	}
	for _, x := range h.b.Exchanges() {
		if visible.has(x.Vhost) {
			j.ObjectTotals.Exchanges++
		}
	}
	for _, l := range ov.Listeners {
		j.Listeners = append(j.Listeners, listenerJSON{Node: ov.Node, Protocol: l.Protocol, IPAddress: l.IPAddress, Port: l.Port})
		switch l.Protocol {
		case "http":
			j.Contexts = append(j.Contexts, contextJSON{
				Node: ov.Node, Description: "RabbitMQ Management", Path: "/",
				Port: strconv.Itoa(l.Port), IP: l.IPAddress,
			})
		case ProtocolPrometheus:
			j.Contexts = append(j.Contexts, contextJSON{
				Node: ov.Node, Description: "RabbitMQ Prometheus", Path: "/",
				Port: strconv.Itoa(l.Port), IP: l.IPAddress, Protocol: "'" + ProtocolPrometheus + "'",
			})
		}
	}
	writeJSON(w, http.StatusOK, j)
}

// whoamiJSON is GET /api/whoami.
type whoamiJSON struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// getWhoami serves GET /api/whoami.
func (h *handler) getWhoami(w http.ResponseWriter, _ *http.Request, u *user) {
	tags := append([]string{}, u.tags...)
	writeJSON(w, http.StatusOK, whoamiJSON{Name: u.name, Tags: tags})
}

// nodeJSON is one element of GET /api/nodes, the items beatmq can report.
type nodeJSON struct {
	Name                  string             `json:"name"`
	Type                  string             `json:"type"`
	Running               bool               `json:"running"`
	MemUsed               uint64             `json:"mem_used"`
	MemLimit              uint64             `json:"mem_limit"`
	MemAlarm              bool               `json:"mem_alarm"`
	DiskFree              uint64             `json:"disk_free"`
	DiskFreeLimit         uint64             `json:"disk_free_limit"`
	DiskFreeAlarm         bool               `json:"disk_free_alarm"`
	Uptime                int64              `json:"uptime"`
	ExchangeTypes         []exchangeTypeJSON `json:"exchange_types"`
	VMMemoryHighWatermark float64            `json:"vm_memory_high_watermark"` // beatmq's own item
	TotalMemory           uint64             `json:"total_memory"`             // beatmq's own item
	// DiskMonitored is beatmq's own item: false when no disk monitor runs
	// (no data directory), disk_free and disk_free_limit are then 0.
	DiskMonitored bool `json:"beatmq_disk_monitored"`
}

// node describes the node for GET /api/nodes.
func (h *handler) node() nodeJSON {
	ov := h.b.Overview()
	mem := h.b.Memory()
	disk := h.b.Disk()
	n := nodeJSON{
		Name:                  ov.Node,
		Type:                  "disc",
		Running:               true,
		MemUsed:               mem.Used,
		MemLimit:              mem.Limit,
		MemAlarm:              mem.Alarm,
		DiskFree:              disk.Free,
		DiskFreeLimit:         disk.Limit,
		DiskFreeAlarm:         disk.Alarm,
		ExchangeTypes:         exchangeTypes,
		VMMemoryHighWatermark: mem.HighWatermark,
		TotalMemory:           mem.Total,
		DiskMonitored:         disk.Monitored,
	}
	if !ov.StartedAt.IsZero() {
		n.Uptime = time.Since(ov.StartedAt).Milliseconds()
	}
	return n
}

// getNodes serves GET /api/nodes.
func (h *handler) getNodes(w http.ResponseWriter, _ *http.Request, _ *user) {
	writeJSON(w, http.StatusOK, []nodeJSON{h.node()})
}

// getNode serves GET /api/nodes/{node}.
func (h *handler) getNode(w http.ResponseWriter, r *http.Request, _ *user) {
	n := h.node()
	if r.PathValue("node") != n.Name {
		writeNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

// alarmJSON is one alarm in GET /api/health/checks/alarms (and beatmq's
// "alarms" in GET /api/overview).
type alarmJSON struct {
	Node     string `json:"node"`
	Resource string `json:"resource"`
}

// alarms lists the resource alarms in effect on node, named and ordered as
// RabbitMQ 3.10.8's health check listed them with both on: "disk space",
// then "memory".
func (h *handler) alarms(node string) []alarmJSON {
	out := []alarmJSON{}
	if h.b.Disk().Alarm {
		out = append(out, alarmJSON{Node: node, Resource: "disk space"})
	}
	if h.b.Memory().Alarm {
		out = append(out, alarmJSON{Node: node, Resource: "memory"})
	}
	return out
}

// getAlarms serves GET /api/health/checks/alarms: 200 {"status":"ok"}, or
// 503 with the alarms in effect, as RabbitMQ's health check does.
func (h *handler) getAlarms(w http.ResponseWriter, _ *http.Request, _ *user) {
	alarms := h.alarms(h.b.Overview().Node)
	if len(alarms) == 0 {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	writeJSON(w, http.StatusServiceUnavailable, struct {
		Status string      `json:"status"`
		Reason string      `json:"reason"`
		Alarms []alarmJSON `json:"alarms"`
	}{"failed", "There are alarms in effect in the cluster", alarms})
}
