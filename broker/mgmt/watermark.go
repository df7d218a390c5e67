package mgmt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
)

// WatermarkPath is beatmq's own route (not part of RabbitMQ's API) for the
// memory high watermark: GET reports it, PUT {"fraction":0.4} sets it.
const WatermarkPath = "/api/beatmq/vm_memory_high_watermark"

// Watermark is the JSON body of GET and PUT on WatermarkPath. A PUT needs
// only Fraction.
type Watermark struct {
	// Fraction is the high watermark, a fraction of Total in [0, 1].
	Fraction float64 `json:"fraction"`
	// Limit, Used and Total are bytes; Alarm tells whether the memory alarm is
	// in effect. They are ignored in a PUT.
	Limit uint64 `json:"limit"`
	Used  uint64 `json:"used"`
	Total uint64 `json:"total"`
	Alarm bool   `json:"alarm"`
}

// errFraction is rabbitmqctl's message for a threshold out of range.
var errFraction = errors.New("The threshold should be a fraction between 0.0 and 1.0") // RabbitMQ's wording, capital included

// getWatermark serves GET /api/beatmq/vm_memory_high_watermark.
func (h *handler) getWatermark(w http.ResponseWriter, _ *http.Request, _ *user) {
	m := h.b.Memory()
	writeJSON(w, http.StatusOK, Watermark{Fraction: m.HighWatermark, Limit: m.Limit, Used: m.Used, Total: m.Total, Alarm: m.Alarm})
}

// putWatermark serves PUT /api/beatmq/vm_memory_high_watermark: administrators
// only, body {"fraction":F} with 0 <= F <= 1; 204 on success, 400 with the
// reason otherwise.
func (h *handler) putWatermark(w http.ResponseWriter, r *http.Request, u *user) {
	if !u.isAdmin() {
		notAuthorised(w, "Not administrator user")
		return
	}
	f, err := decodeFraction(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if err := h.b.SetMemoryHighWatermark(f); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	h.log.Info("management API: memory high watermark set", "fraction", f, "by", u.name)
	w.WriteHeader(http.StatusNoContent)
}

// decodeFraction reads {"fraction":F} and checks F.
func decodeFraction(body io.Reader) (float64, error) {
	var req struct {
		Fraction *float64 `json:"fraction"`
	}
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		return 0, fmt.Errorf("body must be a JSON object {\"fraction\": <0.0 to 1.0>}: %v", err)
	}
	if req.Fraction == nil {
		return 0, errors.New(`body must carry "fraction"`)
	}
	f := *req.Fraction
	if math.IsNaN(f) || f < 0 || f > 1 {
		return 0, errFraction
	}
	return f, nil
}
