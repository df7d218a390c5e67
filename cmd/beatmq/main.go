// Command beatmq runs the beatmq AMQP 0-9-1 broker.
//
//	beatmq [flags]
//
// It listens on 127.0.0.1:5672 by default, logs in RabbitMQ's layout to
// stderr, and stops gracefully on SIGINT or SIGTERM (connections get
// connection.close 320 CONNECTION_FORCED). Run `beatmq --help` for the flags.
//
// Exit status: 0 after a clean stop, 1 when the broker cannot run (a port in
// use, an unwritable log file), 2 for bad flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
