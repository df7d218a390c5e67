//go:build integration

package integration

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	amqp "github.com/rabbitmq/amqp091-go"
)

// TestBrowserMarkupAsText: names, properties, headers and bodies that
// clients choose are data, and the page must show them as text. An
// amqp091-go connection named <img src=x onerror=alert(1)> (with markup in
// its product property too) declares a queue whose name has markup and
// publishes a message whose body, header and correlation id have markup.
// The test opens the connections table, the connection's page, the queues
// table and the queue's page, and gets the message there. In every view no
// script may run: no JavaScript dialog opens (alert), the flag the img
// payloads would set stays unset, no element the payloads describe exists
// (img, an element with an on* attribute, an inline script), no CSP
// violation is logged; and each string shows as text, an element's
// textContent equal to the raw string.
func TestBrowserMarkupAsText(t *testing.T) {
	skipBrowserOnRabbitMQ(t)
	b := startBrowserBroker(t, 60)

	const (
		connName = `<img src=x onerror=alert(1)>`
		product  = `<img src=x onerror="window.__pwned='product'">`
		queue    = `q<img src=x onerror="window.__pwned='queue'">`
		body     = `<script>alert(2)</script><img src=x onerror="window.__pwned='body'">`
		header   = `<b onmouseover=alert(3)>bold</b><img src=x onerror="window.__pwned='header'">`
		corrID   = `<svg onload="window.__pwned='correlation_id'"></svg>`
	)
	conn, err := amqp.DialConfig("amqp://guest:guest@"+b.Addr()+"/", amqp.Config{
		Properties: amqp.Table{"connection_name": connName, "product": product, "version": "1.16.0"},
		Dial:       amqp.DefaultDial(5 * time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Publish("", queue, false, false, amqp.Publishing{
		Headers:       amqp.Table{"x-markup": header},
		CorrelationId: corrID,
		Body:          []byte(body),
	}); err != nil {
		t.Fatal(err)
	}
	name := b.connName(t, conn)
	waitMessages(t, b, queue, 1)

	br := startBrowser(t)
	tb := br.first
	tb.login(b, "guest", "guest")

	tb.do(10*time.Second, "open the connections page", chromedp.Click(chromedp.CSS(`a[data-nav="connections"]`)))
	tb.waitJS(15*time.Second, "the connections table lists the connection", rowJS("connections", name)+` !== null`)
	tb.checkText(t, "the client's product in the connections table", rowJS("connections", name), product+" 1.16.0")
	tb.checkNoScript(t, "connections table")

	tb.do(10*time.Second, "open the connection's page", chromedp.Click(chromedp.CSS(rowCSS("connections", name)+` a`)))
	tb.waitJS(15*time.Second, "the connection's details are shown", `!!document.getElementById('conn-facts')`)
	tb.checkText(t, "the client-provided name on the connection's page", `document.getElementById('conn-facts')`, connName)
	tb.checkText(t, "the client's product on the connection's page", `document.getElementById('conn-facts')`, product+" 1.16.0")
	tb.checkNoScript(t, "connection's page")

	tb.do(10*time.Second, "open the queues page", chromedp.Click(chromedp.CSS(`a[data-nav="queues"]`)))
	tb.waitJS(15*time.Second, "the queues table lists the queue", rowJS("queues", queue)+` !== null`)
	tb.checkText(t, "the queue's name in the queues table", rowJS("queues", queue), queue)
	tb.checkNoScript(t, "queues table")

	tb.do(10*time.Second, "open the queue's page", chromedp.Click(chromedp.CSS(rowCSS("queues", queue)+` a`)))
	tb.waitJS(15*time.Second, "the queue's page is open", `!!document.getElementById('get-submit') && !!document.getElementById('queue-facts')`)
	tb.checkText(t, "the queue's name on its page", `document.getElementById('view')`, queue)
	tb.do(15*time.Second, "get the message, requeued",
		chromedp.SetValue(chromedp.ID("get-ackmode"), "ack_requeue_true"),
		chromedp.Click(chromedp.ID("get-submit")),
	)
	tb.waitJS(10*time.Second, "the message is shown", `document.querySelectorAll('#get-results pre[data-test=payload]').length === 1`)
	tb.checkText(t, "the body", `document.getElementById('get-results')`, body)
	tb.checkText(t, "the header", `document.getElementById('get-results')`, header)
	tb.checkText(t, "the correlation id", `document.getElementById('get-results')`, corrID)
	if got := mustEval[string](tb, `document.querySelector('#get-results pre[data-test=payload]').textContent`); got != body {
		t.Errorf("the payload's textContent is %q, want %q", got, body)
	}
	tb.checkNoScript(t, "queue's page with the message")
	waitMessages(t, b, queue, 1) // requeued

	tb.noErrors(t)
}

// checkText fails the test unless some element inside the one that the
// JavaScript expression root yields has textContent equal to want (the
// innermost element holding the string as its whole text).
func (tb *tab) checkText(t *testing.T, what, root, want string) {
	t.Helper()
	ok := mustEval[bool](tb, `(() => { const r = `+root+`; if (!r) return false;
		return [r, ...r.querySelectorAll('*')].some((e) => e.textContent === `+jsString(want)+`); })()`)
	if !ok {
		t.Errorf("%s: no element's textContent is %q", what, want)
	}
}

// checkNoScript fails the test if any payload ran or was parsed as markup:
// a dialog opened, window.__pwned is set, the document has an img, an
// element with an on* attribute, a <b> or <svg> of the payloads, or an
// inline script. (A payload that the CSP stopped would also leave a
// violation in the console, which noErrors reports.)
func (tb *tab) checkNoScript(t *testing.T, where string) {
	t.Helper()
	found := mustEval[[]string](tb, `(() => {
		const found = [];
		if (window.__pwned !== undefined) found.push('window.__pwned = ' + window.__pwned);
		if (document.images.length) found.push(document.images.length + ' img elements');
		for (const e of document.querySelectorAll('*')) {
			for (const a of e.getAttributeNames()) if (a.startsWith('on')) found.push('<' + e.localName + ' ' + a + '>');
		}
		for (const s of document.scripts) if (!s.src) found.push('an inline script: ' + s.textContent.slice(0, 60));
		if (document.querySelector('#view b, svg svg')) found.push('a <b> or nested <svg> from a payload');
		return found;
	})()`)
	for _, f := range found {
		t.Errorf("%s: a payload was parsed as markup: %s", where, f)
	}
	if d := tb.Dialogs(); len(d) > 0 {
		t.Errorf("%s: a payload ran: JavaScript dialogs %q", where, d)
	}
}
