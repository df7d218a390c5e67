package mgmt

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/beatmq/beatmq/broker/mgmt/webui"
)

// CompatVersion is the RabbitMQ version whose management API this package
// mirrors. It is reported as "management_version" and "rabbitmq_version" in
// GET /api/overview, next to beatmq's own "product_name" and
// "product_version", the way RabbitMQ reports a renamed product.
const CompatVersion = "3.10.8"

// ProductName is reported as "product_name" in GET /api/overview.
const ProductName = "beatmq"

// DefaultCloseReason is the reply text RabbitMQ uses, after
// "CONNECTION_FORCED - ", when DELETE /api/connections/{name} carries no
// X-Reason header.
const DefaultCloseReason = "Closed via management plugin"

// maxBodyBytes bounds request bodies; the only body accepted is a small JSON
// object.
const maxBodyBytes = 64 << 10

// handler serves the management API for one Broker.
type handler struct {
	b      Broker
	log    *slog.Logger
	routes []route
	ui     http.Handler // the web page at "/" (package webui)
}

// NewHandler returns the management API for b, and the web page built on it
// at "/" (package webui). logger receives one debug line per request, the
// forced closes at info level and refused cross-origin requests as
// warnings; nil discards them.
//
// Non-safe requests that a browser sends from another origin are refused
// with 403 (see refuseCrossOrigin).
//
// Mount it at the root of its own listener (RabbitMQ's is 127.0.0.1:15672 by
// default), e.g.
//
//	srv := &http.Server{Addr: addr, Handler: mgmt.NewHandler(b, logger), ReadHeaderTimeout: 10 * time.Second}
func NewHandler(b Broker, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{b: b, log: logger, ui: webui.Handler()}
	h.register()
	return refuseCrossOrigin(h, logger)
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.log.Debug("management API request", "method", r.Method, "path", r.URL.EscapedPath(), "remote", r.RemoteAddr)
	if webui.Serves(r.URL.Path) {
		h.ui.ServeHTTP(w, r)
		return
	}
	for i := range h.routes {
		if h.routes[i].match(r) {
			h.routes[i].serve(w, r)
			return
		}
	}
	// Everything else: RabbitMQ's 404 body, without asking for credentials.
	writeNotFound(w)
}

// register registers every endpoint; see the package documentation. The
// first route that matches a path serves it.
func (h *handler) register() {
	get := func(f authedFunc) endpoint { return endpoint{http.MethodGet: f} }

	h.handle("/api/overview", get(h.getOverview))
	h.handle("/api/whoami", get(h.getWhoami))
	h.handle("/api/nodes", get(h.getNodes))
	h.handle("/api/nodes/{node}", get(h.getNode))
	h.handle("/api/health/checks/alarms", get(h.getAlarms))
	h.handle("/api/vhosts", get(h.getVhosts))
	h.handle("/api/vhosts/{vhost}", endpoint{
		http.MethodGet:    h.getVhost,
		http.MethodPut:    h.putVhost,
		http.MethodDelete: h.deleteVhost,
	})
	h.handle("/api/users", get(h.getUsers))
	h.handle("/api/users/{name}", endpoint{
		http.MethodGet:    h.getUser,
		http.MethodPut:    h.putUser,
		http.MethodDelete: h.deleteUser,
	})
	h.handle("/api/users/{name}/permissions", get(h.permissionsWhere(func(r *http.Request, p Permission) bool {
		return p.User == r.PathValue("name")
	}, false)))
	h.handle("/api/vhosts/{vhost}/permissions", get(h.permissionsWhere(func(r *http.Request, p Permission) bool {
		return p.Vhost == r.PathValue("vhost")
	}, false)))
	h.handle("/api/permissions", get(h.permissionsWhere(func(*http.Request, Permission) bool { return true }, false)))
	h.handle("/api/permissions/{vhost}/{user}", endpoint{
		http.MethodGet: h.permissionsWhere(func(r *http.Request, p Permission) bool {
			return p.Vhost == r.PathValue("vhost") && p.User == r.PathValue("user")
		}, true),
		http.MethodPut:    h.putPermission,
		http.MethodDelete: h.deletePermission,
	})

	h.handle("/api/policies", get(h.getPolicies))
	h.handle("/api/policies/{vhost}", get(h.getPolicies))
	h.handle("/api/policies/{vhost}/{name}", endpoint{
		http.MethodGet:    h.getPolicy,
		http.MethodPut:    h.putPolicy,
		http.MethodDelete: h.deletePolicy,
	})
	h.handle("/api/definitions", endpoint{http.MethodGet: h.getDefinitions, http.MethodPost: h.postDefinitions})
	h.handle("/api/definitions/{vhost}", endpoint{http.MethodGet: h.getDefinitions, http.MethodPost: h.postDefinitions})

	h.handle("/api/connections", get(h.getConnections))
	h.handle("/api/connections/", get(h.getConnections))
	h.handle("/api/vhosts/{vhost}/connections", get(h.getVhostConnections))
	h.handle("/api/connections/{name}", endpoint{
		http.MethodGet:    h.getConnection,
		http.MethodDelete: h.deleteConnection,
	})

	h.handle("/api/channels", get(h.getChannels))
	h.handle("/api/channels/{name}", get(h.getChannel))
	h.handle("/api/vhosts/{vhost}/channels", get(h.getVhostChannels))
	h.handle("/api/connections/{name}/channels", get(h.getConnectionChannels))

	h.handle("/api/queues", get(h.getQueues))
	h.handle("/api/queues/", get(h.getQueues))
	h.handle("/api/queues/{vhost}", get(h.getQueues))
	h.handle("/api/queues/{vhost}/{name}", endpoint{
		http.MethodGet:    h.getQueue,
		http.MethodPut:    h.putQueue,
		http.MethodDelete: h.deleteQueue,
	})
	h.handle("/api/queues/{vhost}/{name}/contents", endpoint{http.MethodDelete: h.purgeQueue})
	h.handle("/api/queues/{vhost}/{name}/bindings", get(h.getQueueBindings))
	h.handle("/api/queues/{vhost}/{name}/get", endpoint{http.MethodPost: h.getMessages})

	h.handle("/api/exchanges", get(h.getExchanges))
	h.handle("/api/exchanges/", get(h.getExchanges))
	h.handle("/api/exchanges/{vhost}", get(h.getExchanges))
	h.handle("/api/exchanges/{vhost}/{name}", endpoint{
		http.MethodGet:    h.getExchange,
		http.MethodPut:    h.putExchange,
		http.MethodDelete: h.deleteExchange,
	})
	h.handle("/api/exchanges/{vhost}/{name}/bindings/source", get(h.getExchangeBindings(true)))
	h.handle("/api/exchanges/{vhost}/{name}/bindings/destination", get(h.getExchangeBindings(false)))
	h.handle("/api/bindings", get(h.getBindings))
	h.handle("/api/bindings/{vhost}", get(h.getBindings))
	h.handle("/api/exchanges/{vhost}/{name}/publish", endpoint{http.MethodPost: h.publishExchange})

	h.handle("/api/beatmq/vm_memory_high_watermark", endpoint{
		http.MethodGet: h.getWatermark,
		http.MethodPut: h.putWatermark,
	})
	h.handle(DiskFreeLimitPath, endpoint{
		http.MethodGet: h.getDiskFreeLimit,
		http.MethodPut: h.putDiskFreeLimit,
	})
	h.handle("/api/beatmq/connections/{name}/fault", endpoint{
		http.MethodPut:    h.putFault,
		http.MethodDelete: h.deleteFault,
	})
}

// authedFunc serves a request whose user has been authenticated.
type authedFunc func(w http.ResponseWriter, r *http.Request, u *user)

// endpoint maps HTTP methods to the functions serving them on one path.
type endpoint map[string]authedFunc

// handle registers e on pattern (see route): other methods get 405 with an
// Allow header, HEAD is served as GET, and every request is authenticated
// before e runs, in the order RabbitMQ's webmachine resources check them.
func (h *handler) handle(pattern string, e endpoint) {
	allowed := make([]string, 0, len(e)+1)
	for m := range e {
		allowed = append(allowed, m)
	}
	if _, ok := e[http.MethodGet]; ok {
		allowed = append(allowed, http.MethodHead)
	}
	slices.Sort(allowed)
	allow := strings.Join(allowed, ", ")

	h.routes = append(h.routes, newRoute(pattern, func(w http.ResponseWriter, r *http.Request) {
		f, ok := e[r.Method]
		if !ok && r.Method == http.MethodHead {
			f, ok = e[http.MethodGet]
		}
		if !ok {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Method Not Allowed")
			return
		}
		u, ok := h.authenticate(w, r)
		if !ok {
			return
		}
		f(w, r, u)
	}))
}

// errorBody is RabbitMQ's JSON error body.
type errorBody struct {
	Error  string `json:"error"`
	Reason string `json:"reason"`
}

// writeError writes a RabbitMQ-style error body with status.
func writeError(w http.ResponseWriter, status int, errName, reason string) {
	writeJSON(w, status, errorBody{Error: errName, Reason: reason})
}

// writeNotFound writes RabbitMQ's 404 body.
func writeNotFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "Object Not Found", "Not Found")
}

// writeJSON encodes v and writes it with status; an encoding failure becomes
// a 500 with the error as reason.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		status = http.StatusInternalServerError
		_ = enc.Encode(errorBody{Error: "internal_server_error", Reason: err.Error()})
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Vary", "accept, accept-encoding, origin")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
