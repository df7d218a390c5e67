package main

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/mgmt"
)

// mgmtHandler serves the management API on --mgmt-addr (listening on addr):
// broker/mgmt over the broker's adapter.
func mgmtHandler(srv *broker.Server, addr net.Addr, logger *slog.Logger) http.Handler {
	return mgmt.NewHandler(broker.NewMgmtAdapter(srv, addr), logger)
}
