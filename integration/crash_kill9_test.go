//go:build integration

package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The topology of TestCrashKill9: a durable direct exchange and two durable
// queues; key "a" routes to crash.q1, "b" to crash.q2, "both" to both (one
// store record with two targets).
const (
	crashExchange = "crash.x"
	crashQ1       = "crash.q1"
	crashQ2       = "crash.q2"
)

var (
	crashKeys   = []string{"a", "b", "both"}
	crashRoutes = map[string][]string{"a": {crashQ1}, "b": {crashQ2}, "both": {crashQ1, crashQ2}}
)

// Bounds of TestCrashKill9 (every loop is bounded in count and time).
const (
	crashMaxRounds  = 12
	crashBudget     = 60 * time.Second // rounds stop being started after this
	crashWindow     = 64               // unconfirmed publishes per publisher
	crashPrefetch   = 50
	crashSettle     = 15 * time.Second // after the kill, for clients to notice
	crashDrainLimit = 90 * time.Second
)

// crashKey is one message in one queue.
type crashKey struct{ queue, id string }

// crashLedger is what the clients saw, over every round.
type crashLedger struct {
	mu        sync.Mutex
	routes    map[string]string // id -> routing key, for every publish attempted
	confirmed map[string]bool   // ids the broker acked in confirm mode
	returned  map[string]bool   // ids returned unroutable (mandatory)
	seen      map[crashKey]int  // deliveries a consumer read, drain included
	lastSeen  map[crashKey]int  // the start (epoch) of the broker that last delivered it
	acked     map[crashKey]bool // basic.ack written to the socket without error
	drained   map[crashKey]bool

	deliveries, dups, flaggedFirst int
	ackedBack                      int            // re-deliveries of messages a consumer had acked (allowed if flagged: the ack was not on disk)
	noFlag                         []string       // re-deliveries without redelivered=true
	noFlagBy                       map[int][2]int // the above by the broker start that had delivered them: [not acked, acked]
	strays                         []string       // a body never published, or in a queue it was not routed to
}

func newCrashLedger() *crashLedger {
	return &crashLedger{
		routes: map[string]string{}, confirmed: map[string]bool{}, returned: map[string]bool{},
		seen: map[crashKey]int{}, lastSeen: map[crashKey]int{}, acked: map[crashKey]bool{}, drained: map[crashKey]bool{},
		noFlagBy: map[int][2]int{},
	}
}

func (l *crashLedger) publishing(id, key string) {
	l.mu.Lock()
	l.routes[id] = key
	l.mu.Unlock()
}

func (l *crashLedger) confirm(id string) {
	l.mu.Lock()
	l.confirmed[id] = true
	l.mu.Unlock()
}

func (l *crashLedger) returnedID(id string) {
	l.mu.Lock()
	l.returned[id] = true
	l.mu.Unlock()
}

// delivered records a delivery read by a consumer of broker start epoch. A
// message a consumer has read before must come back with redelivered=true.
func (l *crashLedger) delivered(queue string, d *amqp.Delivery, epoch int, drain bool) {
	id := string(d.Body)
	k := crashKey{queue, id}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deliveries++
	key, ok := l.routes[id]
	if !ok || !slices.Contains(crashRoutes[key], queue) {
		l.strays = append(l.strays, fmt.Sprintf("%s: %q (routing key %q, published %v)", queue, id, key, ok))
	}
	if n := l.seen[k]; n > 0 {
		l.dups++
		if l.acked[k] {
			l.ackedBack++
		}
		if !d.Redelivered {
			l.noFlag = append(l.noFlag, fmt.Sprintf("%s %s: read by a consumer under broker start %d, delivered again under start %d with redelivered=false (acked before: %v, delivery %d)",
				queue, id, l.lastSeen[k], epoch, l.acked[k], n+1))
			by := l.noFlagBy[l.lastSeen[k]]
			if l.acked[k] {
				by[1]++
			} else {
				by[0]++
			}
			l.noFlagBy[l.lastSeen[k]] = by
		}
	} else if d.Redelivered {
		l.flaggedFirst++ // allowed: the broker cannot know the client never read it
	}
	l.seen[k]++
	l.lastSeen[k] = epoch
	if drain {
		l.drained[k] = true
	}
}

func (l *crashLedger) ack(queue, id string) {
	l.mu.Lock()
	l.acked[crashKey{queue, id}] = true
	l.mu.Unlock()
}

// crashCounts are one round's numbers.
type crashCounts struct {
	published, confirmed, deliveries, acked int
}

func (l *crashLedger) counts() crashCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	return crashCounts{published: len(l.routes), confirmed: len(l.confirmed), deliveries: l.deliveries, acked: len(l.acked)}
}

// TestCrashKill9 is issue 11's crash test. bin/beatmq runs as a child
// process on a fresh --data-dir; in each round 2–3 publishers (confirm
// mode, persistent, mandatory, each body a unique id, to two durable queues
// through a durable exchange) and 1–2 consumers (manual ack, prefetch 50)
// run for a random 100–700 ms, then the broker is killed with SIGKILL and
// started again on the same directory, rounds alternating --sync data and
// --sync write. At most 12 rounds and 60 s of rounds. Then both queues are
// drained and checked: every confirmed message is in the drain or was acked
// by a consumer (none lost), no message was returned unroutable (bindings
// kept), every message a consumer had read that came again carried
// redelivered=true, no body was unknown or in the wrong queue, and the
// exchange and queues survived every restart. BEATMQ_CRASH_SEED replays a
// seed (the timing of the kill is not replayable).
func TestCrashKill9(t *testing.T) {
	skipOnRabbitMQ(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("BEATMQ_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("BEATMQ_CRASH_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (BEATMQ_CRASH_SEED=%d to replay the random choices)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x6265617432))
	began := time.Now()

	b := newCrashBroker(t, "crash-kill9")
	modes := []string{"data", "write"}
	if err := b.start(modes[0]); err != nil {
		t.Fatal(err)
	}
	if err := crashDeclare(b); err != nil {
		t.Fatalf("declaring the topology: %v", err)
	}
	l := newCrashLedger()
	roundsBy := map[string]int{}
	rounds := 0
	for rounds < crashMaxRounds && time.Since(began) < crashBudget {
		mode := b.sync
		before := l.counts()
		dur := time.Duration(100+rng.IntN(601)) * time.Millisecond
		nPub, nCons := 2+rng.IntN(2), 1+rng.IntN(2)
		if err := crashRound(b, l, rng, rounds, nPub, nCons, dur); err != nil {
			t.Fatalf("round %d (--sync %s): %v\nbroker output:\n%s", rounds, mode, err, b.output())
		}
		rounds++
		roundsBy[mode]++
		after := l.counts()
		next := modes[rounds%len(modes)]
		restart := time.Now()
		if err := b.start(next); err != nil {
			t.Fatalf("restart after round %d: %v", rounds-1, err)
		}
		t.Logf("round %d: --sync %s, %d publishers, %d consumers, killed after %v: %d published, %d confirmed, %d read, %d acked; restarted (--sync %s, port %d) in %.2fs",
			rounds-1, mode, nPub, nCons, dur, after.published-before.published, after.confirmed-before.confirmed,
			after.deliveries-before.deliveries, after.acked-before.acked, next, b.port, time.Since(restart).Seconds())
		if err := crashCheckTopology(b); err != nil {
			t.Errorf("after restart %d: %v", rounds, err)
		}
	}
	if rounds < crashMaxRounds {
		t.Logf("time bound: %d of %d rounds ran in %v", rounds, crashMaxRounds, crashBudget)
	}

	drainStart := time.Now()
	if err := crashDrain(b, l); err != nil {
		t.Errorf("drain: %v", err)
	}
	drainTime := time.Since(drainStart)

	l.mu.Lock()
	defer l.mu.Unlock()
	var lost []string
	lostN, checked, ackedOnly := 0, 0, 0
	for id := range l.confirmed {
		for _, q := range crashRoutes[l.routes[id]] {
			checked++
			k := crashKey{q, id}
			switch {
			case l.drained[k]:
			case l.acked[k]:
				ackedOnly++
			default:
				lostN++
				if len(lost) < 20 {
					lost = append(lost, fmt.Sprintf("%s %s (deliveries read %d)", q, id, l.seen[k]))
				}
			}
		}
	}
	slices.Sort(lost)
	summary := fmt.Sprintf("crash: %d rounds (%d --sync data, %d --sync write), %d published, %d confirmed (%d queue copies), %d acked, %d drained, %d lost, %d redelivered duplicates, %d redelivered without the flag; %.1fs (drain %.1fs), seed %d",
		rounds, roundsBy["data"], roundsBy["write"], len(l.routes), len(l.confirmed), checked, len(l.acked), len(l.drained),
		lostN, l.dups, len(l.noFlag), time.Since(began).Seconds(), drainTime.Seconds(), seed)
	t.Log(summary)
	fmt.Println(summary)
	t.Logf("%d deliveries read in all; %d re-deliveries of messages already acked (acks not yet on disk at the kill); %d first deliveries already flagged redelivered (allowed); %d confirmed copies accounted for by an ack only",
		l.deliveries, l.ackedBack, l.flaggedFirst, ackedOnly)
	if len(l.confirmed) == 0 {
		t.Errorf("no message was confirmed in %d rounds: the test checked nothing", rounds)
	}
	if lostN > 0 {
		t.Errorf("%d confirmed persistent message copies lost (neither drained nor acked), e.g.:\n%s", lostN, strings.Join(lost, "\n"))
	}
	if n := len(l.noFlag); n > 0 {
		var by []string
		for e := 1; e <= b.starts; e++ {
			if c, ok := l.noFlagBy[e]; ok {
				by = append(by, fmt.Sprintf("read in round %d (broker start %d, --sync %s): %d not acked, %d acked", e-1, e, modes[(e-1)%len(modes)], c[0], c[1]))
			}
		}
		t.Errorf("%d messages a consumer had read came again without redelivered=true (seed %d):\n%s\ne.g.:\n%s",
			n, seed, strings.Join(by, "\n"), strings.Join(l.noFlag[:min(n, 20)], "\n"))
	}
	if n := len(l.returned); n > 0 {
		t.Errorf("%d confirmed-mode publishes returned unroutable: bindings lost across a restart?", n)
	}
	if n := len(l.strays); n > 0 {
		t.Errorf("%d deliveries of unknown bodies or in the wrong queue, e.g.:\n%s", n, strings.Join(l.strays[:min(n, 20)], "\n"))
	}
}

// crashDeclare declares the durable exchange, queues and bindings.
func crashDeclare(b *crashBroker) error {
	conn, ch, err := b.channel("crash-declare")
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := ch.ExchangeDeclare(crashExchange, "direct", true, false, false, false, nil); err != nil {
		return err
	}
	for _, q := range []string{crashQ1, crashQ2} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			return err
		}
	}
	for key, qs := range crashRoutes {
		for _, q := range qs {
			if err := ch.QueueBind(q, key, crashExchange, false, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// crashCheckTopology checks, passively, that the durable exchange and
// queues came back after a restart.
func crashCheckTopology(b *crashBroker) error {
	conn, ch, err := b.channel("crash-check")
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := ch.ExchangeDeclarePassive(crashExchange, "direct", true, false, false, false, nil); err != nil {
		return fmt.Errorf("durable exchange %s: %v", crashExchange, err)
	}
	for _, q := range []string{crashQ1, crashQ2} {
		if _, err := ch.QueueDeclarePassive(q, true, false, false, false, nil); err != nil {
			return fmt.Errorf("durable queue %s: %v", q, err)
		}
	}
	return nil
}

// crashRound runs nPub publishers and nCons consumers against the broker
// for dur, kills the broker with SIGKILL and waits (bounded) for every
// client to notice and finish.
func crashRound(b *crashBroker, l *crashLedger, rng *rand.Rand, round, nPub, nCons int, dur time.Duration) error {
	epoch := b.starts
	var conns []*amqp.Connection
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup

	for c := range nCons {
		name := fmt.Sprintf("crash-r%d-c%d", round, c)
		conn, ch, err := b.channel(name)
		if err != nil {
			return fmt.Errorf("consumer %d: %w", c, err)
		}
		conns = append(conns, conn)
		if err := ch.Qos(crashPrefetch, 0, false); err != nil {
			return fmt.Errorf("consumer %d: qos: %w", c, err)
		}
		in, err := consumeBoth(ctx, ch, name)
		if err != nil {
			return fmt.Errorf("consumer %d: %w", c, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			for d := range in {
				l.delivered(d.queue, &d.Delivery, epoch, false)
				if d.Ack(false) == nil {
					l.ack(d.queue, string(d.Body))
				}
			}
		}()
	}

	for p := range nPub {
		conn, ch, err := b.channel(fmt.Sprintf("crash-r%d-p%d", round, p))
		if err != nil {
			return fmt.Errorf("publisher %d: %w", p, err)
		}
		conns = append(conns, conn)
		if err := ch.Confirm(false); err != nil {
			return fmt.Errorf("publisher %d: confirm.select: %w", p, err)
		}
		returns := ch.NotifyReturn(make(chan amqp.Return, 256))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range returns {
				l.returnedID(string(r.Body))
			}
		}()
		prng := rand.New(rand.NewPCG(rng.Uint64(), uint64(p)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			type pending struct {
				dc *amqp.DeferredConfirmation
				id string
			}
			var window []pending
			wait := func(p pending) {
				if ok, err := p.dc.WaitContext(ctx); ok && err == nil {
					l.confirm(p.id)
				}
			}
			publish := func(seq int) bool {
				select {
				case <-stop:
					return false
				default:
				}
				id := fmt.Sprintf("r%02d-p%d-%07d", round, p, seq)
				key := crashKeys[prng.IntN(len(crashKeys))]
				l.publishing(id, key)
				dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, crashExchange, key, true, false,
					amqp.Publishing{DeliveryMode: amqp.Persistent, ContentType: "text/plain", Body: []byte(id)})
				if err != nil {
					return false // the broker is gone
				}
				window = append(window, pending{dc, id})
				if len(window) >= crashWindow {
					wait(window[0])
					window = window[1:]
				}
				return true
			}
			for seq := 0; publish(seq); seq++ {
			}
			for _, p := range window {
				wait(p)
			}
		}()
	}

	time.Sleep(dur)
	if err := b.kill(); err != nil {
		return err
	}
	close(stop)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(crashSettle):
	}
	// A client that did not notice the broker is gone: stop waiting for
	// it, close its connection and wait again (bounded).
	cancel()
	for _, c := range conns {
		_ = c.Close()
	}
	select {
	case <-done:
		return fmt.Errorf("clients had not finished %v after the kill", crashSettle)
	case <-time.After(crashSettle):
		return fmt.Errorf("clients still running %v after the kill and a forced close", 2*crashSettle)
	}
}

// crashDrain consumes both queues to the end on the restarted broker,
// acking everything, and checks they are empty afterwards.
func crashDrain(b *crashBroker, l *crashLedger) error {
	epoch := b.starts
	conn, ch, err := b.channel("crash-drain")
	if err != nil {
		return err
	}
	defer conn.Close()
	want := 0
	for _, q := range []string{crashQ1, crashQ2} {
		qi, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		want += qi.Messages
	}
	if err := ch.Qos(500, 0, false); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in, err := consumeBoth(ctx, ch, "crash-drain")
	if err != nil {
		return err
	}
	deadline := time.After(crashDrainLimit)
	got := 0
	idle := time.NewTimer(10 * time.Second)
	defer idle.Stop()
	for got < want {
		var d crashDelivery
		var ok bool
		select {
		case d, ok = <-in:
		case <-idle.C:
			return fmt.Errorf("nothing delivered for 10s after %d of the %d messages ready", got, want)
		case <-deadline:
			return fmt.Errorf("drained %d of %d messages in %v", got, want, crashDrainLimit)
		}
		if !ok {
			return fmt.Errorf("the consumers were cancelled after %d of %d messages", got, want)
		}
		idle.Reset(10 * time.Second)
		l.delivered(d.queue, &d.Delivery, epoch, true)
		if err := d.Ack(false); err != nil {
			return err
		}
		got++
	}
	for _, q := range []string{crashQ1, crashQ2} {
		if err := ch.Cancel("crash-drain-"+q, false); err != nil {
			return err
		}
	}
	for _, q := range []string{crashQ1, crashQ2} {
		qi, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		if qi.Messages != 0 {
			return fmt.Errorf("%s: %d messages ready after the drain of %d", q, qi.Messages, want)
		}
	}
	return conn.Close()
}

// crashDelivery is a delivery and the queue it came from.
type crashDelivery struct {
	queue string
	amqp.Delivery
}

// consumeBoth starts a consumer (tag-QUEUE, manual ack) on each queue on
// ch and merges their deliveries into one channel, closed once both
// consumers have ended (cancelled, or the channel or connection closed) or
// ctx has.
func consumeBoth(ctx context.Context, ch *amqp.Channel, tag string) (<-chan crashDelivery, error) {
	out := make(chan crashDelivery)
	var wg sync.WaitGroup
	for _, q := range []string{crashQ1, crashQ2} {
		ds, err := ch.Consume(q, tag+"-"+q, false, false, false, false, nil)
		if err != nil {
			return nil, fmt.Errorf("consume %s: %w", q, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range ds {
				select {
				case out <- crashDelivery{q, d}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(out) }()
	return out, nil
}
