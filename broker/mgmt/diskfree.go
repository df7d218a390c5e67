package mgmt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// DiskFreeLimitPath is beatmq's own route (not part of RabbitMQ's API) for
// the disk free limit: GET reports it, PUT {"limit":"50MB"} sets it, as
// rabbitmqctl set_disk_free_limit does.
const DiskFreeLimitPath = "/api/beatmq/disk_free_limit"

// DiskFreeLimit is the JSON body of GET and PUT on DiskFreeLimitPath. A PUT
// needs only Limit.
type DiskFreeLimit struct {
	// Limit is the limit as set: bytes ("50000000"), bytes with a unit
	// ("50MB", "2GiB") or "{mem_relative,F}".
	Limit string `json:"limit"`
	// LimitBytes, Free and Alarm report the limit in bytes, the free space
	// at the last check and whether the disk alarm is in effect. They are
	// ignored in a PUT.
	LimitBytes uint64 `json:"limit_bytes"`
	Free       uint64 `json:"free"`
	Alarm      bool   `json:"alarm"`
}

// getDiskFreeLimit serves GET /api/beatmq/disk_free_limit.
func (h *handler) getDiskFreeLimit(w http.ResponseWriter, _ *http.Request, _ *user) {
	d := h.b.Disk()
	writeJSON(w, http.StatusOK, DiskFreeLimit{Limit: d.Setting, LimitBytes: d.Limit, Free: d.Free, Alarm: d.Alarm})
}

// putDiskFreeLimit serves PUT /api/beatmq/disk_free_limit: administrators
// only, body {"limit":"50MB"}; 204 on success, 400 with the reason
// otherwise.
func (h *handler) putDiskFreeLimit(w http.ResponseWriter, r *http.Request, u *user) {
	if !u.isAdmin() {
		notAuthorised(w, "Not administrator user")
		return
	}
	limit, err := decodeLimit(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err == nil {
		err = h.b.SetDiskFreeLimit(limit)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	h.log.Info("management API: disk free limit set", "limit", limit, "by", u.name)
	w.WriteHeader(http.StatusNoContent)
}

// decodeLimit reads {"limit":"50MB"}.
func decodeLimit(body io.Reader) (string, error) {
	var req struct {
		Limit *string `json:"limit"`
	}
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		return "", fmt.Errorf("body must be a JSON object {\"limit\": \"50MB\"}: %v", err)
	}
	if req.Limit == nil || *req.Limit == "" {
		return "", errors.New(`body must carry "limit"`)
	}
	return *req.Limit, nil
}
