// Package vhost is the messaging model of one virtual host, as RabbitMQ
// 3.10.8 behaves: exchanges (direct, fanout, topic, headers,
// exchange-to-exchange, alternate), bindings, routing with sender-selected
// distribution (CC and BCC headers), queues (exclusive, auto-delete,
// server-named, x-message-ttl, x-expires, x-max-length, x-max-priority,
// dead-lettering with x-death; classic and quorum types, x-delivery-limit),
// policies (policy.go, policy_apply.go),
// consumers with round-robin dispatch by priority (x-priority) and
// prefetch, direct reply-to, unacknowledged
// deliveries, transactions, and RabbitMQ's error texts for all of them. It
// knows nothing of sockets or frames.
//
// # Use from the broker
//
// One VHost per virtual host. Per client connection, Connect (or
// ConnectWith the user's Access, whose permissions every Session call then
// checks as rabbit_channel does) at connection.open and Conn.Close when the connection ends for any reason
// (its sessions are closed, then its exclusive queues deleted). Per channel,
// Conn.NewSession(sink) at channel.open and Session.Close at channel.close
// or when the channel dies; the channel's Sink receives deliveries. Each
// method the channel receives maps to one Session call:
//
//	exchange.declare/delete/bind/unbind  DeclareExchange, DeleteExchange, BindExchange, UnbindExchange
//	queue.declare/bind/unbind/purge/delete  DeclareQueue, BindQueue, UnbindQueue, PurgeQueue, DeleteQueue
//	basic.publish + content              NewMessage, then Publish (basic.return 312 when !Routed && mandatory)
//	basic.consume / basic.cancel         Consume (consume-ok from its callback), Cancel (then cancel-ok);
//	                                     amq.rabbitmq.reply-to included (replyto.go)
//	basic.get                            Get (get-ok goes through Sink.Deliver; false: get-empty)
//	basic.qos / ack / nack / reject      Qos, Ack, Nack, Reject
//	basic.recover(-async)                Recover
//	tx.select/commit/rollback            TxSelect, TxCommit (returns to send first), TxRollback
//	confirm.select                       ConfirmSelect (the channel numbers and acks publishes)
//
// A returned error is an *amqp.Error naming no method (class and method ids
// 0): the channel gives it the ids of the method it was handling and sends
// it as the channel.close (or, when Hard, the connection.close). Publish has
// delivered (or refused) the message when it returns, so a publisher
// confirm can be sent right after it.
//
// Deliveries come back through Sink.Deliver, called by whichever goroutine
// made a message deliverable (a publisher, an ack, a timer) in delivery-tag
// order. The sink queues them for the connection's writer and returns at
// once: a slow socket never holds up a queue. With Options.UnsentLimit set,
// the writer reports written deliveries through Session.Sent and a session
// with that many unwritten deliveries gets no more until it does.
//
// VHost.Stats sums the message counters RabbitMQ's metrics report
// (stats.go). The channel reports the confirms it sends through
// Session.Confirmed, and calls Session.FlushCounts after a batch of input
// so that Stats sees the publishes counted meanwhile.
//
// # Locking
//
// There is no goroutine per queue: operations run on their caller's
// goroutine, under these locks, taken only in this order (a lock may be
// taken while holding locks above it in the list, never below):
//
//  1. Session.opMu: serialises the channel-side calls of one session.
//  2. VHost.mu (RWMutex): the topology — exchange and queue maps, every
//     binding and routing table, exchange fields, Conn.exclusive, the
//     policies. Routing holds it for reading; declare, bind, unbind, delete
//     and a policy change for writing. A policy change also takes each
//     Queue.mu to set the queue's policy fields, so either lock reads them.
//  3. Queue.mu: one queue's messages, consumers, counters and timers.
//  4. Session.mu: one session's delivery tags, unacknowledged deliveries,
//     consumer tags and prefetch counters. Taken under Queue.mu to hand a
//     message to a consumer, so tags reach the sink in order.
//
// VHost.cyclesMu and VHost.repliesMu are leaves; so are VHost.connsMu and
// Conn.mu but for one order: Stats, Conn.Close and a closing session take
// VHost.connsMu, then Conn.mu, then Session.mu (nothing takes either of
// the first two while holding a Session.mu). Sink methods and the Consume
// callback run with Queue.mu and Session.mu held: they must not block and
// must not call back into this package, and the broker must not call into
// this package while holding a lock they take. A publish is routed under
// VHost.mu (read) and enqueued after releasing it; dead-lettered messages
// are published after their queue's lock is released; so no path holds two
// Queue.mu at once. Timers (message TTL, x-expires) use time.AfterFunc and
// take the same locks. An Access is called under Session.opMu and sometimes
// VHost.mu (declares): it may take only locks of its own, as leaves.
// VHost.Delete, for a deleted vhost, is Close that also removes the durable
// queues' messages from the store.
package vhost
