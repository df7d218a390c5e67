//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	amqp "github.com/rabbitmq/amqp091-go"
)

// TestBrowserPage walks the management web page as a user would, in headless
// Chromium: fail to log in with a wrong password (#error says so), log in;
// see an amqp091-go connection in the connections table; open its page and
// watch the heartbeat timeline grow; inject mute-heartbeats with the page's
// button and see the client react as docs/client-fault-matrix.md says
// amqp091-go does (idle, it gives up reading 1.5T after the broker's last
// frame: NotifyClose with 501 and an i/o timeout), the page mark the
// connection closed and the table drop it; publish a message and get
// messages on a queue's page, purge and delete the queue; inject and clear
// a fault on the other connection, then force-close it from its page with a
// reason (amqp091-go gets 320 CONNECTION_FORCED with it). Nothing may reach
// the browser's console as an error (CSP violations included), and no
// JavaScript dialog may open. It takes the README's screenshots (see
// tab.screenshot).
func TestBrowserPage(t *testing.T) {
	skipBrowserOnRabbitMQ(t)
	const hb = 2 // seconds: the client's timeout 1.5T is then 3 s
	b := startBrowserBroker(t, hb)

	// An idle client with a 2 s heartbeat: its only traffic is heartbeats.
	hbConn, err := b.dial("browser-heartbeat", hb*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer hbConn.Close()
	closed := hbConn.NotifyClose(make(chan *amqp.Error, 1))
	name := b.connName(t, hbConn)

	// Another with a queue holding three messages, for the overview and the
	// queue page.
	const queue = "browser-q"
	qConn, err := b.dial("browser-queue", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer qConn.Close()
	ch, err := qConn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	seeds := []string{"seed 1", "seed 2", "seed 3"}
	for _, s := range seeds {
		if err := ch.Publish("", queue, false, false, amqp.Publishing{ContentType: "text/plain", Body: []byte(s)}); err != nil {
			t.Fatal(err)
		}
	}
	waitMessages(t, b, queue, len(seeds))

	br := startBrowser(t)
	tb := br.first
	// A wrong password first: the page says so in #error and stays on the
	// login form.
	tb.allow(401, "the login with a wrong password, on purpose", "api", "whoami")
	tb.do(30*time.Second, "log in with a wrong password",
		chromedp.Navigate(b.MgmtURL()+"/"),
		chromedp.WaitVisible(chromedp.ID("login-user")),
		chromedp.SendKeys(chromedp.ID("login-user"), "guest"),
		chromedp.SendKeys(chromedp.ID("login-pass"), "wrong"),
		chromedp.Click(chromedp.ID("login-submit")),
	)
	tb.waitJS(10*time.Second, "the page says the login failed",
		`(() => { const e = document.getElementById('error'); return !e.hidden && e.textContent.includes('Login failed') && !document.getElementById('login').hidden; })()`)
	tb.login(b, "guest", "guest")
	tb.waitJS(15*time.Second, "the overview shows the totals, 2 connections and 3 messages ready",
		`(() => { const d = document.getElementById('totals-list'); return !!d && /Connections\s*2/.test(d.textContent) && /Messages ready\s*3/.test(d.textContent); })()`)
	// The test's broker runs without a data directory: no disk monitor, so
	// no "0 B" of free disk space.
	tb.waitJS(10*time.Second, "the overview says the disk is not monitored",
		`/Disk free\s*not monitored: no data directory/.test(document.getElementById('overview-node').textContent)`)
	lingerForScreenshots(tb, "chart-queued", 4)
	tb.screenshot("overview", "")

	// The connections table lists the client's connection; its link opens
	// the connection's page.
	tb.do(10*time.Second, "open the connections page", chromedp.Click(chromedp.CSS(`a[data-nav="connections"]`)))
	tb.waitJS(15*time.Second, "the connections table lists "+name, rowJS("connections", name)+` !== null`)
	// A refresh updates the row in place: the rate cells show "…" until
	// the second poll, and the row is still the same element then.
	tb.do(5*time.Second, "remember the row", chromedp.Evaluate[chromedp.Void](`window.testRow = `+rowJS("connections", name)))
	tb.waitJS(15*time.Second, "a refresh fills in the row's rates",
		`window.testRow.cells[7].textContent !== '…'`)
	if !mustEval[bool](tb, `window.testRow === `+rowJS("connections", name)+` && window.testRow.isConnected`) {
		t.Error("the connections table's refresh replaced the row of " + name + "; want it updated in place")
	}
	tb.do(10*time.Second, "open the connection's page", chromedp.Click(chromedp.CSS(rowCSS("connections", name)+` a`)))
	tb.waitJS(10*time.Second, "the connection's page is open",
		`location.hash === '#/connections/' + encodeURIComponent(`+jsString(name)+`)`)

	// Its heartbeat timeline updates: the chart's data-points grows.
	points := svgPoints("hb-timeline")
	tb.waitJS(15*time.Second, "the heartbeat timeline is drawn", points+` >= 1`)
	n0 := mustEval[int](tb, points)
	tb.waitJS(15*time.Second, fmt.Sprintf("the timeline grows past %d points", n0+4), fmt.Sprintf(`%s >= %d`, points, n0+4))
	t.Logf("heartbeat timeline: %d points, then %d", n0, mustEval[int](tb, points))
	// For the README's picture, half a minute of regular heartbeats before
	// the fault (the page samples four times a second).
	lingerForScreenshots(tb, "hb-timeline", 120)

	// Mute the broker's heartbeats from the page.
	tb.do(10*time.Second, "click the mute-heartbeats button",
		chromedp.Click(chromedp.CSS(`button[data-fault="mute-heartbeats"]`)))
	faultAt := time.Now()
	waitFault(t, b, name, "mute-heartbeats")
	tb.waitJS(10*time.Second, "the page shows the fault",
		`document.getElementById('conn-state').textContent.includes('mute-heartbeats') && !!document.querySelector('#hb-timeline [data-event="fault"]')`)
	// The fault's label, by its line near the right edge, ends inside the
	// chart (the viewBox is 640 wide) rather than running off it.
	if over := mustEval[[]string](tb, `[...document.querySelectorAll('#hb-timeline text')].filter((e) => { const b = e.getBBox(); return b.x < 0 || b.x + b.width > 640; }).map((e) => e.textContent)`); len(over) > 0 {
		t.Errorf("heartbeat timeline labels past the chart's edge: %q", over)
	}
	// The screenshot once the broker has been silent for T (twice the
	// T/2 after which it would have sent a heartbeat), before the client
	// gives up at 1.5T; should the client have gone already, it shows that
	// instead.
	pollUntil(t, 10*time.Second, "the broker silent towards the client for T", func() (bool, error) {
		c, err := b.conn(context.Background(), name)
		if err != nil || c == nil {
			return c == nil, err
		}
		return c.SendAge != nil && *c.SendAge >= hb, nil
	})
	tb.waitJS(5*time.Second, "the timeline's last sample shows the outbound silence past T (or the close)",
		fmt.Sprintf(`Number((/sent ([0-9.]+) s ago/.exec(document.querySelector('#hb-timeline desc').textContent) || [])[1]) >= %d`+
			` || document.getElementById('conn-state').dataset.state === 'closed'`, hb))
	tb.screenshot("connection-heartbeat-fault", "")

	// amqp091-go, idle, gives up 1.5T after the last frame it read
	// (docs/client-fault-matrix.md: "mute-heartbeats, idle": 501, i/o timeout).
	select {
	case e := <-closed:
		if e == nil {
			t.Fatal("amqp091-go's NotifyClose: closed without an error, want its read timeout")
		}
		t.Logf("amqp091-go gave up %.2fs after the fault was set: %v", time.Since(faultAt).Seconds(), e)
		if e.Code != amqp.FrameError || !strings.Contains(e.Reason, "timeout") {
			t.Errorf("amqp091-go's NotifyClose: %v; want 501 (FRAME_ERROR) with an i/o timeout, as in docs/client-fault-matrix.md", e)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("amqp091-go did not notice the muted heartbeats within 30 s (docs/client-fault-matrix.md: 1.5T = 3 s)")
	}
	pollUntil(t, 10*time.Second, "the broker no longer lists "+name, func() (bool, error) {
		ok, err := b.hasConn(context.Background(), name)
		return err == nil && !ok, err
	})
	tb.waitJS(10*time.Second, "the connection's page says it is closed",
		`document.getElementById('conn-state').dataset.state === 'closed' && !!document.querySelector('#hb-events li[data-event="closed"]')`)
	tb.do(10*time.Second, "back to the connections table", chromedp.Click(chromedp.CSS(`a[data-nav="connections"]`)))
	tb.waitJS(15*time.Second, "the connections table no longer lists "+name,
		`!!document.getElementById('connections') && `+rowJS("connections", name)+` === null`)

	// A queue's page: publish one message, then get all four, acked.
	tb.do(10*time.Second, "open the queues page", chromedp.Click(chromedp.CSS(`a[data-nav="queues"]`)))
	tb.waitJS(15*time.Second, "the queues table lists "+queue, rowJS("queues", queue)+` !== null`)
	tb.do(10*time.Second, "open the queue's page", chromedp.Click(chromedp.CSS(rowCSS("queues", queue)+` a`)))
	const published = "hello from the page"
	tb.waitJS(10*time.Second, "the queue's chart is drawn", svgPoints("queue-chart")+` >= 1`)
	lingerForScreenshots(tb, "queue-chart", 4)
	tb.do(15*time.Second, "publish a message from the queue's page",
		chromedp.WaitVisible(chromedp.ID("publish-body")),
		chromedp.SendKeys(chromedp.ID("publish-body"), published),
		chromedp.Click(chromedp.ID("publish-submit")),
	)
	tb.waitJS(10*time.Second, "the page says the message was routed",
		`document.getElementById('publish-result').dataset.routed === 'true'`)
	waitMessages(t, b, queue, len(seeds)+1)
	lingerForScreenshots(tb, "queue-chart", 3)
	tb.do(15*time.Second, "get four messages, acked, from the queue's page",
		chromedp.SetValue(chromedp.ID("get-count"), "4"),
		chromedp.SetValue(chromedp.ID("get-ackmode"), "ack_requeue_false"),
		chromedp.Click(chromedp.ID("get-submit")),
	)
	tb.waitJS(10*time.Second, "the page shows four messages",
		`document.querySelectorAll('#get-results pre[data-test=payload]').length === 4`)
	got := mustEval[[]string](tb, `[...document.querySelectorAll('#get-results pre[data-test=payload]')].map((p) => p.textContent)`)
	if want := append(append([]string(nil), seeds...), published); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("payloads on the queue's page: %q, want %q", got, want)
	}
	waitMessages(t, b, queue, 0)
	tb.waitJS(10*time.Second, "the queue's page shows it empty",
		`/Messages total\s*0/.test(document.getElementById('queue-facts').textContent)`)
	lingerForScreenshots(tb, "queue-chart", 3)
	tb.screenshot("queue", "")

	// Purge and delete from the page (what TestBrowserCrossOrigin checks
	// another origin cannot do, done here by the page itself).
	if err := ch.Publish("", queue, false, false, amqp.Publishing{Body: []byte("to purge")}); err != nil {
		t.Fatal(err)
	}
	waitMessages(t, b, queue, 1)
	tb.do(10*time.Second, "purge the queue from its page", chromedp.Click(chromedp.ID("purge")))
	waitMessages(t, b, queue, 0)
	tb.do(10*time.Second, "delete the queue from its page", chromedp.Click(chromedp.ID("delete")))
	tb.waitJS(10*time.Second, "the page returns to the queues table", `location.hash === '#/queues'`)
	pollUntil(t, 10*time.Second, "the broker no longer has the queue "+queue, func() (bool, error) {
		_, err := b.queue(context.Background(), queue)
		return err != nil && strings.Contains(err.Error(), "404"), nil
	})
	tb.waitJS(10*time.Second, "the queues table no longer lists "+queue,
		`!!document.getElementById('queues') && `+rowJS("queues", queue)+` === null`)

	// Force-close the other client's connection from its page, with a
	// reason: amqp091-go gets connection.close 320 CONNECTION_FORCED.
	qClosed := qConn.NotifyClose(make(chan *amqp.Error, 1))
	qName := b.connName(t, qConn)
	tb.do(10*time.Second, "open the connections page", chromedp.Click(chromedp.CSS(`a[data-nav="connections"]`)))
	tb.waitJS(15*time.Second, "the connections table lists "+qName, rowJS("connections", qName)+` !== null`)
	tb.do(15*time.Second, "open its page and inject latency",
		chromedp.Click(chromedp.CSS(rowCSS("connections", qName)+` a`)),
		chromedp.WaitVisible(chromedp.ID("close-conn")),
		chromedp.Click(chromedp.CSS(`button[data-fault="latency"]`)),
	)
	waitFault(t, b, qName, "latency")
	tb.do(10*time.Second, "clear the fault from the page", chromedp.Click(chromedp.ID("fault-clear")))
	waitFault(t, b, qName, nil)
	tb.do(15*time.Second, "force-close the connection from its page",
		chromedp.SendKeys(chromedp.ID("close-reason"), "closed by the browser test"),
		chromedp.Click(chromedp.ID("close-conn")),
	)
	select {
	case e := <-qClosed:
		if e == nil || e.Code != amqp.ConnectionForced || !strings.Contains(e.Reason, "closed by the browser test") {
			t.Errorf("amqp091-go's NotifyClose after the page's force-close: %v; want 320 CONNECTION_FORCED - closed by the browser test", e)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the page's force-close did not reach the client within 15 s")
	}
	tb.waitJS(10*time.Second, "the connection's page says it is closed",
		`document.getElementById('conn-state').dataset.state === 'closed'`)

	tb.noErrors(t)
	if d := tb.Dialogs(); len(d) > 0 {
		t.Errorf("the page opened JavaScript dialogs: %q", d)
	}
}

// waitFault waits (up to 10 s) until the broker's API reports fault (a
// kind, or nil for none) on the connection called name.
func waitFault(t *testing.T, b *browserBroker, name string, fault any) {
	t.Helper()
	pollUntil(t, 10*time.Second, fmt.Sprintf("the broker reports the fault %v on %s", fault, name), func() (bool, error) {
		c, err := b.conn(context.Background(), name)
		return err == nil && c != nil && c.Fault == fault, err
	})
}

// waitMessages waits (up to 10 s) until the broker's API says queue holds n
// messages.
func waitMessages(t *testing.T, b *browserBroker, queue string, n int) {
	t.Helper()
	pollUntil(t, 10*time.Second, fmt.Sprintf("queue %s holds %d messages", queue, n), func() (bool, error) {
		q, err := b.queue(context.Background(), queue)
		return err == nil && q.Messages == n, err
	})
}

// svgPoints is a JavaScript expression for the data-points of the chart
// (svg) with id, or -1 while there is none.
func svgPoints(id string) string {
	return `Number((document.getElementById(` + jsString(id) + `) || {getAttribute: () => -1}).getAttribute('data-points'))`
}

// lingerForScreenshots, when the screenshots are wanted (BEATMQ_SCREENSHOTS),
// waits until the chart with id has n more points, so that the picture has
// a history; otherwise it returns at once.
func lingerForScreenshots(tb *tab, id string, n int) {
	tb.t.Helper()
	if os.Getenv("BEATMQ_SCREENSHOTS") == "" {
		return
	}
	have := mustEval[int](tb, svgPoints(id))
	tb.waitJS(90*time.Second, fmt.Sprintf("%d more points on #%s for the screenshot", n, id),
		fmt.Sprintf(`%s >= %d`, svgPoints(id), have+n))
}

// cssString is s as a CSS string literal, for an attribute selector.
func cssString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\a `)
	return `"` + r.Replace(s) + `"`
}

// rowCSS selects the row of table #id whose data-name is name.
func rowCSS(id, name string) string {
	return `#` + id + ` tr[data-name=` + cssString(name) + `]`
}

// rowJS is a JavaScript expression for that row, or null: it compares
// dataset.name, so no selector escaping is involved.
func rowJS(id, name string) string {
	return `([...document.querySelectorAll('#` + id + ` tr[data-name]')].find((r) => r.dataset.name === ` + jsString(name) + `) || null)`
}
