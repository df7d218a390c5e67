package erlterm

import (
	"math"
	"strconv"
	"strings"
)

// controls are the control characters io_lib:printable_latin1_list/1 accepts,
// and escapes the letters io_lib:write_string/2 writes them with after a \.
const controls, escapes = "\n\r\t\v\b\f\x1b", "nrtvbfe"

// printableLatin1 reports whether ~p prints the octets of b as a string:
// io_lib:printable_latin1_list/1 on a non-empty list (32–126, 160–255 and
// \n \r \t \v \b \f \e).
func printableLatin1(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !(c >= 32 && c <= 126 || c >= 160 || strings.IndexByte(controls, c) >= 0) {
			return false
		}
	}
	return true
}

// appendQuoted appends b between quote characters q as io_lib:write_string/2
// writes it: q and \ escaped, \n \r \t \v \b \f \e written as escapes. Other
// octets are written as they are.
func appendQuoted[T string | []byte](dst []byte, b T, q byte) []byte {
	dst = append(dst, q)
	for i := range len(b) {
		c := b[i]
		if c == q || c == '\\' {
			dst = append(dst, '\\', c)
		} else if k := strings.IndexByte(controls, c); k >= 0 {
			dst = append(dst, '\\', escapes[k])
		} else {
			dst = append(dst, c)
		}
	}
	return append(dst, q)
}

// String formats s as ~p prints a printable string (a character list) on one
// line: "text", with " and \ escaped and control characters written as
// io_lib:write_string/2 writes them (\n, \t, ...). RabbitMQ keeps its error
// explanations as strings and logs them this way ({amqp_error,not_found,"no
// queue 'q' in vhost '/'",'queue.declare'}). Other octets, UTF-8 included, are
// written as they are, where Erlang would print a list of integers.
func String(s string) string {
	return string(appendQuoted(make([]byte, 0, len(s)+2), s, '"'))
}

// Atom formats the atom named a as io_lib:write_atom/1 writes it: as it is
// when it starts with a lower-case letter, continues with letters, digits, _
// and @ and is not a reserved word (erl_scan:reserved_word/1), otherwise
// between single quotes ('connection.open', 'end').
func Atom(a string) string {
	if isPlainAtom(a) {
		return a
	}
	return string(appendQuoted(make([]byte, 0, len(a)+2), a, '\''))
}

func isPlainAtom(a string) bool {
	if a == "" || a[0] < 'a' || a[0] > 'z' {
		return false
	}
	for i := range len(a) {
		c := a[i]
		if !(c == '_' || c == '@' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	switch a {
	case "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor",
		"case", "catch", "cond", "div", "end", "fun", "if", "let", "not", "of", "or",
		"orelse", "receive", "rem", "try", "when", "xor":
		return false
	}
	return true
}

// AppendBinaryW appends b as ~w prints a binary (io_lib:write/1): <<>>,
// <<1,2,3>>, always numbers, never broken. When limit >= 0 and b is longer, only
// the first limit octets are written and "..." stands for the rest and the
// closing >>: a form for texts that are cut shorter than that anyway (a reply
// text), which spares rendering a large binary in full.
func AppendBinaryW(dst, b []byte, limit int) []byte {
	dst = append(dst, '<', '<')
	for i, c := range b {
		if i == limit {
			return append(dst, "..."...)
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendUint(dst, uint64(c), 10)
	}
	return append(dst, '>', '>')
}

// Float formats f as Erlang prints a float (io_lib_format:fwrite_g/1), with the
// shortest digits that read back as f: 100.0, 1.5, 1.0e21, 1.5e-7. Magnitudes
// from 1.0e-4 up to 1.0e21 are written in the fixed form, others with an
// exponent; OTP chooses whichever form is shorter, so the two differ for some
// values (1.0e6 here is 1000000.0).
func Float(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	a := math.Abs(f)
	if a == 0 || (a >= 1e-4 && a < 1e21) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	exp = strings.TrimPrefix(exp, "+")
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(strings.TrimPrefix(exp, "-"), "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "e" + exp
}

// Tuple formats a tuple of already formatted elements on one line as ~w (and
// ~p, when it fits) prints it: {2,314}, {signedint,1}, {} when empty.
func Tuple(elems ...string) string {
	return enclose('{', elems, '}')
}

// List formats a list of already formatted elements on one line as ~w (and
// ~p, when it fits and is not a string) prints it: [{signedint,1}], [] when
// empty.
func List(elems ...string) string {
	return enclose('[', elems, ']')
}

func enclose(open byte, elems []string, close byte) string {
	n := 2
	for _, e := range elems {
		n += len(e) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, open)
	for i, e := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return string(append(b, close))
}

// MethodAtom returns the name of the atom RabbitMQ uses for an AMQP method, the
// name of its record in rabbit_framing_amqp_0_9_1 (lookup_method_name/1), given
// the method's name in the specification: "connection.tune-ok" gives
// connection.tune_ok, and "" (no method) gives none. Format it with Atom where
// RabbitMQ prints the atom with ~p ('connection.tune_ok'); its ~s and ~ts texts
// show it as it is.
func MethodAtom(name string) string {
	if name == "" {
		return "none"
	}
	return strings.ReplaceAll(name, "-", "_")
}

// ErrorAtom returns the atom RabbitMQ names an AMQP reply code by
// (rabbit_framing_amqp_0_9_1:amqp_exception/1) given the code's name in the
// specification: NOT_FOUND gives not_found.
func ErrorAtom(replyName string) string {
	return strings.ToLower(replyName)
}
