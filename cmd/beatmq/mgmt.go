package main

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/mgmt"
)

// mgmtHandler serves the management API on --mgmt-addr (listening on addr):
// broker/mgmt over the broker's public views and the resource monitors.
func mgmtHandler(srv *broker.Server, m mgmt.Monitors, addr net.Addr, logger *slog.Logger) http.Handler {
	return mgmt.NewHandler(mgmt.ServerBrokerWith(srv, m, addr), logger)
}
