package main

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// wireTypes are the argument types a definition may use, with their Go types.
var wireTypes = map[string]string{
	"bit":       "bool",
	"octet":     "uint8",
	"short":     "uint16",
	"long":      "uint32",
	"longlong":  "uint64",
	"shortstr":  "string",
	"longstr":   "string",
	"timestamp": "time.Time",
	"table":     "Table",
}

// spec is a parsed protocol definition.
type spec struct {
	replies []reply
	classes []*class
}

type reply struct {
	code  int
	name  string // "not-found"
	level string // "soft", "hard" or "-"
}

type class struct {
	id      int
	name    string
	methods []*method
}

type method struct {
	class     *class
	id        int
	name      string
	content   bool
	responses []string // names of response methods in the same class
	fields    []field
}

type field struct {
	name   string // "routing-key"
	domain string // as written: a domain or a wire type
	typ    string // the wire type
	alias  string // for reserved fields: RabbitMQ's name for it
}

// parse reads a definition in the format described at the top of spec/amqp091.def.
func parse(src []byte) (*spec, error) {
	s := &spec{}
	domains := map[string]string{}
	var cur *class
	sc := bufio.NewScanner(bytes.NewReader(src))
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		words := strings.Fields(text)
		if len(words) == 0 {
			continue
		}
		fail := func(format string, args ...any) error {
			return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
		}
		switch words[0] {
		case "reply":
			if len(words) != 4 {
				return nil, fail("want: reply <code> <name> <level>")
			}
			code, err := strconv.Atoi(words[1])
			if err != nil || code <= 0 || code > 0xffff {
				return nil, fail("bad reply code %q", words[1])
			}
			if words[3] != "soft" && words[3] != "hard" && words[3] != "-" {
				return nil, fail("bad level %q", words[3])
			}
			s.replies = append(s.replies, reply{code, words[2], words[3]})
		case "domain":
			if len(words) != 3 {
				return nil, fail("want: domain <name> <type>")
			}
			if _, ok := wireTypes[words[2]]; !ok {
				return nil, fail("unknown wire type %q", words[2])
			}
			if _, dup := domains[words[1]]; dup {
				return nil, fail("domain %q defined twice", words[1])
			}
			domains[words[1]] = words[2]
		case "class":
			if len(words) != 3 {
				return nil, fail("want: class <id> <name>")
			}
			id, err := strconv.Atoi(words[1])
			if err != nil || id <= 0 || id > 0xffff {
				return nil, fail("bad class id %q", words[1])
			}
			for _, c := range s.classes {
				if c.id == id || c.name == words[2] {
					return nil, fail("class %s/%d defined twice", words[2], id)
				}
			}
			cur = &class{id: id, name: words[2]}
			s.classes = append(s.classes, cur)
		case "method":
			if cur == nil {
				return nil, fail("method outside a class")
			}
			if len(words) < 3 {
				return nil, fail("want: method <id> <name> [flags] [: fields]")
			}
			id, err := strconv.Atoi(words[1])
			if err != nil || id <= 0 || id > 0xffff {
				return nil, fail("bad method id %q", words[1])
			}
			m := &method{class: cur, id: id, name: words[2]}
			for _, o := range cur.methods {
				if o.id == id || o.name == m.name {
					return nil, fail("method %s.%s/%d defined twice", cur.name, m.name, id)
				}
			}
			rest := words[3:]
			for len(rest) > 0 && rest[0] != ":" {
				switch flag := rest[0]; {
				case flag == "content":
					m.content = true
				case strings.HasPrefix(flag, "sync="):
					m.responses = strings.Split(strings.TrimPrefix(flag, "sync="), "|")
				default:
					return nil, fail("unknown flag %q", flag)
				}
				rest = rest[1:]
			}
			if len(rest) > 0 {
				rest = rest[1:] // the ':'
				if len(rest) == 0 {
					return nil, fail("':' without fields")
				}
			}
			for _, f := range rest {
				name, dom, ok := strings.Cut(f, ":")
				if !ok || name == "" || dom == "" {
					return nil, fail("bad field %q", f)
				}
				dom, alias, _ := strings.Cut(dom, "=")
				typ, ok := domains[dom]
				if !ok {
					typ, ok = dom, wireTypes[dom] != ""
				}
				if !ok {
					return nil, fail("field %q: unknown domain or type %q", name, dom)
				}
				for _, o := range m.fields {
					if o.name == name {
						return nil, fail("field %q twice", name)
					}
				}
				m.fields = append(m.fields, field{name: name, domain: dom, typ: typ, alias: alias})
			}
			cur.methods = append(cur.methods, m)
		default:
			return nil, fail("unknown statement %q", words[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	// Responses must name methods of the same class.
	for _, c := range s.classes {
		for _, m := range c.methods {
			for _, r := range m.responses {
				if c.method(r) == nil {
					return nil, fmt.Errorf("%s.%s: response %q is not a method of %s", c.name, m.name, r, c.name)
				}
			}
		}
	}
	return s, nil
}

func (c *class) method(name string) *method {
	for _, m := range c.methods {
		if m.name == name {
			return m
		}
	}
	return nil
}
