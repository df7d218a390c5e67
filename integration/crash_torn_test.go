//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const (
	tornQueue = "torn.q"
	tornCount = 200
)

// TestCrashTornTail damages the newest segment file of the message store
// while the broker is down and restarts it on the same directory:
//
//   - garbage: 200 confirmed persistent messages, SIGKILL, 61 random bytes
//     appended to the newest segment;
//   - truncate: 200 confirmed persistent messages, then one more of 8 KiB,
//     SIGKILL, the segment cut in the middle of that last record;
//
// each with --log-format text (the default, RabbitMQ's layout) and json.
//
// After the restart the 200 messages written before the damage must all be
// there, in order, marked redelivered (a kill) (and the cut one gone); the broker's log
// must carry the store's warning naming the file, the offset where it cut,
// the bytes it dropped (and, in JSON, the reason); and the repaired segment must take new
// messages that survive one more SIGKILL.
func TestCrashTornTail(t *testing.T) {
	skipOnRabbitMQ(t)
	for _, tc := range []struct{ mode, format string }{
		{"garbage", "text"}, {"garbage", "json"}, {"truncate", "text"}, {"truncate", "json"},
	} {
		mode := tc.mode
		t.Run(mode+"-"+tc.format, func(t *testing.T) {
			b := newCrashBroker(t, "crash-torn-"+mode+"-"+tc.format)
			b.format = tc.format
			if err := b.start("data"); err != nil {
				t.Fatal(err)
			}
			bodies := make([]string, tornCount)
			for i := range bodies {
				bodies[i] = fmt.Sprintf("torn-%04d", i)
			}
			if err := tornPublish(b, bodies); err != nil {
				t.Fatalf("publishing: %v", err)
			}
			seg, err := b.newestSegment()
			if err != nil {
				t.Fatal(err)
			}
			goodEnd := fileSize(t, seg)
			if mode == "truncate" {
				extra := "torn-extra-" + strings.Repeat("x", 8<<10)
				if err := tornPublish(b, []string{extra}); err != nil {
					t.Fatalf("publishing the last message: %v", err)
				}
				if s, _ := b.newestSegment(); s != seg {
					t.Fatalf("the store moved on to segment %s: the test expects one segment", s)
				}
			}
			if err := b.kill(); err != nil {
				t.Fatal(err)
			}
			end := fileSize(t, seg)
			if mode == "garbage" && end != goodEnd {
				t.Fatalf("%s: %d bytes after the kill, %d once the messages were confirmed", seg, end, goodEnd)
			}
			var wantOffset, wantDropped int64
			switch mode {
			case "garbage":
				garbage := make([]byte, 61)
				r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
				for i := range garbage {
					garbage[i] = byte(r.Uint32())
				}
				f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.Write(garbage); err != nil {
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
				wantOffset, wantDropped = end, int64(len(garbage))
				t.Logf("appended %d random bytes to %s at offset %d: % x", len(garbage), filepath.Base(seg), end, garbage[:16])
			case "truncate":
				cut := goodEnd + (end-goodEnd)/2
				if err := os.Truncate(seg, cut); err != nil {
					t.Fatal(err)
				}
				wantOffset, wantDropped = goodEnd, cut-goodEnd
				t.Logf("the last record of %s spans %d..%d; truncated the file to %d", filepath.Base(seg), goodEnd, end, cut)
			}
			logBefore := fileSize(t, b.logPath)
			if err := b.start("data"); err != nil {
				t.Fatalf("restart after the damage: %v", err)
			}
			raw, err := os.ReadFile(b.logPath)
			if err != nil {
				t.Fatal(err)
			}
			var cutLine string
			for _, line := range strings.Split(string(raw[logBefore:]), "\n") {
				if strings.Contains(line, "torn tail") {
					cutLine = line
					break
				}
			}
			if cutLine == "" {
				t.Errorf("the broker's log has no torn-tail warning after the restart; it logged:\n%s", raw[logBefore:])
			} else {
				t.Logf("broker log (--log-format %s): %s", tc.format, cutLine)
				if err := checkCutLine(cutLine, tc.format, seg, wantOffset, wantDropped); err != nil {
					t.Errorf("the torn-tail warning does not say what was cut: %v", err)
				}
			}
			if got := fileSize(t, seg); got != wantOffset {
				t.Errorf("%s is %d bytes after recovery, want %d (cut at the last valid record)", seg, got, wantOffset)
			}
			if err := tornConsume(b, bodies); err != nil {
				t.Fatalf("after the damage: %v", err)
			}

			// The repaired log takes new records, and they survive a kill.
			more := []string{"torn-after-0", "torn-after-1", "torn-after-2"}
			if err := tornPublish(b, more); err != nil {
				t.Fatalf("publishing after the repair: %v", err)
			}
			if err := b.kill(); err != nil {
				t.Fatal(err)
			}
			if err := b.start("data"); err != nil {
				t.Fatalf("second restart: %v", err)
			}
			if err := tornConsume(b, more); err != nil {
				t.Fatalf("after the repair and one more kill: %v", err)
			}
			raw, _ = os.ReadFile(b.logPath)
			if n := strings.Count(string(raw), "torn tail"); n != 1 {
				t.Errorf("%d torn-tail warnings in the log, want 1 (the repaired segment must recover cleanly)", n)
			}
		})
	}
}

// checkCutLine checks that the store's torn-tail warning names the
// segment file, the offset it cut at, the bytes it dropped and a reason:
// as attributes in the JSON layout; in the text layout (RabbitMQ's, which
// prints no attributes) in the message itself, in any wording.
func checkCutLine(line, format, seg string, offset, dropped int64) error {
	if format == "json" {
		var rec struct {
			Level   string `json:"level"`
			File    string `json:"file"`
			Offset  *int64 `json:"offset"`
			Dropped *int64 `json:"dropped_bytes"`
			Reason  string `json:"reason"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return err
		}
		var bad []string
		if rec.Level != "warning" {
			bad = append(bad, fmt.Sprintf("level %q, want warning", rec.Level))
		}
		if rec.File != seg {
			bad = append(bad, fmt.Sprintf("file %q, want %q", rec.File, seg))
		}
		if rec.Offset == nil || *rec.Offset != offset {
			bad = append(bad, fmt.Sprintf("offset %v, want %d", ptrString(rec.Offset), offset))
		}
		if rec.Dropped == nil || *rec.Dropped != dropped {
			bad = append(bad, fmt.Sprintf("dropped_bytes %v, want %d", ptrString(rec.Dropped), dropped))
		}
		if rec.Reason == "" {
			bad = append(bad, "no reason")
		}
		if len(bad) > 0 {
			return errors.New(strings.Join(bad, "; "))
		}
		return nil
	}
	var missing []string
	if !strings.Contains(line, "[warning]") {
		missing = append(missing, "level [warning]")
	}
	if !strings.Contains(line, filepath.Base(seg)) {
		missing = append(missing, "the file "+filepath.Base(seg))
	}
	for _, n := range []int64{offset, dropped} {
		if !regexp.MustCompile(`\b` + strconv.FormatInt(n, 10) + `\b`).MatchString(line) {
			missing = append(missing, strconv.FormatInt(n, 10))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the text line lacks %s (the attributes file, offset, dropped_bytes and reason are not printed by the text layout)", strings.Join(missing, ", "))
	}
	return nil
}

func ptrString(p *int64) string {
	if p == nil {
		return "missing"
	}
	return strconv.FormatInt(*p, 10)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// tornPublish declares the durable queue and publishes bodies to it,
// persistent, waiting for every confirm.
func tornPublish(b *crashBroker, bodies []string) error {
	conn, ch, err := b.channel("torn-publish")
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := ch.QueueDeclare(tornQueue, true, false, false, false, nil); err != nil {
		return err
	}
	if err := ch.Confirm(false); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dcs := make([]*amqp.DeferredConfirmation, 0, len(bodies))
	for _, body := range bodies {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", tornQueue, true, false,
			amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte(body)})
		if err != nil {
			return err
		}
		dcs = append(dcs, dc)
	}
	for i, dc := range dcs {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("message %d nacked", i)
		}
	}
	return conn.Close()
}

// tornConsume checks that the queue holds exactly want, in order, all
// marked redelivered (the broker was killed), and consumes them (acked).
func tornConsume(b *crashBroker, want []string) error {
	conn, ch, err := b.channel("torn-consume")
	if err != nil {
		return err
	}
	defer conn.Close()
	qi, err := ch.QueueDeclarePassive(tornQueue, true, false, false, false, nil)
	if err != nil {
		return err
	}
	if qi.Messages != len(want) {
		return fmt.Errorf("%s holds %d messages, want %d", tornQueue, qi.Messages, len(want))
	}
	for i, body := range want {
		d, ok, err := ch.Get(tornQueue, false)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("message %d (%.20s...) missing", i, body)
		}
		if !bytes.Equal(d.Body, []byte(body)) {
			return fmt.Errorf("message %d is %.20q, want %.20q", i, d.Body, body)
		}
		if !d.Redelivered {
			// After a kill every recovered message is flagged (README,
			// Durability: a delivery mark may be lost with the crash).
			return fmt.Errorf("message %d (%.20s) not marked redelivered after a kill", i, body)
		}
		if d.DeliveryMode != amqp.Persistent {
			return fmt.Errorf("message %d has delivery mode %d", i, d.DeliveryMode)
		}
	}
	if err := ch.Ack(uint64(len(want)), true); err != nil {
		return err
	}
	return conn.Close()
}
