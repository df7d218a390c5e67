package mgmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// FaultPath returns beatmq's own route (not part of RabbitMQ's API) for the
// fault injected into the connection called name: PUT sets it (body
// FaultBody), DELETE clears it. name is escaped as one path segment.
func FaultPath(name string) string {
	return "/api/beatmq/connections/" + url.PathEscape(name) + "/fault"
}

// ErrNoConnection is what Broker.SetFault and Broker.ClearFault return (or
// wrap) for a connection that does not exist; the API answers 404.
var ErrNoConnection = errors.New("no such connection")

// Fault is a fault to inject, as the API received it; the broker checks it.
type Fault struct {
	// Kind is the fault's name: mute-heartbeats, slow-heartbeats,
	// freeze-out, freeze-in, half-open, latency or reset.
	Kind string
	// For is how long until it clears itself (0: until cleared).
	For time.Duration
	// Factor (slow-heartbeats): heartbeats every Factor·T/2.
	Factor float64
	// Latency (latency): delay on outbound frames.
	Latency time.Duration
}

// FaultBody is the JSON body of PUT on FaultPath:
//
//	{"kind":"slow-heartbeats","for":"30s","factor":3}
//	{"kind":"latency","latency":"250ms"}
//
// Durations are Go duration strings ("1m30s", "250ms") or numbers of seconds.
// Unknown fields are refused.
type FaultBody struct {
	Kind    string   `json:"kind"`
	For     Duration `json:"for,omitempty"`
	Factor  float64  `json:"factor,omitempty"`
	Latency Duration `json:"latency,omitempty"`
}

// Duration is a time.Duration that JSON carries as a Go duration string or
// a number of seconds.
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			if f, ferr := strconv.ParseFloat(s, 64); ferr == nil {
				*d = Duration(f * float64(time.Second))
				return nil
			}
			return err
		}
		*d = Duration(v)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("want a duration such as \"5s\" or a number of seconds, not %s", b)
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// putFault serves PUT /api/beatmq/connections/{name}/fault: administrators
// only; 204 once the fault is in force, 400 for a bad body or fault (the
// reason lists the valid kinds for an unknown kind), 404 for an unknown
// connection. A refused request changes nothing.
func (h *handler) putFault(w http.ResponseWriter, r *http.Request, u *user) {
	if !u.isAdmin() {
		notAuthorised(w, "Not administrator user")
		return
	}
	name := r.PathValue("name")
	f, err := decodeFault(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if err := h.b.SetFault(name, f); err != nil {
		if errors.Is(err, ErrNoConnection) {
			writeNotFound(w)
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	h.log.Info("management API: fault injected", "connection", name, "fault", f.Kind, "by", u.name)
	w.WriteHeader(http.StatusNoContent)
}

// deleteFault serves DELETE /api/beatmq/connections/{name}/fault:
// administrators only; 204 (whether or not a fault was in force), 404 for
// an unknown connection.
func (h *handler) deleteFault(w http.ResponseWriter, r *http.Request, u *user) {
	if !u.isAdmin() {
		notAuthorised(w, "Not administrator user")
		return
	}
	name := r.PathValue("name")
	if err := h.b.ClearFault(name); err != nil {
		if errors.Is(err, ErrNoConnection) {
			writeNotFound(w)
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	h.log.Info("management API: fault cleared", "connection", name, "by", u.name)
	w.WriteHeader(http.StatusNoContent)
}

// decodeFault reads a FaultBody.
func decodeFault(body io.Reader) (Fault, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return Fault{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var req FaultBody
	if err := dec.Decode(&req); err != nil {
		return Fault{}, fmt.Errorf(`body must be a JSON object {"kind": "...", "for": "5s", "factor": 2, "latency": "100ms"}: %v`, err)
	}
	if req.Kind == "" {
		return Fault{}, errors.New(`body must carry "kind"`)
	}
	return Fault{Kind: req.Kind, For: time.Duration(req.For), Factor: req.Factor, Latency: time.Duration(req.Latency)}, nil
}
