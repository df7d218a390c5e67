//go:build linux

package alarm_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/beatmq/beatmq/broker"
	"github.com/beatmq/beatmq/broker/alarm"
	"github.com/beatmq/beatmq/broker/brokertest"
)

// Sizes of the filling-filesystem test: a 64 MiB tmpfs, a 16 MiB limit,
// 64 KiB messages.
const (
	fillFSSize   = 64 << 20
	fillLimit    = 16 << 20
	fillMsgSize  = 64 << 10
	fillHeadroom = 4 << 20 // free space above the limit left by the filler
	fillMaxMsgs  = 2 * fillFSSize / fillMsgSize
)

// smallFS mounts a tmpfs of size bytes under a temporary directory and
// unmounts it when the test ends. It skips the test, saying why, when the
// test does not run as root or the kernel refuses the mount.
func smallFS(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small filesystem (tmpfs); run the tests as root, as CI does")
	}
	dir := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a tmpfs on %s (%v): mounting is not permitted here", dir, err)
	}
	t.Cleanup(func() {
		// The broker has stopped (its cleanup ran first); a lazy unmount
		// still frees the mount if something holds it.
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
			_ = syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	return dir
}

// statFree is the space available on dir's filesystem, as df shows it.
func statFree(t *testing.T, dir string) uint64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Bavail * uint64(st.Bsize)
}

// fill writes a file in dir until the filesystem's free space is at most
// leave bytes.
func fill(t *testing.T, dir string, leave uint64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 256<<10)
	for i := 0; i < 4*fillFSSize/len(chunk); i++ {
		free := statFree(t, dir)
		if free <= leave {
			return path
		}
		n := min(uint64(len(chunk)), free-leave)
		if _, err := f.Write(chunk[:n]); err != nil {
			t.Fatalf("filler: %v", err)
		}
	}
	t.Fatalf("filler: free space still %d after writing %d MiB", statFree(t, dir), 4*fillFSSize>>20)
	return ""
}

// body is message i: its number, then padding to fillMsgSize.
func body(i int) []byte {
	b := make([]byte, fillMsgSize)
	binary.BigEndian.PutUint32(b, uint32(i))
	for j := 4; j < len(b); j++ {
		b[j] = byte(i + j)
	}
	return b
}

// queueLen is the number of messages in queue q of vhost "/".
func queueLen(b *brokertest.Broker, q string) int {
	for _, qi := range b.Server().Queues() {
		if qi.VHost == "/" && qi.Name == q {
			return qi.MessagesReady + qi.MessagesUnacknowledged
		}
	}
	return -1
}

// A data directory on a small filesystem fills up under a publisher of
// persistent messages. The disk monitor catches it before the filesystem is
// full: the publisher (amqp091-go, which advertises connection.blocked) gets
// connection.blocked "low on disk", its later publishes wait unread in the
// socket, unconfirmed. Freeing space clears the alarm: connection.unblocked
// arrives, every publish is confirmed, and after a restart (recovery from
// the store) every message is there and consumable.
func TestDiskAlarmOnFillingFilesystem(t *testing.T) {
	fs := smallFS(t, fillFSSize)
	data := filepath.Join(fs, "data")
	b := brokertest.Run(t, brokertest.WithDataDir(data), brokertest.WithLogs(),
		brokertest.WithDiskFreeLimit(alarm.DiskFreeLimit{Bytes: fillLimit}))
	if st := b.DiskMonitor().Status(); st.Alarm || st.Limit != fillLimit || st.Free > fillFSSize {
		t.Fatalf("empty filesystem: %+v", st)
	}

	conn, err := amqp091.Dial(b.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	blocked := conn.NotifyBlocked(make(chan amqp091.Blocking, 4))
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	chClosed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	const q = "fill"
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The publisher runs on its own goroutine: once the broker stops reading,
	// its writes wait in the socket, and so does it.
	var (
		mu       sync.Mutex
		confirms []*amqp091.DeferredConfirmation
		pubErr   error
	)
	stop := make(chan struct{})
	publish := func(n int) (done chan struct{}) {
		done = make(chan struct{})
		go func() {
			defer close(done)
			for range n {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				i := len(confirms)
				mu.Unlock()
				dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q, false, false,
					amqp091.Publishing{DeliveryMode: amqp091.Persistent, Body: body(i)})
				mu.Lock()
				if err != nil {
					pubErr = fmt.Errorf("publish %d: %w", i, err)
					mu.Unlock()
					return
				}
				confirms = append(confirms, dc)
				mu.Unlock()
			}
		}()
		return done
	}
	snapshot := func() (all []*amqp091.DeferredConfirmation, acked int) {
		mu.Lock()
		defer mu.Unlock()
		if pubErr != nil {
			t.Fatal(pubErr)
		}
		for _, dc := range confirms {
			if dc.Acked() {
				acked++
			}
		}
		return slices.Clone(confirms), acked
	}
	<-publish(10)
	all, _ := snapshot()
	for i, dc := range all {
		if ok, err := dc.WaitContext(ctx); !ok || err != nil {
			t.Fatalf("message %d before the filler: acked %v, %v", i, ok, err)
		}
	}

	// Leave fillHeadroom above the limit, then publish until the broker says
	// it is blocked: the store's own writes cross the limit.
	filler := fill(t, fs, fillLimit+fillHeadroom)
	publisher := publish(fillMaxMsgs)
	var bl amqp091.Blocking
	select {
	case bl = <-blocked:
	case e := <-chClosed:
		t.Fatalf("channel closed while filling (free %d): %v", statFree(t, fs), e)
	case <-publisher:
		all, _ = snapshot()
		t.Fatalf("no connection.blocked after %d messages (%d MiB); free %d, limit %d, monitor %+v",
			len(all), len(all)*fillMsgSize>>20, statFree(t, fs), fillLimit, b.DiskMonitor().Status())
	case <-time.After(20 * time.Second):
		t.Fatalf("no connection.blocked in 20 s; free %d, limit %d, monitor %+v", statFree(t, fs), fillLimit, b.DiskMonitor().Status())
	}
	close(stop)
	if !bl.Active || bl.Reason != "low on disk" {
		t.Fatalf("connection.blocked %+v, want active with reason %q", bl, "low on disk")
	}
	st := b.DiskMonitor().Status()
	if !st.Alarm || st.Free >= fillLimit || !slices.Equal(b.Server().Alarms(), []string{broker.AlarmDisk}) {
		t.Fatalf("blocked, but monitor %+v, alarms %v", st, b.Server().Alarms())
	}
	// Caught before the filesystem was full: the store never failed a write.
	if free := statFree(t, fs); free == 0 {
		t.Fatal("the filesystem filled up before the alarm")
	}
	if info, ok := b.WaitConn(time.Second, func(c broker.ConnInfo) bool { return c.Blocked }); !ok || info.State != broker.StateBlocked {
		t.Fatalf("broker's view of the connection: %+v", info)
	}

	// While blocked the broker reads nothing more: once what it had read
	// is confirmed (its confirms wait for the sync that covers them),
	// neither the queue nor the confirms move, and what the publisher sent
	// after the block waits unconfirmed (at least the message whose header
	// made the reader block: its body is not read).
	time.Sleep(300 * time.Millisecond)
	qBefore := queueLen(b, q)
	_, ackedBefore := snapshot()
	time.Sleep(300 * time.Millisecond)
	held, acked := snapshot()
	if qAfter := queueLen(b, q); qAfter != qBefore || acked != ackedBefore {
		t.Fatalf("while blocked the queue went from %d to %d messages and the confirms from %d to %d", qBefore, qAfter, ackedBefore, acked)
	}
	stuck := true
	select {
	case <-publisher:
		stuck = false
	default:
	}
	if (!stuck && acked >= len(held)) || qBefore != acked {
		t.Fatalf("blocked: %d published (publisher stuck in a write: %v), %d confirmed, %d in the queue", len(held), stuck, acked, qBefore)
	}
	for _, want := range []string{"Free disk space is insufficient. Free bytes: ", "disk resource limit alarm set on node "} {
		if len(b.Logs().Lines(want)) != 1 {
			t.Fatalf("log lacks %q once:\n%s", want, b.Logs().String())
		}
	}
	heldN := len(held) - acked
	if stuck {
		heldN++
	}
	t.Logf("blocked after %d MiB of messages: free %d bytes (limit %d), next check in %v; %d confirmed, %d held in the socket",
		len(held)*fillMsgSize>>20, st.Free, fillLimit, st.Interval, acked, heldN)

	// Space comes back: the alarm clears within the monitor's interval.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	select {
	case bl = <-blocked:
		if bl.Active {
			t.Fatalf("second connection.blocked (%q) instead of unblocked", bl.Reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no connection.unblocked 5 s after freeing space; monitor %+v", b.DiskMonitor().Status())
	}
	if b.Server().Blocked() {
		t.Fatalf("alarms %v after unblock", b.Server().Alarms())
	}
	select {
	case <-publisher: // its last write went through, then it saw stop
	case <-time.After(5 * time.Second):
		t.Fatal("the publisher is still stuck in a write 5 s after connection.unblocked")
	}
	all, _ = snapshot()
	for i, dc := range all {
		if ok, err := dc.WaitContext(ctx); !ok || err != nil {
			t.Fatalf("message %d of %d after the alarm: acked %v, %v", i, len(all), ok, err)
		}
	}
	total := len(all)
	if n := queueLen(b, q); n != total {
		t.Fatalf("queue holds %d messages, %d confirmed", n, total)
	}
	t.Logf("%d confirmed while blocked, %d held and confirmed after the alarm cleared", acked, total-acked)
	_ = conn.Close()

	// Recovery: every confirmed message is in the store, and consumable.
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	if n := queueLen(b, q); n != total {
		t.Fatalf("after restart the queue holds %d messages, %d were confirmed", n, total)
	}
	conn2, err := amqp091.Dial(b.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	ch2, err := conn2.Channel()
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch2.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]bool, total)
	for n := 0; n < total; n++ {
		select {
		case d := <-deliveries:
			i := int(binary.BigEndian.Uint32(d.Body))
			if i >= total || seen[i] || !slices.Equal(d.Body, body(i)) {
				t.Fatalf("delivery %d: message %d (seen %v) with a body of %d bytes", n, i, i < total && seen[i], len(d.Body))
			}
			seen[i] = true
			if err := d.Ack(false); err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d messages consumed after the restart", n, total)
		}
	}
	_ = conn2.Close()

	// A broker started on a filesystem already below the limit recovers
	// its data and has the alarm on before it accepts a connection.
	filler = fill(t, fs, fillLimit-fillMsgSize)
	if err := b.Restart(); err != nil {
		t.Fatalf("restart on a full filesystem: %v", err)
	}
	if st := b.DiskMonitor().Status(); !st.Alarm || !b.Server().Blocked() {
		t.Fatalf("started below the limit: monitor %+v, alarms %v", st, b.Server().Alarms())
	}
	if n := queueLen(b, q); n != 0 {
		t.Fatalf("after the second restart the queue holds %d messages, all were acked", n)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); b.Server().Blocked(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("alarm still on 5 s after freeing space: %+v", b.DiskMonitor().Status())
		}
	}
}
