package broker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
)

// restricted starts a broker with user u (password pw) who may configure,
// write and read only the resources named u-*, in vhost "/".
func restricted(t *testing.T) (*brokertest.Broker, *amqp091.Connection) {
	t.Helper()
	b := brokertest.Run(t)
	s := b.Server()
	if err := s.AddUser("u", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPermissions(broker.Permission{User: "u", VHost: "/", Configure: "^u-", Write: "^u-", Read: "^u-"}); err != nil {
		t.Fatal(err)
	}
	admin := mustDialAs(t, b, "guest", "guest", "/")
	ch, err := admin.Channel()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"q", "u-q"} {
		if _, err := ch.QueueDeclare(q, false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range []string{"x", "u-x"} {
		if err := ch.ExchangeDeclare(x, "direct", false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	return b, mustDialAs(t, b, "u", "pw", "/")
}

// channelError runs op on a new channel of c and returns the channel's
// close: op's own error or, for a publish, the close that follows it.
func channelError(t *testing.T, c *amqp091.Connection, op func(ch *amqp091.Channel) error) *amqp091.Error {
	t.Helper()
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	closed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	if err := op(ch); err != nil {
		var e *amqp091.Error
		if errors.As(err, &e) {
			return e
		}
		t.Fatalf("op: %v", err)
	}
	select {
	case e := <-closed:
		return e
	case <-time.After(5 * time.Second):
		_ = ch.Close()
		return nil
	}
}

// Every operation class is refused with RabbitMQ's 403 text
// (rabbit_access_control:check_resource_access/4) when the user lacks its
// permission, and allowed on the resources the expressions match.
func TestPermissionRefusals(t *testing.T) {
	_, c := restricted(t)
	refused := func(what string) string {
		return "ACCESS_REFUSED - access to " + what + " in vhost '/' refused for user 'u'"
	}
	pub := func(x string) func(ch *amqp091.Channel) error {
		return func(ch *amqp091.Channel) error {
			return ch.PublishWithContext(context.Background(), x, "k", false, false, amqp091.Publishing{Body: []byte("m")})
		}
	}
	cases := []struct {
		name string
		op   func(ch *amqp091.Channel) error
		want string
	}{
		{"queue.declare (configure)", func(ch *amqp091.Channel) error {
			_, err := ch.QueueDeclare("q", false, false, false, false, nil)
			return err
		}, refused("queue 'q'")},
		{"queue.delete (configure)", func(ch *amqp091.Channel) error {
			_, err := ch.QueueDelete("q", false, false, false)
			return err
		}, refused("queue 'q'")},
		{"exchange.declare (configure)", func(ch *amqp091.Channel) error {
			return ch.ExchangeDeclare("x", "direct", false, false, false, false, nil)
		}, refused("exchange 'x'")},
		{"exchange.delete (configure)", func(ch *amqp091.Channel) error {
			return ch.ExchangeDelete("x", false, false)
		}, refused("exchange 'x'")},
		{"basic.publish (write)", pub("x"), refused("exchange 'x'")},
		{"basic.publish default exchange (write on amq.default)", pub(""), refused("exchange 'amq.default'")},
		{"basic.consume (read)", func(ch *amqp091.Channel) error {
			_, err := ch.Consume("q", "", false, false, false, false, nil)
			return err
		}, refused("queue 'q'")},
		{"basic.get (read)", func(ch *amqp091.Channel) error {
			_, _, err := ch.Get("q", false)
			return err
		}, refused("queue 'q'")},
		{"queue.purge (read)", func(ch *amqp091.Channel) error {
			_, err := ch.QueuePurge("q", false)
			return err
		}, refused("queue 'q'")},
		{"queue.bind (write on the queue)", func(ch *amqp091.Channel) error {
			return ch.QueueBind("q", "k", "u-x", false, nil)
		}, refused("queue 'q'")},
		{"queue.bind (read on the exchange)", func(ch *amqp091.Channel) error {
			return ch.QueueBind("u-q", "k", "x", false, nil)
		}, refused("exchange 'x'")},
		{"queue.unbind (read on the exchange)", func(ch *amqp091.Channel) error {
			return ch.QueueUnbind("u-q", "k", "x", nil)
		}, refused("exchange 'x'")},
		{"exchange.bind (write on the destination)", func(ch *amqp091.Channel) error {
			return ch.ExchangeBind("x", "k", "u-x", false, nil)
		}, refused("exchange 'x'")},
		{"exchange.bind (read on the source)", func(ch *amqp091.Channel) error {
			return ch.ExchangeBind("u-x", "k", "x", false, nil)
		}, refused("exchange 'x'")},
		{"queue.declare with a dead-letter exchange (write on it)", func(ch *amqp091.Channel) error {
			_, err := ch.QueueDeclare("u-dl", false, true, false, false, amqp091.Table{"x-dead-letter-exchange": "x"})
			return err
		}, refused("exchange 'x'")},
		{"exchange.declare with an alternate exchange (write on it)", func(ch *amqp091.Channel) error {
			return ch.ExchangeDeclare("u-ae", "direct", false, true, false, false, amqp091.Table{"alternate-exchange": "x"})
		}, refused("exchange 'x'")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := channelError(t, c, tc.op)
			if e == nil || e.Code != 403 || e.Reason != tc.want {
				t.Fatalf("got %v, want 403 %s", e, tc.want)
			}
		})
	}

	// What the expressions match is allowed.
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("u-q2", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind("u-q2", "k", "u-x", false, nil); err != nil {
		t.Fatal(err)
	}
	if err := pub("u-x")(ch); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := getWithin(ch, "u-q2"); err != nil || !ok {
		t.Fatalf("get from u-q2: %v %v", ok, err)
	}
	if _, err := ch.QueuePurge("u-q2", false); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDelete("u-q2", false, false, false); err != nil {
		t.Fatal(err)
	}
	// A passive declare needs no permission (rabbit_channel).
	if _, err := ch.QueueDeclarePassive("q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
}

// getWithin polls basic.get until a message comes or a second passes.
func getWithin(ch *amqp091.Channel, q string) (amqp091.Delivery, bool, error) {
	for deadline := time.Now().Add(time.Second); ; {
		d, ok, err := ch.Get(q, true)
		if err != nil || ok || time.Now().After(deadline) {
			return d, ok, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Vhosts are apart: a queue of one is not seen from another, and a user
// needs a permission in each.
func TestVHostIsolation(t *testing.T) {
	b := brokertest.Run(t)
	s := b.Server()
	if err := s.AddVHost("/x"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddVHost("/x"); !errors.Is(err, broker.ErrVHostExists) {
		t.Fatalf("second AddVHost: %v", err)
	}
	if _, err := dialAs(b, "guest", "guest", "/x"); err == nil || !containsAll(err.Error(), "530", "access to vhost '/x' refused for user 'guest'") {
		t.Fatalf("open /x without permission: %v", err)
	}
	if err := s.SetPermissions(broker.Permission{User: "guest", VHost: "/x", Configure: ".*", Write: ".*", Read: ".*"}); err != nil {
		t.Fatal(err)
	}
	cx := mustDialAs(t, b, "guest", "guest", "/x")
	chx, _ := cx.Channel()
	if _, err := chx.QueueDeclare("only-in-x", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	c := mustDialAs(t, b, "guest", "guest", "/")
	e := channelError(t, c, func(ch *amqp091.Channel) error {
		_, err := ch.QueueDeclarePassive("only-in-x", false, false, false, false, nil)
		return err
	})
	if e == nil || e.Code != 404 || e.Reason != "NOT_FOUND - no queue 'only-in-x' in vhost '/'" {
		t.Fatalf("passive declare in /: %v", e)
	}
	if _, err := dialAs(b, "guest", "guest", "/nope"); err == nil || !containsAll(err.Error(), "530", "vhost /nope not found") {
		t.Fatalf("open of a missing vhost: %v", err)
	}
}

// Deleting a vhost closes its connections with RabbitMQ's 320 text and
// deletes its queues and exchanges.
func TestDeleteVHostClosesConnections(t *testing.T) {
	b := brokertest.Run(t)
	s := b.Server()
	if err := s.AddVHost("/x"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPermissions(broker.Permission{User: "guest", VHost: "/x", Configure: ".*", Write: ".*", Read: ".*"}); err != nil {
		t.Fatal(err)
	}
	c := mustDialAs(t, b, "guest", "guest", "/x")
	closed := c.NotifyClose(make(chan *amqp091.Error, 1))
	ch, _ := c.Channel()
	if _, err := ch.QueueDeclare("q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVHost("/x"); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-closed:
		if e == nil || e.Code != 320 || e.Reason != "CONNECTION_FORCED - vhost '/x' is deleted" {
			t.Fatalf("close: %v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the connection to the deleted vhost stayed open")
	}
	for _, q := range s.Queues() {
		if q.VHost == "/x" {
			t.Fatalf("queue left: %+v", q)
		}
	}
	for _, p := range s.Permissions() {
		if p.VHost == "/x" {
			t.Fatalf("permission left: %+v", p)
		}
	}
	if err := s.DeleteVHost("/x"); !errors.Is(err, broker.ErrNoVHost) {
		t.Fatalf("second DeleteVHost: %v", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// A user with the impersonator tag may publish with any user_id
// (rabbit_channel:check_user_id_header/2); others get 406.
func TestImpersonatorTag(t *testing.T) {
	b := brokertest.Run(t)
	s := b.Server()
	for _, u := range []string{"imp", "plain"} {
		if err := s.AddUser(u, "pw"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPermissions(broker.Permission{User: u, VHost: "/", Configure: ".*", Write: ".*", Read: ".*"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetUserTags("imp", []string{broker.TagImpersonator}); err != nil {
		t.Fatal(err)
	}
	pub := func(ch *amqp091.Channel) error {
		return ch.PublishWithContext(context.Background(), "", "k", false, false, amqp091.Publishing{UserId: "someone"})
	}
	imp := mustDialAs(t, b, "imp", "pw", "/")
	ch, err := imp.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	conf, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", "k", false, false, amqp091.Publishing{UserId: "someone"})
	if err != nil || !conf.Wait() {
		t.Fatalf("impersonator's publish: %v", err)
	}
	e := channelError(t, mustDialAs(t, b, "plain", "pw", "/"), pub)
	if e == nil || e.Code != 406 || e.Reason != "PRECONDITION_FAILED - user_id property set to 'someone' but authenticated user was 'plain'" {
		t.Fatalf("plain user's publish: %v", e)
	}
}

// Deleting a user closes its connections with RabbitMQ's 320 text.
func TestDeleteUserClosesConnections(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithLogs())
	s := b.Server()
	if err := s.AddUser("app", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPermissions(broker.Permission{User: "app", VHost: "/", Configure: ".*", Write: ".*", Read: ".*"}); err != nil {
		t.Fatal(err)
	}
	c := mustDialAs(t, b, "app", "pw", "/")
	closed := c.NotifyClose(make(chan *amqp091.Error, 1))
	if err := s.DeleteUser("app"); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-closed:
		if e == nil || e.Code != 320 || e.Reason != "CONNECTION_FORCED - user 'app' is deleted" {
			t.Fatalf("close: %v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the deleted user's connection stayed open")
	}
	for _, want := range []string{"Created user 'app'", "Successfully set permissions for 'app' in virtual host '/' to '.*', '.*', '.*'",
		"Deleted user 'app'", "Closing all connections from user 'app' because it's being deleted"} {
		if len(b.Logs().Lines(want)) != 1 {
			t.Errorf("log lacks %q:\n%s", want, b.Logs())
		}
	}
}
