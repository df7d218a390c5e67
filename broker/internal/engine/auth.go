package engine

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"slices"

	"github.com/beatmq/beatmq/frames/erlterm"
)

// defaultAuthMechanisms is RabbitMQ's default auth_mechanisms, offered when
// Settings.AuthMechanisms is nil.
var defaultAuthMechanisms = []string{"PLAIN", "AMQPLAIN"}

// KnownAuthMechanism reports whether beatmq implements mechanism, so that
// Settings.AuthMechanisms may list it: PLAIN and AMQPLAIN (RabbitMQ's
// built-in rabbit_auth_mechanism_plain and _amqplain) and EXTERNAL
// (rabbitmq_auth_mechanism_ssl, conn_tls.go).
func KnownAuthMechanism(mechanism string) bool {
	switch mechanism {
	case "PLAIN", "AMQPLAIN", "EXTERNAL":
		return true
	}
	return false
}

// offeredMechanisms is rabbit_reader:auth_mechanisms/1: the configured
// mechanisms whose should_offer/1 accepts the socket, which only
// rabbit_auth_mechanism_ssl's refuses (for a socket without TLS). They keep
// the configured order; RabbitMQ 3.10.8 lists them in its registry's ETS
// order instead, which is not the configured one (README, TLS).
func (c *Conn) offeredMechanisms() []string {
	configured := c.set.AuthMechanisms
	if len(configured) == 0 {
		configured = defaultAuthMechanisms
	}
	offered := make([]string, 0, len(configured))
	for _, m := range configured {
		if m == "EXTERNAL" && c.tls == nil {
			continue
		}
		offered = append(offered, m)
	}
	return offered
}

// mechanismRegistered tells, for a mechanism connection.start did not offer,
// which of rabbit_reader:auth_mechanism_to_module/2's two errors applies:
// "invalid authentication mechanism" for one RabbitMQ has registered,
// "unknown" for the others. PLAIN, AMQPLAIN and RABBIT-CR-DEMO are always
// registered (rabbit's own boot steps); EXTERNAL is when the
// rabbitmq_auth_mechanism_ssl plugin is enabled, which beatmq takes to be
// when AuthMechanisms lists it. Measured on RabbitMQ 3.10.8: EXTERNAL on
// plain TCP is "invalid" with the plugin, "unknown" without it (also on TLS).
func (c *Conn) mechanismRegistered(mechanism string) bool {
	switch mechanism {
	case "PLAIN", "AMQPLAIN", "RABBIT-CR-DEMO":
		return true
	case "EXTERNAL":
		return slices.Contains(c.set.AuthMechanisms, "EXTERNAL")
	}
	return false
}

// authResult is the outcome of a login attempt, in RabbitMQ's terms.
type authResult struct {
	user string
	// refused: the login failed; msg is rabbit_access_control's explanation
	// ("user 'guest' - invalid credentials").
	refused bool
	// syntax: the response could not be parsed (RabbitMQ: protocol_error → 502).
	syntax bool
	msg    string
}

// authenticate checks a start-ok response (rabbit_auth_mechanism_plain,
// rabbit_auth_mechanism_amqplain, rabbit_auth_backend_internal).
func authenticate(set *Settings, login func(user, pw string) bool, mechanism string, response []byte, peer net.Addr) authResult {
	var user, pass string
	switch mechanism {
	case "PLAIN":
		u, p, ok := parsePlain(response)
		if !ok {
			return authResult{syntax: true, msg: fmt.Sprintf("response %s invalid", erlterm.Binary(response))}
		}
		user, pass = u, p
	case "AMQPLAIN":
		u, p, ok := parseAMQPlain(response)
		if !ok {
			return authResult{syntax: true, msg: fmt.Sprintf("AMQPLAIN auth info %s is missing LOGIN or PASSWORD field", erlterm.Binary(response))}
		}
		user, pass = u, p
	}
	if !login(user, pass) {
		return authResult{user: user, refused: true, msg: fmt.Sprintf("user '%s' - invalid credentials", user)}
	}
	// rabbit_access_control:check_user_loopback/2
	if set.Loopback[user] && !isLoopback(peer) {
		return authResult{user: user, refused: true, msg: fmt.Sprintf("user '%s' can only connect via localhost", user)}
	}
	return authResult{user: user}
}

// parsePlain splits a SASL PLAIN response "\0user\0pass" as RabbitMQ does
// (an authorisation identity before the first NUL is not accepted).
func parsePlain(r []byte) (user, pass string, ok bool) {
	if len(r) == 0 || r[0] != 0 {
		return "", "", false
	}
	r = r[1:]
	i := bytes.IndexByte(r, 0)
	if i < 0 {
		return "", "", false
	}
	user, r = string(r[:i]), r[i+1:]
	if bytes.IndexByte(r, 0) >= 0 {
		return "", "", false
	}
	return user, string(r), true
}

// parseAMQPlain reads LOGIN and PASSWORD from an AMQPLAIN response: the
// contents of a field table without its length prefix.
func parseAMQPlain(r []byte) (user, pass string, ok bool) {
	var haveUser, havePass bool
	for len(r) > 0 {
		n := int(r[0])
		if len(r) < 1+n+1 {
			return "", "", false
		}
		name := string(r[1 : 1+n])
		typ := r[1+n]
		r = r[2+n:]
		var val string
		switch typ {
		case 'S':
			if len(r) < 4 {
				return "", "", false
			}
			l := binary.BigEndian.Uint32(r)
			if uint64(len(r)-4) < uint64(l) {
				return "", "", false
			}
			val, r = string(r[4:4+l]), r[4+l:]
		case 's': // a short string, as some old clients send
			if len(r) < 1 || len(r) < 1+int(r[0]) {
				return "", "", false
			}
			val, r = string(r[1:1+int(r[0])]), r[1+int(r[0]):]
		default:
			return "", "", false
		}
		switch name {
		case "LOGIN":
			user, haveUser = val, true
		case "PASSWORD":
			pass, havePass = val, true
		}
	}
	return user, pass, haveUser && havePass
}

// isLoopback is rabbit_net:is_loopback/1.
func isLoopback(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case nil:
		return false
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
