package mgmt_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/beatmq/beatmq/broker/mgmt"
)

func TestWatermark(t *testing.T) {
	srv, b := newServer(t)
	b.SetUsedMemory(1 << 20)
	b.AddUser("mon", "pw", mgmt.TagMonitoring)
	path := mgmt.WatermarkPath

	read := func() mgmt.Watermark {
		t.Helper()
		var w mgmt.Watermark
		decode(t, get(t, srv, path), &w)
		return w
	}
	if w := read(); w.Fraction != 0.4 || w.Alarm || w.Total != 1<<30 || w.Used != 1<<20 {
		t.Fatalf("initial watermark = %+v", w)
	}

	// What beatmqctl set_vm_memory_high_watermark 0.0001 and then 0.4 send.
	r := do(t, srv, http.MethodPut, path, "guest", "guest", nil, `{"fraction":0.0001}`)
	wantStatus(t, r, http.StatusNoContent)
	if w := read(); w.Fraction != 0.0001 || !w.Alarm || w.Limit != limitOf(0.0001) {
		t.Fatalf("after 0.0001: %+v", w)
	}
	wantStatus(t, do(t, srv, http.MethodPut, path, "guest", "guest", nil, `{"fraction":0.4}`), http.StatusNoContent)
	if w := read(); w.Fraction != 0.4 || w.Alarm {
		t.Fatalf("after 0.4: %+v", w)
	}
	wantStatus(t, do(t, srv, http.MethodPut, path, "guest", "guest", nil, `{"fraction":0}`), http.StatusNoContent)
	wantStatus(t, do(t, srv, http.MethodPut, path, "guest", "guest", nil, `{"fraction":1}`), http.StatusNoContent)

	bad := []struct{ body, reason string }{
		{`{"fraction":1.5}`, "The threshold should be a fraction between 0.0 and 1.0"},
		{`{"fraction":-0.1}`, "The threshold should be a fraction between 0.0 and 1.0"},
		{`{}`, `body must carry "fraction"`},
		{`{"fraction":"0.4"}`, "body must be a JSON object"},
		{`0.4x`, "body must be a JSON object"},
		{``, "body must be a JSON object"},
		{`{"fraction":` + strings.Repeat("1", 70000) + `}`, "body must be a JSON object"},
	}
	for _, tt := range bad {
		r := do(t, srv, http.MethodPut, path, "guest", "guest", nil, tt.body)
		wantStatus(t, r, http.StatusBadRequest)
		var e struct{ Error, Reason string }
		decode(t, r, &e)
		if e.Error != "bad_request" || !strings.HasPrefix(e.Reason, tt.reason) {
			t.Errorf("body %.30q: error %+v, want reason starting %q", tt.body, e, tt.reason)
		}
	}
	if w := read(); w.Fraction != 1 {
		t.Fatalf("rejected PUTs changed the watermark: %+v", w)
	}

	wantError(t, do(t, srv, http.MethodPut, path, "mon", "pw", nil, `{"fraction":0.5}`),
		http.StatusUnauthorized, "not_authorised", "Not administrator user")

	b.FailSetWatermark(errors.New("no can do"))
	wantError(t, do(t, srv, http.MethodPut, path, "guest", "guest", nil, `{"fraction":0.5}`),
		http.StatusBadRequest, "bad_request", "no can do")
}

// limitOf is the limit mgmttest computes for fraction of its 1 GiB.
func limitOf(fraction float64) uint64 {
	total := float64(1 << 30)
	return uint64(fraction * total)
}
