package heartbeat

import (
	"testing"
	"time"
)

func TestTimeoutErrorText(t *testing.T) {
	cases := []struct {
		timeout time.Duration
		want    string
	}{
		{2 * time.Second, "missed heartbeats from client, timeout: 2s"}, // §2, verbatim
		{60 * time.Second, "missed heartbeats from client, timeout: 60s"},
		{65535 * time.Second, "missed heartbeats from client, timeout: 65535s"},
		{50 * time.Millisecond, "missed heartbeats from client, timeout: 50ms"},
		{1500 * time.Millisecond, "missed heartbeats from client, timeout: 1.5s"},
	}
	for _, c := range cases {
		var err error = &TimeoutError{Timeout: c.timeout}
		if got := err.Error(); got != c.want {
			t.Errorf("TimeoutError{%v}: %q, want %q", c.timeout, got, c.want)
		}
	}
}
