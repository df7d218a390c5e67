package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/metrics"
	"github.com/beatmq/beatmq/broker/mgmt"
)

// mgmtHandler serves the management API (listening on addrs): broker/mgmt
// over the broker's public views and the resource monitors. prom, the
// Prometheus listeners, are listed in the overview.
func mgmtHandler(srv *broker.Server, m mgmt.Monitors, logger *slog.Logger, prom []net.Addr, addrs ...net.Addr) http.Handler {
	return mgmt.NewHandler(mgmt.NewServerBroker(srv, mgmt.ServerOptions{Monitors: m, HTTP: addrs, Prometheus: prom}), logger)
}

// metricsHandler serves the Prometheus metrics on --prometheus-addr:
// broker/metrics over the same views and monitors.
func metricsHandler(srv *broker.Server, m mgmt.Monitors) http.Handler {
	return metrics.NewHandler(metrics.Sources{Server: srv, Memory: m.Memory, Disk: m.Disk})
}

// mgmtTLSOptions are the management API's HTTPS listener flags, after
// RabbitMQ's management.ssl keys.
type mgmtTLSOptions struct {
	addr, cert, key string
	config          *tls.Config // built by load
}

func (m *mgmtTLSOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&m.addr, "mgmt-tls-addr", "", "HTTPS management API listen address, e.g. 127.0.0.1:15671; empty: none (management.ssl.port)")
	fs.StringVar(&m.cert, "mgmt-tls-cert", "", "its certificate chain, PEM (management.ssl.certfile; default --tls-cert)")
	fs.StringVar(&m.key, "mgmt-tls-key", "", "its private key, PEM (management.ssl.keyfile; default --tls-key)")
}

// load builds the HTTPS listener's TLS configuration, reusing the amqps
// listener's certificate and key unless others are given.
func (m *mgmtTLSOptions) load(amqps tlsOptions) error {
	if m.addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(m.addr); err != nil {
		return fmt.Errorf("--mgmt-tls-addr %q: %v", m.addr, err)
	}
	cert, key := m.cert, m.key
	if cert == "" && key == "" {
		cert, key = amqps.cert, amqps.key
	}
	if cert == "" || key == "" {
		return errors.New("--mgmt-tls-addr needs --mgmt-tls-cert and --mgmt-tls-key (or --tls-cert and --tls-key)")
	}
	c, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return fmt.Errorf("--mgmt-tls-addr: certificate %s, key %s: %v", cert, key, err)
	}
	m.config = &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}
	return nil
}

// mgmtServers are the management API's HTTP and HTTPS servers, either
// possibly absent.
type mgmtServers []*http.Server

// startMgmt serves the management API on ml (HTTP) and mtl (HTTPS with tc)
// and the Prometheus metrics on pl, any of which may be nil, and logs each
// as RabbitMQ's management and prometheus plugins do
// (rabbit_mgmt_app:log_startup/2).
func startMgmt(srv *broker.Server, m mgmt.Monitors, ml, mtl, pl net.Listener, tc *tls.Config, logger *slog.Logger) mgmtServers {
	var addrs []net.Addr
	if ml != nil {
		addrs = append(addrs, ml.Addr())
	}
	if mtl != nil {
		addrs = append(addrs, mgmt.HTTPSAddr{Addr: mtl.Addr()})
	}
	var prom []net.Addr
	if pl != nil {
		prom = append(prom, pl.Addr())
	}
	h := mgmtHandler(srv, m, logger, prom, addrs...)
	var out mgmtServers
	if ml != nil {
		hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = hs.Serve(ml) }()
		logger.Info("Management plugin: HTTP (non-TLS) listener started on " + ml.Addr().String())
		out = append(out, hs)
	}
	if mtl != nil {
		hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tc}
		go func() { _ = hs.ServeTLS(mtl, "", "") }()
		logger.Info("Management plugin: HTTPS listener started on " + mtl.Addr().String())
		out = append(out, hs)
	}
	if pl != nil {
		ps := &http.Server{Handler: metricsHandler(srv, m), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = ps.Serve(pl) }()
		logger.Info("Prometheus metrics: HTTP (non-TLS) listener started on " + pl.Addr().String())
		out = append(out, ps)
	}
	return out
}

// Close closes every server at once.
func (s mgmtServers) Close() {
	for _, hs := range s {
		_ = hs.Close()
	}
}
