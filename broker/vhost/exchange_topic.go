package vhost

import "strings"

// topicNode is a node of a topic exchange's trie, as in RabbitMQ's
// rabbit_exchange_type_topic: one edge per binding-key word, "*" and "#"
// kept apart from the literal words. Guarded by VHost.mu.
type topicNode struct {
	children map[string]*topicNode
	star     *topicNode
	hash     *topicNode
	bindings []*binding
	// count is the number of bindings in this subtree, to prune empty paths.
	count int
}

// splitTopic splits a key into words as rabbit_exchange_type_topic:
// split_topic_key/1 does: "" has no words, "a..b" has an empty middle word.
// The words are appended to dst (substrings, no copies).
func splitTopic(dst []string, key string) []string {
	if key == "" {
		return dst
	}
	for {
		i := strings.IndexByte(key, '.')
		if i < 0 {
			return append(dst, key)
		}
		dst = append(dst, key[:i])
		key = key[i+1:]
	}
}

func (n *topicNode) child(w string, create bool) *topicNode {
	switch w {
	case "*":
		if n.star == nil && create {
			n.star = &topicNode{}
		}
		return n.star
	case "#":
		if n.hash == nil && create {
			n.hash = &topicNode{}
		}
		return n.hash
	}
	c := n.children[w]
	if c == nil && create {
		if n.children == nil {
			n.children = make(map[string]*topicNode)
		}
		c = &topicNode{}
		n.children[w] = c
	}
	return c
}

func (n *topicNode) add(b *binding) {
	var buf [16]string
	words := splitTopic(buf[:0], b.key)
	cur := n
	cur.count++
	for _, w := range words {
		cur = cur.child(w, true)
		cur.count++
	}
	cur.bindings = append(cur.bindings, b)
}

func (n *topicNode) remove(b *binding) {
	var buf [16]string
	words := splitTopic(buf[:0], b.key)
	// Find the path first: a binding that is not there changes nothing.
	var pathBuf [17]*topicNode
	path := append(pathBuf[:0], n)
	cur := n
	for _, w := range words {
		cur = cur.child(w, false)
		if cur == nil {
			return
		}
		path = append(path, cur)
	}
	before := len(cur.bindings)
	cur.bindings = removeBinding(cur.bindings, b)
	if len(cur.bindings) == before {
		return
	}
	for _, p := range path {
		p.count--
	}
	// Prune the nodes left without bindings below them.
	for i := len(words) - 1; i >= 0; i-- {
		if path[i+1].count > 0 {
			break
		}
		parent, w := path[i], words[i]
		switch w {
		case "*":
			parent.star = nil
		case "#":
			parent.hash = nil
		default:
			delete(parent.children, w)
		}
	}
}

// match adds the bindings whose key matches words to r, as
// rabbit_exchange_type_topic:trie_match/4 does; it may add one binding more
// than once. It reports whether any binding matched.
func (n *topicNode) match(r *router, words []string) bool {
	matched := false
	if len(words) == 0 {
		if len(n.bindings) > 0 {
			matched = true
			r.addBindings(n.bindings)
		}
		if n.hash != nil && n.hash.match(r, words) {
			matched = true
		}
		return matched
	}
	if n.children != nil {
		if c := n.children[words[0]]; c != nil && c.match(r, words[1:]) {
			matched = true
		}
	}
	if n.star != nil && n.star.match(r, words[1:]) {
		matched = true
	}
	if n.hash != nil {
		// "#" takes zero or more words: trie_match_skip_any/4.
		for i := 0; i <= len(words); i++ {
			if n.hash.match(r, words[i:]) {
				matched = true
			}
		}
	}
	return matched
}
