package vhost

import (
	"encoding/binary"
	"strconv"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/frames/erlterm"
)

// Message is one published message. It is immutable once made and shared by
// every queue it is routed to and every delivery of it: the body and the raw
// properties are relayed as received, never copied.
type Message struct {
	// Exchange and RoutingKey are those of the basic.publish (for a
	// dead-lettered message: the dead-letter exchange and routing key).
	Exchange   string
	RoutingKey string
	// Properties is the content header's property list (flags word and
	// properties) exactly as received; deliveries send it unchanged.
	Properties []byte
	// Body is the message body.
	Body []byte
	// Headers is the decoded headers property, nil when absent.
	Headers amqp.Table

	// expiration is the expiration property as received ("" when absent),
	// expirationMs its value when it parses (-1: none or invalid).
	expiration   string
	hasExpire    bool
	expirationMs int64
	// persistent: delivery_mode 2, kept on disk in durable queues.
	persistent bool
	// cc and bcc are the routing keys of the CC and BCC headers
	// (sender-selected distribution, message_routes.go); the BCC header is
	// no longer in Properties or Headers. routesErr is set when either
	// header is not an array: the publish is refused.
	cc, bcc   []string
	routesErr error
	// fastReply is set when reply_to is amq.rabbitmq.reply-to: the publish
	// rewrites it to the channel's reply name (replyto.go).
	fastReply bool
	// userID is the user_id property, when hasUserID.
	userID    string
	hasUserID bool
}

// Persistent reports whether the message asked to be kept on disk
// (delivery_mode 2).
func (m *Message) Persistent() bool { return m.persistent }

// NewMessage makes a message from a basic.publish and its content. props
// is the property list of the content header (amqp.SplitContentHeader's
// props); the message keeps props and body without copying, so the caller
// must not reuse them. Every property list is checked, as RabbitMQ decodes
// every published one (rabbit_binary_parser:ensure_content_decoded): the
// error is the error of a property list that does not decode, the empty
// list included, so that no consumer is ever handed one it cannot parse.
func NewMessage(exchange, routingKey string, props, body []byte) (*Message, error) {
	// Most messages carry none of the properties the broker acts on: their
	// list is only validated, which allocates nothing.
	if len(props) < 2 || binary.BigEndian.Uint16(props)&decodedFlags == 0 {
		if err := amqp.ValidProperties(props); err != nil {
			return nil, err
		}
		return &Message{Exchange: exchange, RoutingKey: routingKey, Properties: props, Body: body, expirationMs: -1}, nil
	}
	p, err := amqp.DecodeProperties(props)
	if err != nil {
		return nil, err
	}
	m := &Message{Exchange: exchange, RoutingKey: routingKey, Properties: props, Body: body}
	m.setDecoded(&p)
	if p.Headers != nil {
		m.setRoutes(&p)
	}
	return m, nil
}

// decodedFlags are the properties NewMessage decodes the list for.
const decodedFlags = amqp.FlagHeaders | amqp.FlagExpiration | amqp.FlagDeliveryMode | amqp.FlagReplyTo | amqp.FlagUserID

func (m *Message) setDecoded(p *amqp.Properties) {
	m.Headers = p.Headers
	m.fastReply = p.ReplyTo == replyToQueue
	m.userID, m.hasUserID = p.UserID, p.Flags&amqp.FlagUserID != 0 || p.UserID != ""
	m.persistent = p.DeliveryMode == 2
	m.expirationMs = -1
	m.hasExpire = p.Flags&amqp.FlagExpiration != 0 || p.Expiration != ""
	m.expiration = p.Expiration
	if m.hasExpire {
		if ms, ok := parseExpiration(p.Expiration); ok {
			m.expirationMs = ms
		}
	}
}

// expirationError is rabbit_channel:check_expiration_header/1 with
// rabbit_basic:parse_expiration/1: nil when the expiration property is
// absent or a valid number of milliseconds.
func (m *Message) expirationError() error {
	if !m.hasExpire {
		return nil
	}
	reason := expirationProblem(m.expiration)
	if reason == "" {
		return nil
	}
	return precondition("invalid expiration '%s': %s", m.expiration, reason)
}

// expirationProblem returns RabbitMQ's reason (as ~p prints it) why s is not
// a valid expiration, or "". Erlang's string:to_integer takes an optional
// sign and leading digits.
func expirationProblem(s string) string {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return "no_integer"
	}
	if j < len(s) {
		return "{leftover_string," + erlterm.String(s[j:]) + "}"
	}
	n, err := strconv.ParseInt(s[:j], 10, 64)
	if err != nil {
		return "{value_too_large," + s[:j] + "}"
	}
	if n < 0 {
		return "{value_negative," + strconv.FormatInt(n, 10) + "}"
	}
	if n > maxExpiry {
		return "{value_too_large," + strconv.FormatInt(n, 10) + "}"
	}
	return ""
}

// maxExpiry is rabbit_misc:check_expiry/1's limit: ten years in ms.
const maxExpiry = 315_360_000_000

func parseExpiration(s string) (int64, bool) {
	if expirationProblem(s) != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// bodySize is the size counted by x-max-length-bytes.
func (m *Message) bodySize() int64 { return int64(len(m.Body)) }
