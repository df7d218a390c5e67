package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/alarm"
	"github.com/beatmq/beatmq/broker/logfmt"
	"github.com/beatmq/beatmq/broker/mgmt"
)

// DefaultDataDir is --data-dir's default: beatmq-data in the working
// directory, so that `make run` keeps its data across restarts.
const DefaultDataDir = "beatmq-data"

// options are the command line, before it is mapped onto broker.Config.
type options struct {
	addr             string
	mgmtAddr         string
	promAddr         string
	heartbeat        int
	frameMax         int
	channelMax       int
	handshakeTimeout time.Duration
	heartbeatUnit    time.Duration
	heartbeatWarn    float64
	users            []string
	loopbackUsers    []string
	authMechanisms   []string
	logFormat        string
	logLevel         string
	logFile          string
	shutdownTimeout  time.Duration
	tcpKeepAlive     bool
	tcpNoDelay       bool
	memWatermark     float64
	diskFreeLimit    string
	dataDir          string
	sync             string
	loadDefinitions  string
	product          string
	tls              tlsOptions
	mgmtTLS          mgmtTLSOptions
	version          bool
}

func newFlagSet(o *options, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("beatmq", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.StringVar(&o.addr, "addr", broker.DefaultAddr, "AMQP listen address (host:port)")
	fs.StringVar(&o.mgmtAddr, "mgmt-addr", broker.DefaultMgmtAddr, "HTTP management API listen address; empty disables it")
	fs.StringVar(&o.promAddr, "prometheus-addr", broker.DefaultPrometheusAddr, "Prometheus metrics listen address (/metrics, as rabbitmq_prometheus); empty disables it")
	fs.IntVar(&o.heartbeat, "heartbeat", broker.DefaultHeartbeat, "heartbeat timeout proposed to clients, in seconds (0: none); clients may answer any value")
	fs.IntVar(&o.frameMax, "frame-max", broker.DefaultFrameMax, "largest frame proposed and accepted, in octets (0: no limit; else at least 4096)")
	fs.IntVar(&o.channelMax, "channel-max", broker.DefaultChannelMax, "most channels per connection proposed and enforced (0: no limit)")
	fs.Float64Var(&o.heartbeatWarn, "heartbeat-warn", broker.DefaultHeartbeatWarn, "log a late-heartbeat warning when a client has sent nothing for this many heartbeat timeouts T (below 3; 0: never)")
	fs.DurationVar(&o.handshakeTimeout, "handshake-timeout", broker.DefaultHandshakeTimeout, "time from accept until connection.open must complete (0: none)")
	fs.StringSliceVar(&o.users, "users", []string{"guest:guest"}, "comma-separated user:password list: the first users, administrators with every permission; with a data directory, only on its first start (then beatmqctl add_user, set_permissions...)")
	fs.StringSliceVar(&o.loopbackUsers, "loopback-users", []string{"guest"}, "comma-separated users allowed to connect from loopback addresses only (empty: none)")
	fs.StringSliceVar(&o.authMechanisms, "auth-mechanisms", []string{"PLAIN", "AMQPLAIN"}, "comma-separated SASL mechanisms offered in connection.start, in this order: PLAIN, AMQPLAIN, EXTERNAL (EXTERNAL on TLS connections only) (RabbitMQ's auth_mechanisms)")
	fs.Float64Var(&o.memWatermark, "vm-memory-high-watermark", alarm.DefaultMemoryHighWatermark, "fraction of the machine's memory above which publishers are blocked (0 to 1; settable at run time through the management API)")
	fs.StringVar(&o.diskFreeLimit, "disk-free-limit", "50MB", "free space on the data directory's filesystem below which publishers are blocked: bytes, with a unit (50MB, 2GB, 500MiB) or {mem_relative,F}; settable at run time through the management API")
	fs.StringVar(&o.dataDir, "data-dir", DefaultDataDir, "directory for durable queues' persistent messages and durable definitions (empty: memory only, nothing kept)")
	fs.StringVar(&o.sync, "sync", "data", "when a persistent message is confirmed: data (after fdatasync, survives a power cut; RabbitMQ's behaviour) or write (after write(2), survives a killed broker only)")
	fs.StringVar(&o.loadDefinitions, "load-definitions", "", "definitions file in RabbitMQ's JSON format applied at every start, as RabbitMQ's load_definitions (a file refused as a whole stops the start)")
	o.tls.addFlags(fs)
	o.mgmtTLS.addFlags(fs)
	fs.BoolVar(&o.tcpKeepAlive, "tcp-keepalive", false, "TCP keepalive on accepted connections, with the system's periods (RabbitMQ's tcp_listen_options keepalive)")
	fs.BoolVar(&o.tcpNoDelay, "tcp-nodelay", true, "TCP_NODELAY on accepted connections (RabbitMQ's tcp_listen_options nodelay)")
	fs.StringVar(&o.product, "product", broker.Product, "product name advertised to clients in connection.start")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text (RabbitMQ's layout) or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "lowest level logged: debug, info, notice, warning or error")
	fs.StringVar(&o.logFile, "log-file", "", "append the log to this file (default: stderr)")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGINT/SIGTERM, how long clients get to answer connection.close")
	fs.DurationVar(&o.heartbeatUnit, "heartbeat-unit", time.Second, "length of one protocol second (tests only)")
	_ = fs.MarkHidden("heartbeat-unit")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "beatmq %s: an AMQP 0-9-1 broker whose heartbeats behave like RabbitMQ's.\n\nUsage: beatmq [flags]\n\nFlags:\n%s", broker.Version, fs.FlagUsages())
	}
	return fs
}

// config maps the flags onto broker.Config. A flag takes the value itself, so
// 0 means what it means in RabbitMQ's configuration (no heartbeat, no limit,
// no timeout); broker.Explicit carries that into Config, whose 0 would mean
// the default. A flag left out keeps its default, which is Config's.
func (o *options) config(logger *slog.Logger) (broker.Config, error) {
	cfg := broker.DefaultConfig()
	cfg.Addr, cfg.MgmtAddr, cfg.PrometheusAddr = o.addr, o.mgmtAddr, o.promAddr
	switch {
	case o.heartbeat < 0 || o.heartbeat > 65535:
		return cfg, fmt.Errorf("--heartbeat %d: want 0 to 65535 seconds", o.heartbeat)
	case o.frameMax < 0 || (o.frameMax > 0 && o.frameMax < 4096) || int64(o.frameMax) > 1<<32-1:
		return cfg, fmt.Errorf("--frame-max %d: want 0 (no limit) or 4096 to 4294967295", o.frameMax)
	case o.channelMax < 0 || o.channelMax > 65535:
		return cfg, fmt.Errorf("--channel-max %d: want 0 (no limit) to 65535", o.channelMax)
	case o.handshakeTimeout < 0:
		return cfg, fmt.Errorf("--handshake-timeout %v: must not be negative", o.handshakeTimeout)
	case math.IsNaN(o.memWatermark) || o.memWatermark < 0 || o.memWatermark > 1:
		return cfg, fmt.Errorf("--vm-memory-high-watermark %v: want a fraction between 0.0 and 1.0", o.memWatermark)
	case math.IsNaN(o.heartbeatWarn) || o.heartbeatWarn < 0 || o.heartbeatWarn >= 3:
		return cfg, fmt.Errorf("--heartbeat-warn %v: want 0 (no warning) or a multiple of T below 3", o.heartbeatWarn)
	case o.heartbeatUnit <= 0:
		return cfg, errors.New("--heartbeat-unit must be positive")
	}
	if _, err := alarm.ParseDiskFreeLimit(o.diskFreeLimit); err != nil {
		return cfg, fmt.Errorf("--disk-free-limit: %v", err)
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return cfg, fmt.Errorf("--addr %q: %v", o.addr, err)
	}
	if o.mgmtAddr != "" {
		if _, _, err := net.SplitHostPort(o.mgmtAddr); err != nil {
			return cfg, fmt.Errorf("--mgmt-addr %q: %v", o.mgmtAddr, err)
		}
	}
	if o.promAddr != "" {
		if _, _, err := net.SplitHostPort(o.promAddr); err != nil {
			return cfg, fmt.Errorf("--prometheus-addr %q: %v", o.promAddr, err)
		}
	}
	cfg.Heartbeat = broker.Explicit(o.heartbeat)
	cfg.FrameMax = broker.Explicit(o.frameMax)
	cfg.ChannelMax = broker.Explicit(o.channelMax)
	cfg.HandshakeTimeout = broker.Explicit(o.handshakeTimeout)
	cfg.HeartbeatUnit = o.heartbeatUnit
	cfg.HeartbeatWarn = broker.Explicit(o.heartbeatWarn)
	cfg.Product = o.product
	cfg.TCPKeepAlive, cfg.DisableTCPNoDelay = o.tcpKeepAlive, !o.tcpNoDelay
	cfg.DataDir = o.dataDir
	sync, err := broker.ParseSyncMode(o.sync)
	if err != nil {
		return cfg, fmt.Errorf("--sync: %v", err)
	}
	cfg.Sync = sync
	cfg.Users = cfg.Users[:0]
	for _, u := range o.users {
		name, pass, ok := strings.Cut(u, ":")
		if !ok || name == "" {
			return cfg, fmt.Errorf("--users: %q is not user:password", u)
		}
		cfg.Users = append(cfg.Users, broker.User{Name: name, Password: pass})
	}
	cfg.LoopbackUsers = []string{}
	for _, u := range o.loopbackUsers {
		if u = strings.TrimSpace(u); u != "" {
			cfg.LoopbackUsers = append(cfg.LoopbackUsers, u)
		}
	}
	cfg.AuthMechanisms = []string{}
	for _, m := range o.authMechanisms {
		if m = strings.TrimSpace(m); m != "" {
			cfg.AuthMechanisms = append(cfg.AuthMechanisms, m)
		}
	}
	if len(cfg.AuthMechanisms) == 0 {
		// Config would take an empty list for the default.
		return cfg, errors.New("--auth-mechanisms: want at least one of PLAIN, AMQPLAIN, EXTERNAL")
	}
	if err := o.tls.apply(&cfg); err != nil {
		return cfg, err
	}
	if err := o.mgmtTLS.load(o.tls); err != nil {
		return cfg, err
	}
	cfg.Logger = logger
	return cfg, cfg.Validate()
}

// run is the whole command; main adds the signals and the exit.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := newFlagSet(&o, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "beatmq: %v\nRun 'beatmq --help' for usage.\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "beatmq: unexpected argument %q\nRun 'beatmq --help' for usage.\n", fs.Arg(0))
		return 2
	}
	if o.version {
		fmt.Fprintf(stdout, "beatmq %s (%s %s/%s)\n", broker.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}
	level, err := logfmt.ParseLevel(o.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "beatmq: --log-level: %v\n", err)
		return 2
	}
	logOut := stderr
	if o.logFile != "" && o.logFile != "-" {
		f, err := os.OpenFile(o.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "beatmq: --log-file: %v\n", err)
			return 1
		}
		defer f.Close()
		logOut = f
	}
	logger, err := logfmt.New(logOut, o.logFormat, level)
	if err != nil {
		fmt.Fprintf(stderr, "beatmq: --log-format: %v\n", err)
		return 2
	}
	cfg, err := o.config(logger)
	if err != nil {
		fmt.Fprintf(stderr, "beatmq: %v\n", err)
		return 2
	}
	return serve(ctx, cfg, o, logger, stdout, stderr)
}

// serve listens, runs the broker until ctx ends, then shuts it down.
func serve(ctx context.Context, cfg broker.Config, o options, logger *slog.Logger, stdout, stderr io.Writer) int {
	logger.Info(fmt.Sprintf("Starting beatmq %s on %s", broker.Version, runtime.Version()))
	srv, err := broker.New(cfg)
	if err != nil {
		// The flags were valid: a data directory that cannot be used.
		fmt.Fprintf(stderr, "beatmq: %v\n", strings.TrimPrefix(err.Error(), "beatmq: "))
		return 1
	}
	// Until Serve runs, an early return must close srv: it holds the data
	// directory (its lock and the store's writer).
	if err := loadDefinitions(srv, o.loadDefinitions, logger); err != nil {
		_ = srv.Close()
		fmt.Fprintf(stderr, "beatmq: %v\n", err)
		return 1
	}
	l, err := broker.Listen(cfg.Addr)
	if err != nil {
		_ = srv.Close()
		fmt.Fprintf(stderr, "beatmq: cannot listen for AMQP: %v\n", err)
		return 1
	}
	var tl net.Listener
	if cfg.TLSAddr != "" {
		if tl, err = broker.Listen(cfg.TLSAddr); err != nil {
			_ = l.Close()
			_ = srv.Close()
			fmt.Fprintf(stderr, "beatmq: cannot listen for AMQP over TLS: %v\n", err)
			return 1
		}
	}
	var ml, mtl, pl net.Listener
	closeListeners := func() {
		for _, x := range []net.Listener{l, tl, ml, mtl, pl} {
			if x != nil {
				_ = x.Close()
			}
		}
	}
	if cfg.MgmtAddr != "" {
		if ml, err = net.Listen("tcp", cfg.MgmtAddr); err != nil {
			closeListeners()
			_ = srv.Close()
			fmt.Fprintf(stderr, "beatmq: cannot listen for the management API (--mgmt-addr \"\" disables it): %v\n", err)
			return 1
		}
	}
	if o.mgmtTLS.addr != "" {
		if mtl, err = net.Listen("tcp", o.mgmtTLS.addr); err != nil {
			closeListeners()
			_ = srv.Close()
			fmt.Fprintf(stderr, "beatmq: cannot listen for the management API over HTTPS: %v\n", err)
			return 1
		}
	}
	if cfg.PrometheusAddr != "" {
		if pl, err = net.Listen("tcp", cfg.PrometheusAddr); err != nil {
			closeListeners()
			_ = srv.Close()
			fmt.Fprintf(stderr, "beatmq: cannot listen for the Prometheus metrics (--prometheus-addr \"\" disables them): %v\n", err)
			return 1
		}
	}
	mem, err := alarm.NewMemoryMonitor(srv, o.memWatermark, logger)
	if err != nil {
		closeListeners()
		_ = srv.Close()
		fmt.Fprintf(stderr, "beatmq: %v\n", err)
		return 2
	}
	// Go's soft memory limit follows the watermark (broker/alarm/gomemlimit.go).
	mem.DriveGoMemoryLimit()
	mem.Start()
	defer mem.Stop()
	disk := startDiskMonitor(srv, cfg.DataDir, o.diskFreeLimit, logger)
	if disk != nil {
		defer disk.Stop()
	}
	served := make(chan error, 2)
	go func() { served <- srv.Serve(l) }()
	select {
	case <-srv.Ready():
	case err := <-served:
		closeListeners()
		_ = srv.Close()
		fmt.Fprintf(stderr, "beatmq: %v\n", err)
		return 1
	}
	serving := 1
	if tl != nil {
		serving++
		go func() { served <- srv.ServeTLS(tl) }()
		// Its "started TLS (SSL) listener" line comes before "Server
		// startup complete", as in RabbitMQ's log.
		for len(srv.AMQPListeners()) < serving && len(served) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	hs := startMgmt(srv, mgmt.Monitors{Memory: mem, Disk: disk}, ml, mtl, pl, o.mgmtTLS.config, logger)
	logger.Info("Server startup complete")
	if o.logFile != "" && o.logFile != "-" {
		fmt.Fprintf(stdout, "beatmq %s listening on %s (AMQP)", broker.Version, l.Addr())
		if tl != nil {
			fmt.Fprintf(stdout, ", %s (AMQP over TLS)", tl.Addr())
		}
		if ml != nil {
			fmt.Fprintf(stdout, " and %s (HTTP)", ml.Addr())
		}
		if mtl != nil {
			fmt.Fprintf(stdout, " and %s (HTTPS)", mtl.Addr())
		}
		if pl != nil {
			fmt.Fprintf(stdout, " and %s (Prometheus)", pl.Addr())
		}
		fmt.Fprintf(stdout, "; log in %s\n", o.logFile)
	}

	select {
	case err := <-served:
		hs.Close()
		_ = srv.Close()
		fmt.Fprintf(stderr, "beatmq: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	logger.Info("beatmq is asked to stop...")
	hs.Close()
	mem.Stop()
	if disk != nil {
		disk.Stop()
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn(fmt.Sprintf("shutdown: %v; remaining connections reset", err))
	}
	for range serving {
		<-served
	}
	logger.Info("beatmq stopped")
	return 0
}

// startDiskMonitor starts RabbitMQ's free disk space monitor on the data
// directory's filesystem, or returns nil: without a data directory the
// broker writes nothing to disk and there is nothing to watch. A filesystem
// that cannot be read is logged, as rabbit_disk_monitor logs it, and the
// broker runs without the disk alarm.
func startDiskMonitor(srv *broker.Server, dir, limit string, logger *slog.Logger) *alarm.DiskMonitor {
	if dir == "" {
		return nil
	}
	l, err := alarm.ParseDiskFreeLimit(limit) // checked with the other flags
	if err != nil {
		return nil
	}
	d, err := alarm.NewDiskMonitor(srv, dir, l, logger)
	if err != nil {
		logger.Error(fmt.Sprintf("Free disk space monitor encountered an error: %v", err))
		logger.Error("Free disk space monitor failed to start!")
		return nil
	}
	d.Start()
	return d
}

// loadDefinitions applies the --load-definitions file, if any, before the
// listeners open (rabbit_definitions:maybe_load_definitions/0).
func loadDefinitions(srv *broker.Server, file string, logger *slog.Logger) error {
	if file == "" {
		return nil
	}
	doc, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("--load-definitions: %w", err)
	}
	logger.Info(fmt.Sprintf("Applying definitions from regular file at %s", file))
	if err := srv.ImportDefinitions(doc, ""); err != nil {
		return fmt.Errorf("--load-definitions %s: %w", file, err)
	}
	return nil
}
