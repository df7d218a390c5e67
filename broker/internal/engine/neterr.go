package engine

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/beatmq/beatmq/frames/erlterm"
)

// isPeerClose reports whether err means the client closed its side of the
// TCP connection (Erlang's tcp_closed).
func isPeerClose(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// inetError renders a socket error as the Erlang reason RabbitMQ logs inside
// {inet_error,Reason}.
func inetError(err error) string {
	var errno syscall.Errno
	switch {
	case err == nil:
		return "closed"
	case errors.Is(err, net.ErrClosed), isPeerClose(err):
		return "closed"
	case errors.Is(err, syscall.ECONNRESET):
		return "econnreset"
	case errors.Is(err, syscall.EPIPE):
		return "epipe"
	case errors.Is(err, syscall.ETIMEDOUT):
		return "etimedout"
	case errors.As(err, &errno):
		return strings.ToLower(strings.ReplaceAll(errno.Error(), " ", "_"))
	}
	return erlterm.String(err.Error())
}
