// Package logscan reads broker logs and summarises what happened to client
// connections: opened, closed cleanly, closed unexpectedly, closed for missed
// heartbeats, handshake timeouts, authentication failures and late-heartbeat
// warnings, per client name, per peer host and over time. It backs
// `beatmqctl inspect-log`.
//
// It reads:
//
//   - beatmq's text log and RabbitMQ 3.9 to 3.13's (the logger layout):
//     "2022-03-01 10:00:00.123456+00:00 [info] <0.680.0> message", the
//     timestamp also with a 'T' and without an offset; a message of several
//     lines is written as several lines repeating the prefix;
//   - RabbitMQ 3.8's lager layout, "2021-03-01 10:00:00.123 [info] <0.680.0>
//     message", whose continuation lines carry no prefix;
//   - beatmq's JSON log (--log-format json) and RabbitMQ's JSON formatter:
//     one object per line with time, level, msg and conn or pid;
//   - any of these gzipped (recognised by its magic bytes, not its name).
//
// [ParseLine] parses one physical line; a [Reader] joins lines into entries
// (one log event each) and counts the lines it could not read; [Match] turns
// an entry into an [Event] with the message table in patterns.go, the one
// place to adjust when a message changes; a [Summarizer] follows each
// connection by the id of its process (the pid RabbitMQ prints, beatmq's
// connection id) and adds its events to its client name and peer host.
package logscan
