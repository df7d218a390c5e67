package frames

import (
	"bufio"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/beatmq/beatmq/frames/erlterm"
)

// TestExplanationsGolden compares reply texts with those RabbitMQ 3.10.8's own code
// produced (testdata/explanations.escript), line breaks of Erlang's ~p included.
func TestExplanationsGolden(t *testing.T) {
	f, err := os.Open("testdata/explanations.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	lines, wrapped := 0, 0
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		lines++
		switch fields[0] {
		case "frame":
			typ := uint8(atoi(t, fields[1]))
			payload := unhex(t, fields[2])
			want := unescape(t, fields[4])
			var e *Error
			switch reason := strings.Split(fields[3], ":"); {
			case reason[0] == "-":
				e = UnexpectedFrame(Frame{Type: typ, Payload: payload})
			default:
				e = frameError(typ, 0, payload, false, reason[0], reason[1:]...)
			}
			if got := e.ReplyText(); got != want {
				t.Errorf("line %d: type %d payload %x reason %s:\n got %q\nwant %q", lines, typ, payload, fields[3], got, want)
			}
			if strings.Contains(want, "\n") {
				wrapped++
			}
		case "header":
			h := [8]byte(unhex(t, fields[1]))
			want := unescape(t, fields[2])
			_, _, err := ParseProtocolHeader(h)
			if h[0] == 'A' && h[1] == 'M' && h[2] == 'Q' && h[3] == 'P' {
				continue // the generator only produces bad_header terms
			}
			if he, ok := err.(*HeaderError); !ok || he.Reason() != want {
				t.Errorf("line %d: header %x: got %v, want reason %q", lines, h, err, want)
			}
		case "tuple":
			col := atoi(t, fields[1])
			want := unescape(t, fields[4])
			got := string(erlterm.AppendTagTuple(nil, col, fields[2], strings.Fields(fields[3])...))
			if got != want {
				t.Errorf("line %d: tuple at column %d:\n got %q\nwant %q", lines, col, got, want)
			}
		case "binary":
			col := atoi(t, fields[1])
			want := unescape(t, fields[3])
			if got := string(erlterm.AppendBinary(nil, unhex(t, fields[2]), col)); got != want {
				t.Errorf("line %d: binary at column %d:\n got %q\nwant %q", lines, col, got, want)
			}
		default:
			t.Fatalf("line %d: unknown kind %q", lines, fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if lines < 500 || wrapped < 50 {
		t.Fatalf("golden file too thin: %d lines, %d with line breaks", lines, wrapped)
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	if s == "-" {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unescape decodes the golden file's \xHH escapes.
func unescape(t *testing.T, s string) string {
	t.Helper()
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		if i+3 >= len(s) || s[i+1] != 'x' {
			t.Fatalf("bad escape in %q", s)
		}
		b = append(b, unhex(t, s[i+2:i+4])...)
		i += 3
	}
	return string(b)
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}
