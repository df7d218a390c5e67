package main

import (
	"log/slog"
	"net/http"

	"github.com/beatmq/beatmq/broker"
)

// mgmtHandler serves the management API on --mgmt-addr. This is the hook for
// broker/mgmt (mgmt.NewHandler with an adapter over the broker); until it is
// wired, every request gets 503.
func mgmtHandler(srv *broker.Server, logger *slog.Logger) http.Handler {
	_ = srv
	_ = logger
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "beatmq: the management API is not built in yet", http.StatusServiceUnavailable)
	})
}
