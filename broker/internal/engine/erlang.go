package engine

import (
	"strconv"
	"strings"
)

// RabbitMQ prints Erlang terms in its logs ({handshake_timeout,frame_header},
// {bad_header,<<"HTTP/1.1">>}); people grep for that text, so beatmq prints the
// same. These helpers render the few shapes it needs, on one line (~p without
// line breaks).

// erlString renders s as Erlang's ~p renders a printable string: "…" with
// backslash escapes.
func erlString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// erlAtom renders an atom, quoting it when Erlang would ('connection.open').
func erlAtom(a string) string {
	plain := a != "" && a[0] >= 'a' && a[0] <= 'z'
	for i := 0; plain && i < len(a); i++ {
		c := a[i]
		plain = c == '_' || c == '@' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
	}
	if plain {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `\'`) + "'"
}

// erlBinary renders b as ~p renders a binary: <<"text">> when every octet is
// printable, otherwise <<1,2,3>>.
func erlBinary(b []byte) string {
	printable := len(b) > 0
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			if c != '\n' && c != '\r' && c != '\t' {
				printable = false
				break
			}
		}
	}
	if printable {
		return "<<" + erlString(string(b)) + ">>"
	}
	var sb strings.Builder
	sb.WriteString("<<")
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.Itoa(int(c)))
	}
	sb.WriteString(">>")
	return sb.String()
}

// methodAtom turns "connection.tune-ok" into RabbitMQ's record name
// connection.tune_ok ("none" when there is no method).
func methodAtom(name string) string {
	if name == "" {
		return "none"
	}
	return strings.ReplaceAll(name, "-", "_")
}

// errorAtom turns a reply code's name (NOT_FOUND) into RabbitMQ's atom (not_found).
func errorAtom(replyName string) string {
	return strings.ToLower(replyName)
}
