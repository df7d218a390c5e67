package broker_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/brokertest"
)

// rabbitHash is a password_hash from a RabbitMQ 3.7 definitions export,
// published with its password: legatest.
const rabbitHash = "P9snZluoiHj2JeGqrDYmUHGLu637Qo7Fjgn5wakpk4jCyvcO"

// dialAs opens a connection to vhost vh of b as user:pw.
func dialAs(b *brokertest.Broker, user, pw, vh string) (*amqp091.Connection, error) {
	host, port, _ := net.SplitHostPort(b.Addr())
	p, _ := strconv.Atoi(port)
	u := amqp091.URI{Scheme: "amqp", Host: host, Port: p, Username: user, Password: pw, Vhost: vh}
	return amqp091.Dial(u.String())
}

// mustDialAs is dialAs that fails the test on an error; the connection is
// closed at cleanup.
func mustDialAs(t *testing.T, b *brokertest.Broker, user, pw, vh string) *amqp091.Connection {
	t.Helper()
	c, err := dialAs(b, user, pw, vh)
	if err != nil {
		t.Fatalf("dial %s@%s: %v", user, vh, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// A user whose password_hash RabbitMQ made logs in with its password.
func TestUserWithRabbitMQHash(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithUsers(broker.User{Name: "legatest", PasswordHash: rabbitHash}))
	mustDialAs(t, b, "legatest", "legatest", "/")
	if _, err := dialAs(b, "legatest", "wrong", "/"); err == nil {
		t.Fatal("a wrong password was accepted")
	}
	u, ok := b.Server().LookupUser("legatest")
	if !ok || u.PasswordHash != rabbitHash || !slices.Equal(u.Tags, []string{broker.TagAdministrator}) {
		t.Fatalf("LookupUser = %+v, %v", u, ok)
	}
}

func TestUserOperations(t *testing.T) {
	b := brokertest.Run(t)
	s := b.Server()
	if err := s.AddUser("app", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser("app", "pw"); !errors.Is(err, broker.ErrUserExists) {
		t.Fatalf("second AddUser: %v", err)
	}
	// No permission yet: connection.open is refused.
	if _, err := dialAs(b, "app", "pw", "/"); err == nil || !strings.Contains(err.Error(), "access to vhost '/' refused for user 'app'") {
		t.Fatalf("open without permissions: %v", err)
	}
	if err := s.SetPermissions(broker.Permission{User: "app", VHost: "/", Configure: ".*", Write: ".*", Read: ".*"}); err != nil {
		t.Fatal(err)
	}
	mustDialAs(t, b, "app", "pw", "/")
	if err := s.ChangePassword("app", "new"); err != nil {
		t.Fatal(err)
	}
	if s.CheckPassword("app", "pw") || !s.CheckPassword("app", "new") {
		t.Fatal("ChangePassword did not change the password")
	}
	if err := s.SetUserTags("app", []string{"monitoring", "management", "monitoring"}); err != nil {
		t.Fatal(err)
	}
	if tags, _ := s.Authenticate("app", "new"); !slices.Equal(tags, []string{"monitoring", "management"}) {
		t.Fatalf("tags %v", tags)
	}
	if err := s.DeleteUser("app"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser("app"); !errors.Is(err, broker.ErrNoUser) {
		t.Fatalf("second DeleteUser: %v", err)
	}
	for _, p := range s.Permissions() {
		if p.User == "app" {
			t.Fatalf("permission left after DeleteUser: %+v", p)
		}
	}
	if err := s.SetPermissions(broker.Permission{User: "guest", VHost: "/", Configure: "("}); err == nil {
		t.Fatal("an invalid expression was accepted")
	}
}

// Users, vhosts and permissions are kept in the data directory, with
// RabbitMQ's password_hash and hashing_algorithm; the configured users only
// seed a new one.
func TestUsersSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	b := brokertest.Run(t, brokertest.WithDataDir(dir))
	s := b.Server()
	if err := s.AddVHost("/x"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser("app", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserTags("app", []string{"management"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPermissions(broker.Permission{User: "app", VHost: "/x", Configure: "^app\\.", Write: "", Read: ".*"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser("guest"); err != nil {
		t.Fatal(err)
	}
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	s = b.Server()
	if !s.CheckPassword("app", "pw") || s.CheckPassword("guest", "guest") {
		t.Fatal("users after restart: app must log in, guest must be gone")
	}
	if got := s.VHosts(); !slices.Equal(got, []string{"/", "/x"}) {
		t.Fatalf("vhosts after restart: %v", got)
	}
	want := []broker.Permission{{User: "app", VHost: "/x", Configure: "^app\\.", Write: "", Read: ".*"}}
	if got := s.Permissions(); !slices.Equal(got, want) {
		t.Fatalf("permissions after restart: %+v", got)
	}
	mustDialAs(t, b, "app", "pw", "/x")
	defs, err := os.ReadFile(filepath.Join(dir, "definitions.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"password_hash": "`, `"hashing_algorithm": "rabbit_password_hashing_sha256"`, `"tags": [
        "management"`} {
		if !strings.Contains(string(defs), w) {
			t.Errorf("definitions lack %s:\n%s", w, defs)
		}
	}
}

// A vhost deleted at run time stays deleted after a restart, though
// Config.VHosts lists it: the data directory's definitions rule.
func TestDeletedVHostStaysDeleted(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	if err := b.Server().AddVHost("/x"); err != nil {
		t.Fatal(err)
	}
	if err := b.Server().DeleteVHost("/"); err != nil {
		t.Fatal(err)
	}
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	if got := b.Server().VHosts(); !slices.Equal(got, []string{"/x"}) {
		t.Fatalf("vhosts after restart: %v", got)
	}
}

// A deleted vhost's durable queues and their persistent messages are gone
// for good: a vhost of the same name made after a restart is empty.
func TestDeletedVHostLosesItsMessages(t *testing.T) {
	b := brokertest.Run(t, brokertest.WithDataDir(t.TempDir()))
	s := b.Server()
	if err := s.AddVHost("/x"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPermissions(broker.Permission{User: "guest", VHost: "/x", Configure: ".*", Write: ".*", Read: ".*"}); err != nil {
		t.Fatal(err)
	}
	c := mustDialAs(t, b, "guest", "guest", "/x")
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("dq", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	conf, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", "dq", false, false,
		amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: []byte("m")})
	if err != nil || !conf.Wait() {
		t.Fatalf("publish: %v", err)
	}
	if err := s.DeleteVHost("/x"); err != nil {
		t.Fatal(err)
	}
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	s = b.Server()
	if err := s.AddVHost("/x"); err != nil {
		t.Fatal(err)
	}
	for _, q := range s.Queues() {
		if q.VHost == "/x" {
			t.Fatalf("queue of the deleted vhost came back: %+v", q)
		}
	}
	if len(s.Permissions()) != 1 {
		t.Fatalf("permissions: %+v", s.Permissions())
	}
}
