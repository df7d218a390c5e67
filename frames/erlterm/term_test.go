package erlterm

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestBinary(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{nil, `<<>>`},
		{[]byte("abcd"), `<<"abcd">>`},
		{[]byte{0, 20, 0, 10, 0}, `<<0,20,0,10,0>>`},
		{[]byte(`a"b\c`), `<<"a\"b\\c">>`},
		{[]byte("\n\r\t\v\b\f\x1b"), `<<"\n\r\t\v\b\f\e">>`},
		{[]byte{127}, `<<127>>`},
		{[]byte{'a', 7}, `<<97,7>>`},
		{[]byte{'a', 159}, `<<97,159>>`},
		{[]byte{160, 255}, "<<\"\xa0\xff\">>"},
		{[]byte("abc\x00"), `<<97,98,99,0>>`},
		{[]byte("HTTP/1.1"), `<<"HTTP/1.1">>`},
		{[]byte{22, 3, 1, 0, 165, 1, 0, 0}, `<<22,3,1,0,165,1,0,0>>`},
		{[]byte{22, 3, 1}, `<<22,3,1>>`},
		{[]byte{0, 20}, `<<0,20>>`},
		// Binary never breaks a line, however long.
		{[]byte(strings.Repeat("\x96", 30)), "<<" + strings.Repeat("150,", 29) + "150>>"},
	}
	for _, tt := range tests {
		if got := Binary(tt.in); got != tt.want {
			t.Errorf("Binary(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The line breaking of AppendBinary and AppendTagTuple is checked against
// RabbitMQ's own output by frames' TestExplanationsGolden.

func TestAppendBinaryW(t *testing.T) {
	for _, tt := range []struct {
		in    []byte
		limit int
		want  string
	}{
		{nil, -1, `<<>>`},
		{[]byte("ab"), -1, `<<97,98>>`},
		{[]byte("ab"), 2, `<<97,98>>`},
		{[]byte("abc"), 2, `<<97,98...`},
		{[]byte(strings.Repeat("\x96", 30)), -1, "<<" + strings.Repeat("150,", 29) + "150>>"},
	} {
		if got := string(AppendBinaryW(nil, tt.in, tt.limit)); got != tt.want {
			t.Errorf("AppendBinaryW(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}

func TestTerms(t *testing.T) {
	for got, want := range map[string]string{
		Atom("connection.open"):          `'connection.open'`,
		Atom("none"):                     `none`,
		Atom("not_found"):                `not_found`,
		Atom("a@b_C9"):                   `a@b_C9`,
		Atom("Upper"):                    `'Upper'`,
		Atom(""):                         `''`,
		Atom("end"):                      `'end'`,
		Atom(`it's`):                     `'it\'s'`,
		String(`a "b" \c`):               `"a \"b\" \\c"`,
		String("tab\there\n"):            `"tab\there\n"`,
		String(""):                       `""`,
		MethodAtom("connection.tune-ok"): `connection.tune_ok`,
		MethodAtom(""):                   `none`,
		ErrorAtom("NOT_FOUND"):           `not_found`,
		Tuple("2", "314"):                `{2,314}`,
		Tuple():                          `{}`,
		List(Tuple("signedint", "1"), Tuple("longstr", Binary([]byte("a")))): `[{signedint,1},{longstr,<<"a">>}]`,
		List():                                   `[]`,
		string(AppendTagTuple(nil, 0, "a", "b")): `{a,b}`,
		string(AppendTagTuple(nil, 1, "a")):      `{a}`,
		Float(100):                               `100.0`,
		Float(1.5):                               `1.5`,
		Float(1e21):                              `1.0e21`,
		Float(1.5e-7):                            `1.5e-7`,
		Float(0):                                 `0.0`,
		Float(-2.5e-5):                           `-2.5e-5`,
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestColumn(t *testing.T) {
	for s, want := range map[string]int{"": 1, "abc": 4, "ab\n": 1, "ab\n  x": 4} {
		if got := Column([]byte(s)); got != want {
			t.Errorf("Column(%q) = %d, want %d", s, got, want)
		}
	}
}

var lineBreak = regexp.MustCompile(`\n +`)

// FuzzBinary checks that Binary's output parses back to its input and uses the
// string form exactly when ~p would, and that AppendBinary's line breaks sit
// only where removing them gives Binary's one-line form.
func FuzzBinary(f *testing.F) {
	for _, s := range []string{"", "HTTP/1.1", "a\"b\\c\n\r\t\v\b\f\x1b\xa0\xff", "\x16\x03\x01\x00\xa5\x01\x00\x00",
		strings.Repeat("\x96\a", 20), "AMQP\x00\x00\x09\x01"} {
		f.Add([]byte(s), uint8(27))
	}
	f.Fuzz(func(t *testing.T, b []byte, col uint8) {
		s := Binary(b)
		if back, err := parseBinary(s); err != nil || !bytes.Equal(back, b) {
			t.Fatalf("Binary(%q) = %q does not parse back (%v)", b, s, err)
		}
		broken := string(AppendBinary(nil, b, int(col)+1))
		if lineBreak.ReplaceAllString(broken, "") != s {
			t.Fatalf("AppendBinary(%q, %d) = %q is not a broken form of %q", b, col+1, broken, s)
		}
	})
}

// parseBinary reads back an Erlang binary literal as Binary writes it.
func parseBinary(s string) ([]byte, error) {
	inner, ok := strings.CutPrefix(s, "<<")
	if inner, ok = strings.CutSuffix(inner, ">>"); !ok {
		return nil, errors.New("not <<...>>")
	}
	if inner == "" {
		return []byte{}, nil
	}
	if strings.HasPrefix(inner, `"`) {
		if len(inner) < 2 || !strings.HasSuffix(inner, `"`) {
			return nil, errors.New("unterminated string")
		}
		var out []byte
		str := inner[1 : len(inner)-1]
		for i := 0; i < len(str); i++ {
			c := str[i]
			if c == '"' {
				return nil, errors.New("unescaped quote")
			}
			if c != '\\' {
				if !printableLatin1([]byte{c}) || c < 32 {
					return nil, errors.New("raw control character")
				}
				out = append(out, c)
				continue
			}
			if i++; i == len(str) {
				return nil, errors.New("trailing backslash")
			}
			esc := map[byte]byte{'"': '"', '\\': '\\', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v', 'b': '\b', 'f': '\f', 'e': 27}
			d, ok := esc[str[i]]
			if !ok {
				return nil, errors.New("unknown escape")
			}
			out = append(out, d)
		}
		if len(out) == 0 {
			return nil, errors.New("empty string form")
		}
		return out, nil
	}
	var out []byte
	for _, f := range strings.Split(inner, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 255 || strconv.Itoa(n) != f {
			return nil, errors.New("bad octet " + strconv.Quote(f))
		}
		out = append(out, byte(n))
	}
	if printableLatin1(out) {
		return nil, errors.New("printable octets written as numbers")
	}
	return out, nil
}
