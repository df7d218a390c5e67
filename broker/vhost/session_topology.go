package vhost

import "github.com/beatmq/beatmq/amqp"

// queueName applies rabbit_channel:expand_queue_name_shortcut/2: "" is the
// queue the session declared last.
func (s *Session) queueName(name string) (string, error) {
	if name != "" {
		return name, nil
	}
	if s.lastQueue == "" {
		return "", amqp.NewError(amqp.NotFound, "no previously declared queue")
	}
	return s.lastQueue, nil
}

// DeclareExchange handles exchange.declare. Errors: 503 for an unknown type
// (a connection error), 403 for the default exchange or a new "amq." name,
// 404 for a passive declare of a missing exchange, 406 for a redeclaration
// that differs.
func (s *Session) DeclareExchange(spec ExchangeSpec) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	return s.saved(s.v.declareExchange(spec, s.permit))
}

// DeleteExchange handles exchange.delete. A missing exchange is not an
// error; the default and amq.* exchanges give 403, if-unused with bindings
// 406.
func (s *Session) DeleteExchange(name string, ifUnused bool) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	return s.saved(s.v.deleteExchange(name, ifUnused, s.permit))
}

// BindExchange handles exchange.bind (destination, source, routing key,
// arguments).
func (s *Session) BindExchange(destination, source, key string, args amqp.Table) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if err := s.permitBinding("exchange", destination, source); err != nil {
		return err
	}
	return s.saved(s.v.bind(bindRequest{conn: s.conn, src: source, destKind: "exchange", dest: destination, key: key, args: args}))
}

// UnbindExchange handles exchange.unbind; a missing binding is not an
// error.
func (s *Session) UnbindExchange(destination, source, key string, args amqp.Table) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if err := s.permitBinding("exchange", destination, source); err != nil {
		return err
	}
	return s.saved(s.v.unbind(bindRequest{conn: s.conn, src: source, destKind: "exchange", dest: destination, key: key, args: args}))
}

// DeclareQueue handles queue.declare and remembers the queue for the ""
// shortcut of later methods. The result is the declare-ok's content.
func (s *Session) DeclareQueue(spec QueueSpec) (QueueDeclared, error) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	d, err := s.v.declareQueue(s.conn, spec, s.permit)
	if err == nil {
		s.lastQueue = d.Name
	}
	return d, s.saved(err)
}

// BindQueue handles queue.bind.
func (s *Session) BindQueue(queue, exchange, key string, args amqp.Table) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	queue, key, err := s.bindShortcut(queue, key)
	if err != nil {
		return err
	}
	if err := s.permitBinding("queue", queue, exchange); err != nil {
		return err
	}
	return s.saved(s.v.bind(bindRequest{conn: s.conn, src: exchange, destKind: "queue", dest: queue, key: key, args: args}))
}

// UnbindQueue handles queue.unbind; a missing binding is not an error.
func (s *Session) UnbindQueue(queue, exchange, key string, args amqp.Table) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	queue, key, err := s.bindShortcut(queue, key)
	if err != nil {
		return err
	}
	if err := s.permitBinding("queue", queue, exchange); err != nil {
		return err
	}
	return s.saved(s.v.unbind(bindRequest{conn: s.conn, src: exchange, destKind: "queue", dest: queue, key: key, args: args}))
}

// bindShortcut is rabbit_channel:expand_shortcuts/2 for queue.bind and
// queue.unbind: an empty queue and routing key both mean the last queue.
func (s *Session) bindShortcut(queue, key string) (string, string, error) {
	if queue != "" {
		return queue, key, nil
	}
	q, err := s.queueName("")
	if err != nil {
		return "", "", err
	}
	if key == "" {
		key = q
	}
	return q, key, nil
}

// PurgeQueue handles queue.purge and returns the number of messages
// removed (ready ones; unacknowledged ones stay).
func (s *Session) PurgeQueue(queue string) (uint32, error) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	queue, err := s.queueName(queue)
	if err != nil {
		return 0, err
	}
	if err := s.permit(Read, "queue", queue); err != nil {
		return 0, err
	}
	return s.v.purgeQueue(s.conn, queue)
}

// DeleteQueue handles queue.delete and returns the number of ready
// messages deleted with the queue. Its consumers are cancelled through
// their sinks before it returns.
func (s *Session) DeleteQueue(queue string, ifUnused, ifEmpty bool) (uint32, error) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	queue, err := s.queueName(queue)
	if err != nil {
		return 0, err
	}
	if err := s.permit(Configure, "queue", queue); err != nil {
		return 0, err
	}
	n, err := s.v.deleteQueue(s.conn, queue, ifUnused, ifEmpty)
	return n, s.saved(err)
}

// saved returns err, or when the operation succeeded, the error of saving
// the definitions it changed (see durable.go).
func (s *Session) saved(err error) error {
	if err != nil {
		return err
	}
	return s.v.saveDefinitions()
}

// permitBinding is the check of rabbit_channel:binding_action/10: write on
// the destination, then (once the default exchange is refused as either
// end, which bind and unbind do) read on the source.
func (s *Session) permitBinding(destKind, dest, source string) error {
	if err := s.permit(Write, destKind, dest); err != nil {
		return err
	}
	if stripCRLF(source) == "" || destKind == "exchange" && stripCRLF(dest) == "" {
		return nil // refused further on: operation not permitted on the default exchange
	}
	return s.permit(Read, "exchange", source)
}
