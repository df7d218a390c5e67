//go:build integration

package integration

import (
	"fmt"
	"strconv"
)

// transport is how a scenario reaches the broker: its AMQP port over plain
// TCP, or its amqps port over TLS (the programs then trust the CA that signed
// the broker's certificate, as a user's client would). Scenarios 2, 4a and 4b
// run over both.
type transport struct {
	tls bool
}

var (
	plainTCP = transport{}
	overTLS  = transport{tls: true}
)

// port is the broker port the transport uses.
func (tr transport) port(b target) int {
	if tr.tls {
		return b.TLSPort()
	}
	return b.Port()
}

// addr is the broker address the transport uses.
func (tr transport) addr(b target) string { return hostPort(tr.port(b)) }

// args sets a's TLS CA when the transport is TLS.
func (tr transport) args(b target, a scenarioArgs) scenarioArgs {
	if tr.tls {
		a.TLSCA = b.TLSCA()
	}
	return a
}

// row is the client's row in the results tables: its name, with " tls"
// after it for the TLS runs.
func (tr transport) row(client string) string {
	if tr.tls {
		return client + " tls"
	}
	return client
}

// tag goes into connection and queue names, so the TLS runs' connections
// are told apart in the broker's log.
func (tr transport) tag() string {
	if tr.tls {
		return "tls-"
	}
	return ""
}

// toolsURL is the amqp-tools URL for a broker or relay port: amqps over TLS,
// with the name "localhost", which librabbitmq checks against the
// certificate's DNS names (it does not match IP addresses).
func (tr transport) toolsURL(port int) string {
	if !tr.tls {
		return toolsURL(port)
	}
	return "amqps://guest:guest@localhost:" + strconv.Itoa(port)
}

// consumeFlags are amqp-consume's extra options for the transport: the CA
// that signed the broker's certificate.
func (tr transport) consumeFlags(b target) []string {
	if !tr.tls {
		return nil
	}
	return []string{"--cacert=" + b.TLSCA()}
}

// checkSSL tells whether the broker's view of a connection says it came in
// over the transport.
func (tr transport) checkSSL(c brokerConn) error {
	if c.SSL != tr.tls {
		return fmt.Errorf("the broker lists connection %q with ssl=%s, want %s", c.Name, strconv.FormatBool(c.SSL), strconv.FormatBool(tr.tls))
	}
	return nil
}
