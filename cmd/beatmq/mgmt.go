package main

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/metrics"
	"github.com/beatmq/beatmq/broker/mgmt"
)

// mgmtHandler serves the management API on --mgmt-addr (listening on ml):
// broker/mgmt over the broker's public views and the resource monitors.
// pl, the Prometheus listener if any, is listed in the overview.
func mgmtHandler(srv *broker.Server, m mgmt.Monitors, ml, pl net.Listener, logger *slog.Logger) http.Handler {
	o := mgmt.ServerOptions{Monitors: m, HTTP: []net.Addr{ml.Addr()}}
	if pl != nil {
		o.Prometheus = []net.Addr{pl.Addr()}
	}
	return mgmt.NewHandler(mgmt.NewServerBroker(srv, o), logger)
}

// metricsHandler serves the Prometheus metrics on --prometheus-addr:
// broker/metrics over the same views and monitors.
func metricsHandler(srv *broker.Server, m mgmt.Monitors) http.Handler {
	return metrics.NewHandler(metrics.Sources{Server: srv, Memory: m.Memory, Disk: m.Disk})
}

// closeAll closes the listeners that are not nil.
func closeAll(ls ...net.Listener) {
	for _, l := range ls {
		if l != nil {
			_ = l.Close()
		}
	}
}

// closeHTTP closes the HTTP servers that are not nil.
func closeHTTP(ss ...*http.Server) {
	for _, s := range ss {
		if s != nil {
			_ = s.Close()
		}
	}
}
