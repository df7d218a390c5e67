package heartbeat

import (
	"strconv"
	"time"
)

// TimeoutError is the close reason of a connection whose peer sent nothing
// for two consecutive receiver checks. Its Error text is the second line
// RabbitMQ logs, at error level, after
// "closing AMQP connection <id> (peer -> local - name):".
type TimeoutError struct {
	Timeout time.Duration // the negotiated heartbeat T
}

// Error returns "missed heartbeats from client, timeout: 2s" as
// rabbit_reader:log_connection_exception/3 prints it: whole seconds as a plain
// number of seconds ("60s", not "1m0s"); periods that are not whole seconds,
// which only tests use, in Go's notation ("50ms", "1.5s").
func (e *TimeoutError) Error() string {
	const prefix = "missed heartbeats from client, timeout: "
	if e.Timeout%time.Second == 0 {
		return prefix + strconv.FormatInt(int64(e.Timeout/time.Second), 10) + "s"
	}
	return prefix + e.Timeout.String()
}
