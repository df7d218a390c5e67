package vhost

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/beatmq/beatmq/amqp"
)

// topicBindings and the expectations below are RabbitMQ's own topic
// matching test (unit_access_control_SUITE:topic_matching1/1, 3.10.8).
var topicBindings = []struct {
	key, queue string
	args       amqp.Table
}{
	{"a.b.c", "t1", nil},
	{"a.*.c", "t2", nil},
	{"a.#.b", "t3", nil},
	{"a.b.b.c", "t4", nil},
	{"#", "t5", nil},
	{"#.#", "t6", nil},
	{"#.b", "t7", nil},
	{"*.*", "t8", nil},
	{"a.*", "t9", nil},
	{"*.b.c", "t10", nil},
	{"a.#", "t11", nil},
	{"a.#.#", "t12", nil},
	{"b.b.c", "t13", nil},
	{"a.b.b", "t14", nil},
	{"a.b", "t15", nil},
	{"b.c", "t16", nil},
	{"", "t17", nil},
	{"*.*.*", "t18", nil},
	{"vodka.martini", "t19", nil},
	{"a.b.c", "t20", nil},
	{"*.#", "t21", nil},
	{"#.*.#", "t22", nil},
	{"*.#.#", "t23", nil},
	{"#.#.#", "t24", nil},
	{"*", "t25", nil},
	{"#.b.#", "t26", nil},
	{"args-test", "t27", amqp.Table{{Name: "foo", Value: "bar"}}},
	{"args-test", "t27", amqp.Table{{Name: "foo", Value: "baz"}}},
}

func sortedQueues(qs ...string) []string {
	out := slices.Clone(qs)
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func TestTopicMatching(t *testing.T) {
	e := newEnv(t)
	e.declareX("topic_matching-exchange", KindTopic)
	for i := 1; i <= 27; i++ {
		e.declare(fmt.Sprintf("t%d", i), nil)
	}
	for _, b := range topicBindings {
		e.bind(b.queue, "topic_matching-exchange", b.key, b.args)
	}
	check := func(cases []struct {
		key  string
		want []string
	}) {
		t.Helper()
		for _, c := range cases {
			got, err := e.v.Route("topic_matching-exchange", c.key, nil)
			noErr(t, err)
			if got == nil {
				got = []string{}
			}
			want := sortedQueues(c.want...)
			if !slices.Equal(got, want) {
				t.Errorf("key %q: got %v\nwant %v", c.key, got, want)
			}
		}
	}
	type tc = struct {
		key  string
		want []string
	}
	check([]tc{
		{"a.b.c", []string{"t1", "t2", "t5", "t6", "t10", "t11", "t12", "t18", "t20", "t21", "t22", "t23", "t24", "t26"}},
		{"a.b", []string{"t3", "t5", "t6", "t7", "t8", "t9", "t11", "t12", "t15", "t21", "t22", "t23", "t24", "t26"}},
		{"a.b.b", []string{"t3", "t5", "t6", "t7", "t11", "t12", "t14", "t18", "t21", "t22", "t23", "t24", "t26"}},
		{"", []string{"t5", "t6", "t17", "t24"}},
		{"b.c.c", []string{"t5", "t6", "t18", "t21", "t22", "t23", "t24", "t26"}},
		{"a.a.a.a.a", []string{"t5", "t6", "t11", "t12", "t21", "t22", "t23", "t24"}},
		{"vodka.gin", []string{"t5", "t6", "t8", "t21", "t22", "t23", "t24"}},
		{"vodka.martini", []string{"t5", "t6", "t8", "t19", "t21", "t22", "t23", "t24"}},
		{"b.b.c", []string{"t5", "t6", "t10", "t13", "t18", "t21", "t22", "t23", "t24", "t26"}},
		{"nothing.here.at.all", []string{"t5", "t6", "t21", "t22", "t23", "t24"}},
		{"oneword", []string{"t5", "t6", "t21", "t22", "t23", "t24", "t25"}},
		{"args-test", []string{"t5", "t6", "t21", "t22", "t23", "t24", "t25", "t27"}},
	})

	// Remove bindings 1, 5, 11, 19, 21 and 28 (one of the two t27 ones).
	for _, i := range []int{1, 5, 11, 19, 21, 28} {
		b := topicBindings[i-1]
		noErr(t, e.s.UnbindQueue(b.queue, "topic_matching-exchange", b.key, b.args))
	}
	check([]tc{
		{"a.b.c", []string{"t2", "t6", "t10", "t12", "t18", "t20", "t22", "t23", "t24", "t26"}},
		{"a.b", []string{"t3", "t6", "t7", "t8", "t9", "t12", "t15", "t22", "t23", "t24", "t26"}},
		{"a.b.b", []string{"t3", "t6", "t7", "t12", "t14", "t18", "t22", "t23", "t24", "t26"}},
		{"", []string{"t6", "t17", "t24"}},
		{"b.c.c", []string{"t6", "t18", "t22", "t23", "t24", "t26"}},
		{"a.a.a.a.a", []string{"t6", "t12", "t22", "t23", "t24"}},
		{"vodka.gin", []string{"t6", "t8", "t22", "t23", "t24"}},
		{"vodka.martini", []string{"t6", "t8", "t22", "t23", "t24"}},
		{"b.b.c", []string{"t6", "t10", "t13", "t18", "t22", "t23", "t24", "t26"}},
		{"nothing.here.at.all", []string{"t6", "t22", "t23", "t24"}},
		{"oneword", []string{"t6", "t22", "t23", "t24", "t25"}},
		{"args-test", []string{"t6", "t22", "t23", "t24", "t25", "t27"}},
	})

	// Remove the rest: nothing matches and the trie is empty.
	for i, b := range topicBindings {
		if slices.Contains([]int{1, 5, 11, 19, 21, 28}, i+1) {
			continue
		}
		noErr(t, e.s.UnbindQueue(b.queue, "topic_matching-exchange", b.key, b.args))
	}
	check([]tc{{"a.b.c", nil}, {"b.b.c", nil}, {"", nil}})
	e.v.mu.RLock()
	root := e.v.exchanges["topic_matching-exchange"].topic
	e.v.mu.RUnlock()
	if root.count != 0 || len(root.children) != 0 || root.star != nil || root.hash != nil {
		t.Errorf("trie not empty after removing every binding: %+v", root)
	}
}

func TestTopicEdgeWords(t *testing.T) {
	e := newEnv(t)
	e.declareX("tx", KindTopic)
	for _, c := range []struct{ key, q string }{
		{"a..b", "empty-middle"},
		{"a.*.b", "star"},
		{"#.", "hash-then-empty"},
		{"*", "one-word"},
	} {
		e.declare(c.q, nil)
		e.bind(c.q, "tx", c.key, nil)
	}
	for _, c := range []struct {
		key  string
		want []string
	}{
		{"a..b", []string{"empty-middle", "star"}},
		{"a.x.b", []string{"star"}},
		{"x.", []string{"hash-then-empty"}},
		{".", []string{"hash-then-empty"}},
		{"", nil},
		{"*", []string{"one-word"}},
		{strings.Repeat("w.", 40) + "w", nil},
	} {
		got, err := e.v.Route("tx", c.key, nil)
		noErr(t, err)
		if !slices.Equal(got, sortedQueues(c.want...)) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("key %q: got %v, want %v", c.key, got, c.want)
		}
	}
}
