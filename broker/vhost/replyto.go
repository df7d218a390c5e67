package vhost

import (
	"crypto/rand"
	"encoding/base64"
	"strings"

	"github.com/beatmq/beatmq/amqp"
)

// Direct reply-to, as RabbitMQ 3.10.8's rabbit_channel does it: a session
// consumes from the pseudo-queue amq.rabbitmq.reply-to in no-ack mode and
// gets a reply name, amq.rabbitmq.reply-to.<token>; a message it publishes
// with reply_to amq.rabbitmq.reply-to leaves with reply_to set to that name;
// a message published through the default exchange to the name (as routing
// key, or in CC or BCC) goes straight to the session's reply consumer, not
// through a queue. RabbitMQ's token encodes the channel's pid and a random
// key; beatmq's is 22 random base64url characters (16 octets), as hard to
// guess.

const (
	replyToQueue  = "amq.rabbitmq.reply-to"
	replyToPrefix = replyToQueue + "."
)

// replyConsumer is a session's consumer of amq.rabbitmq.reply-to.
type replyConsumer struct {
	tag  string // its consumer tag
	name string // amq.rabbitmq.reply-to.<token>
}

// isReplyName reports whether a default-exchange routing key names a
// reply consumer rather than a queue (rabbit_exchange:virtual_reply_queue/1).
func isReplyName(key string) bool { return strings.HasPrefix(key, replyToPrefix) }

func newReplyName() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return replyToPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// consumeReply is basic.consume of amq.rabbitmq.reply-to
// (rabbit_channel:handle_method/3): 530 for a tag in use by one of the
// session's consumers, 406 "reply consumer cannot acknowledge" without
// no-ack, 406 "reply consumer already set" for a second one. s.opMu held.
func (s *Session) consumeReply(spec ConsumeSpec, ok func(tag string)) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, inUse := s.consumers[spec.Tag]; inUse {
		return "", amqp.NewError(amqp.NotAllowed, "attempt to reuse consumer tag '%s'", spec.Tag)
	}
	switch {
	case !spec.NoAck:
		return "", precondition("reply consumer cannot acknowledge")
	case s.reply != nil:
		return "", precondition("reply consumer already set")
	}
	tag := spec.Tag
	if tag == "" {
		tag = genName("amq.ctag")
	}
	if s.closed {
		return tag, nil
	}
	s.reply = &replyConsumer{tag: tag, name: newReplyName()}
	s.v.repliesMu.Lock()
	if s.v.replies == nil {
		s.v.replies = make(map[string]*Session)
	}
	s.v.replies[s.reply.name] = s
	s.v.repliesMu.Unlock()
	if ok != nil {
		ok(tag)
	}
	return tag, nil
}

// cancelReply is basic.cancel of the session's reply consumer: when its
// tag is tag, it ends and cancelReply reports true. Its reply name is then
// unknown: replies to it are dropped and declaring it is 404. s.opMu held.
func (s *Session) cancelReply(tag string) bool {
	s.mu.Lock()
	rc := s.reply
	if rc == nil || rc.tag != tag {
		s.mu.Unlock()
		return false
	}
	s.reply = nil
	s.mu.Unlock()
	s.v.forgetReply(rc.name, s)
	return true
}

// dropReply ends the session's reply consumer, if any (Session.Close).
// s.mu held.
func (s *Session) dropReply() {
	if rc := s.reply; rc != nil {
		s.reply = nil
		s.v.forgetReply(rc.name, s)
	}
}

// forgetReply removes name from the reply names, if s holds it.
func (v *VHost) forgetReply(name string, s *Session) {
	v.repliesMu.Lock()
	if v.replies[name] == s {
		delete(v.replies, name)
	}
	v.repliesMu.Unlock()
}

// setReplyTo is rabbit_channel:maybe_set_fast_reply_to/2: msg's reply_to
// of amq.rabbitmq.reply-to becomes the session's reply name, or the
// publish fails when the session has no reply consumer. Called before the
// message is shared. s.opMu held.
func (s *Session) setReplyTo(msg *Message) error {
	s.mu.Lock()
	rc := s.reply
	s.mu.Unlock()
	if rc == nil {
		return precondition("fast reply consumer does not exist")
	}
	p, err := amqp.DecodeProperties(msg.Properties)
	if err != nil {
		return err // NewMessage decoded them already
	}
	p.ReplyTo = rc.name
	msg.Properties = amqp.AppendProperties(nil, &p)
	msg.fastReply = false
	return nil
}

// liveReplyName reports whether name is the reply name of a reply consumer
// (rabbit_channel:declare_fast_reply_to/1).
func (v *VHost) liveReplyName(name string) bool {
	v.repliesMu.Lock()
	s := v.replies[name]
	v.repliesMu.Unlock()
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed && s.reply != nil && s.reply.name == name
}

// declareReplyQueue is queue.declare, passive or not, of a name starting
// with amq.rabbitmq.reply-to: the pseudo-queue itself and a live reply
// name exist, with no messages and one consumer; any other such name is
// 404, as in RabbitMQ 3.10.8.
func (v *VHost) declareReplyQueue(name string) (QueueDeclared, error) {
	if name == replyToQueue || (isReplyName(name) && v.liveReplyName(name)) {
		return QueueDeclared{Name: name, Consumers: 1}, nil
	}
	return QueueDeclared{}, v.notFound("queue", name)
}

// deliverReply hands msg to the reply consumer whose reply name is name,
// if it still exists (rabbit_channel, deliver_reply): basic.deliver with
// the consumer's tag, redelivered false, the message's exchange and its
// basic.publish routing key. Its delivery tag is the session's next one,
// not taken: RabbitMQ 3.10.8 sends next_tag without advancing it, so the
// next delivery on the session carries the same tag. Reply consumers are
// no-ack, so no tag is ever acknowledged. No lock held but the
// publisher's opMu.
func (v *VHost) deliverReply(name string, msg *Message) {
	v.repliesMu.Lock()
	s := v.replies[name]
	v.repliesMu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.reply == nil || s.reply.name != name {
		return
	}
	s.unsent++
	s.sink.Deliver(Delivery{Message: msg, ConsumerTag: s.reply.tag, DeliveryTag: s.nextTag})
}
