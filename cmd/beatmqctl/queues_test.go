package main

import (
	"testing"

	"github.com/beatmq/beatmq/broker/mgmt"
)

// list_channels, list_bindings, purge_queue and delete_queue print
// rabbitmqctl 3.10.8's banners, tables and errors and exit with its codes
// (checked against a RabbitMQ 3.10.8 node's rabbitmqctl).
func TestQueueCommands(t *testing.T) {
	b, env := broker(t)
	const conn = "127.0.0.1:1000 -> 127.0.0.1:5672"
	b.AddConnection(mgmt.Connection{Name: conn, User: "guest", Vhost: "/"})
	b.AddChannel(mgmt.Channel{Connection: conn, Number: 1, User: "guest", Vhost: "/", PrefetchCount: 2, Unacked: 1,
		Consumers: []mgmt.ChannelConsumer{{Tag: "c", Queue: "busy"}}})
	b.AddChannel(mgmt.Channel{Connection: conn, Number: 2, User: "guest", Vhost: "/", Confirm: true})
	b.AddQueue(mgmt.Queue{Name: "full", Vhost: "/"})
	b.AddQueue(mgmt.Queue{Name: "busy", Vhost: "/", Consumers: 1})
	b.AddQueue(mgmt.Queue{Name: "empty", Vhost: "/"})
	b.AddMessage("/", "full", mgmt.Message{Body: []byte("a")})
	b.AddMessage("/", "full", mgmt.Message{Body: []byte("b")})
	b.AddBinding(mgmt.Binding{Vhost: "/", Source: "amq.direct", Destination: "full", DestinationType: "queue", RoutingKey: "k",
		Arguments: map[string]any{"x": int64(1), "s": "v"}})
	steps := []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"list_channels"}, 0, "Listing channels ...\nname\tuser\tconsumer_count\tmessages_unacknowledged\n" +
			conn + " (1)\tguest\t1\t1\n" + conn + " (2)\tguest\t0\t0\n", ""},
		{[]string{"-q", "list_channels", "connection", "number", "prefetch_count", "confirm"}, 0,
			"connection\tnumber\tprefetch_count\tconfirm\n" + conn + "\t1\t2\tfalse\n" + conn + "\t2\t0\ttrue\n", ""},
		{[]string{"list_channels", "pid"}, 64, "", ""},
		{[]string{"list_bindings"}, 0, "Listing bindings for vhost /...\n" +
			"source_name\tsource_kind\tdestination_name\tdestination_kind\trouting_key\targuments\n" +
			"\texchange\tfull\tqueue\tfull\t[]\n\texchange\tbusy\tqueue\tbusy\t[]\n\texchange\tempty\tqueue\tempty\t[]\n" +
			"amq.direct\texchange\tfull\tqueue\tk\t[{\"s\",\"v\"},{\"x\",1}]\n", ""},
		{[]string{"-s", "list_bindings", "-p", "/nope"}, 0, "", ""},
		{[]string{"list_bindings", "-p", "/nope"}, 0, "Listing bindings for vhost /nope...\n", ""},
		{[]string{"delete_queue", "full", "--if-empty"}, 64, "Deleting queue 'full' on vhost '/' if queue is empty ...\n", "Error:\nQueue is not empty\n"},
		{[]string{"delete_queue", "-u", "busy"}, 64, "Deleting queue 'busy' on vhost '/' if queue is unused ...\n", "Error:\nQueue is in use\n"},
		{[]string{"delete_queue", "nope"}, 64, "Deleting queue 'nope' on vhost '/' ...\n", "Error:\nQueue not found\n"},
		{[]string{"delete_queue"}, 64, "", ""},
		{[]string{"list_queues", "--if-empty"}, 64, "", ""},
		{[]string{"purge_queue", "nope"}, 69, "Purging queue 'nope' in vhost '/' ...\n", "Error:\nnot_found\n"},
		{[]string{"purge_queue", "-p", "/nope", "full"}, 69, "Purging queue 'full' in vhost '/nope' ...\n", "Error:\nnot_found\n"},
		{[]string{"purge_queue", "full"}, 0, "Purging queue 'full' in vhost '/' ...\n", ""},
		{[]string{"purge_queue", "a", "b"}, 64, "", ""},
		{[]string{"delete_queue", "empty", "-e", "--if-unused"}, 0,
			"Deleting queue 'empty' on vhost '/' if queue is empty and if queue is unused ...\nQueue was successfully deleted with 0 ready messages\n", ""},
	}
	for _, s := range steps {
		r := ctl(env, s.args...)
		if r.code != s.code || r.stdout != s.stdout || (s.code != 64 && r.stderr != s.stderr) {
			t.Errorf("beatmqctl %q:\ncode %d, want %d\nstdout %q\nwant   %q\nstderr %q\nwant   %q", s.args, r.code, s.code, r.stdout, s.stdout, r.stderr, s.stderr)
		}
	}
	if ms := b.Messages("/", "full"); len(ms) != 0 {
		t.Fatalf("full after purge_queue: %d messages", len(ms))
	}
	b.AddMessage("/", "full", mgmt.Message{Body: []byte("c")})
	if r := ctl(env, "-q", "delete_queue", "full"); r.code != 0 || r.stdout != "Queue was successfully deleted with 1 ready messages\n" {
		t.Fatalf("delete_queue full: %+v", r)
	}
	if r := ctl(env, "-q", "list_queues"); r.stdout != "name\tmessages\nbusy\t0\n" {
		t.Fatalf("queues left: %q", r.stdout)
	}
}
