package mgmt

import (
	"errors"
	"io"
	"net/http"
	"strings"
)

// ErrBadDefinitions wraps a definitions document a DefinitionsBroker
// refuses: the handler answers 400 with the error's text as reason.
var ErrBadDefinitions = errors.New("bad definitions")

// DefinitionsBroker is a Broker that exports and imports definitions in
// RabbitMQ 3.10's JSON format (GET and POST /api/definitions); the API
// answers 404 on those paths for a Broker without it.
type DefinitionsBroker interface {
	// ExportDefinitions returns the node's document, or with vhost set
	// that vhost's; ErrNotFound when there is no such vhost.
	ExportDefinitions(vhost string) ([]byte, error)
	// ImportDefinitions applies a document, whole or not at all (a refused
	// one wraps ErrBadDefinitions); with vhost set, into that vhost
	// (ErrNotFound when there is none).
	ImportDefinitions(doc []byte, vhost string) error
}

// maxDefinitionsBytes bounds POST /api/definitions' body (RabbitMQ's
// management.http.max_body_size is 20 MB by default).
const maxDefinitionsBytes = 20 << 20

// getDefinitions serves GET /api/definitions and /api/definitions/{vhost}
// (administrators). ?download=NAME asks the browser to save it under
// NAME, as RabbitMQ's page does.
func (h *handler) getDefinitions(w http.ResponseWriter, r *http.Request, u *user) {
	if !requireAdmin(w, u) {
		return
	}
	db, ok := h.b.(DefinitionsBroker)
	if !ok {
		writeNotFound(w)
		return
	}
	doc, err := db.ExportDefinitions(r.PathValue("vhost"))
	if errors.Is(err, ErrNotFound) {
		writeNotFound(w)
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal_server_error", err.Error())
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-cache")
	if name := r.URL.Query().Get("download"); name != "" {
		name = strings.NewReplacer(`"`, "", "\r", "", "\n", "").Replace(name)
		hdr.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
}

// postDefinitions serves POST /api/definitions and
// /api/definitions/{vhost} (administrators): 204 once applied, 400
// {"error":"bad_request","reason":…} for a document refused as a whole.
func (h *handler) postDefinitions(w http.ResponseWriter, r *http.Request, u *user) {
	if !requireAdmin(w, u) {
		return
	}
	db, ok := h.b.(DefinitionsBroker)
	if !ok {
		writeNotFound(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDefinitionsBytes))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "cannot read the body: "+err.Error())
		return
	}
	err = db.ImportDefinitions(body, r.PathValue("vhost"))
	switch {
	case err == nil:
		h.log.Info("management API: definitions imported", "by", u.name, "vhost", r.PathValue("vhost"))
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, ErrNotFound):
		writeNotFound(w)
	case errors.Is(err, ErrBadDefinitions):
		writeError(w, http.StatusBadRequest, "bad_request", strings.TrimPrefix(err.Error(), ErrBadDefinitions.Error()+": "))
	default:
		writeError(w, http.StatusInternalServerError, "internal_server_error", err.Error())
	}
}
