//go:build integration

package integration

import (
	"context"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	amqp "github.com/rabbitmq/amqp091-go"
)

// TestBrowserCrossOrigin: while the browser is logged in to the broker's web
// page and holds guest's basic-auth credentials for the broker's origin in
// its HTTP auth cache (as after opening /api/overview and typing them into
// the browser's own login dialog; the requests below carry them, so only
// the broker's origin checks stand in the way), a page of another origin
// posts forms (enctype text/plain, whose body can be made valid JSON) to
// the state-changing endpoints and sends fetches (no-cors POSTs; DELETE and
// PUT, which need a CORS preflight). The broker must refuse all of them:
// afterwards the queue holds the same message, the connection is open with
// no fault, no vhost was created. Twice: from another port of 127.0.0.1
// (same site, other origin) and from localhost (another site). With
// broker/mgmt's cross-origin refusal taken out, the forms publish, drain
// the queue and import definitions, and this test fails.
func TestBrowserCrossOrigin(t *testing.T) {
	skipBrowserOnRabbitMQ(t)
	b := startBrowserBroker(t, 60)

	const queue = "csrf-q"
	conn, err := b.dial("csrf-victim", 0)
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
	if err := ch.Publish("", queue, false, false, amqp.Publishing{Body: []byte("seed")}); err != nil {
		t.Fatal(err)
	}
	victim := b.connName(t, conn)
	pollUntil(t, 10*time.Second, "the queue holds the seed message", func() (bool, error) {
		q, err := b.queue(context.Background(), queue)
		return err == nil && q.Messages == 1, err
	})

	br := startBrowser(t)
	home := br.first
	home.login(b, "guest", "guest")
	seedAuthCache(t, br, b)

	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run("from "+host, func(t *testing.T) {
			evil := startEvilSite(t, host, b, victim, queue)
			tb := br.NewTab(t)
			tb.do(30*time.Second, "open the other origin's page", chromedp.Navigate(evil))
			tb.waitJS(30*time.Second, "the other origin's page sent every request", `window.__done === true`)
			results := mustEval[map[string]string](tb, `window.__results`)
			for name, r := range results {
				t.Logf("%s: %s", name, r)
			}
			// Same site, so the frames' requests show in this tab's
			// network events: each form post must have reached the broker
			// and been refused (not merely blocked inside the browser).
			if host == "127.0.0.1" {
				for _, p := range []string{"/api/exchanges/%2F/amq.default/publish", "/api/queues/%2F/" + queue + "/get", "/api/definitions"} {
					st := tb.statuses(b.MgmtURL() + p)
					t.Logf("POST %s answered %v", p, st)
					if len(st) == 0 {
						t.Errorf("no answer seen to the cross-origin POST %s: the test did not reach the broker", p)
					}
					for _, s := range st {
						if s >= 200 && s < 300 {
							t.Errorf("cross-origin POST %s answered %d", p, s)
						}
					}
				}
			}
			checkUnchanged(t, b, conn, victim, queue)
		})
	}
	// The logged-in page still works: the refusals did not log it out.
	home.route("#/connections")
	home.waitJS(15*time.Second, "the connections table lists the victim connection", rowJS("connections", victim)+` !== null`)
	home.noErrors(t)
}

// seedAuthCache puts guest's credentials in the browser's HTTP auth cache
// for the broker's origin, as a user who opened /api/overview and typed them
// into the browser's own login dialog would: a tab answers the 401
// challenge of a top-level navigation through DevTools' Fetch domain
// (Fetch.authRequired, continueWithAuth), after which requests to the origin
// carry them unasked. It checks that they are cached (a navigation in
// another tab, with the interception off, is answered 200).
func seedAuthCache(t *testing.T, br *browser, b *browserBroker) {
	t.Helper()
	tb := br.NewTab(t)
	if err := chromedp.Listen(tb.ctx, func(ev any) {
		// The tab's read loop: answer from another goroutine.
		switch ev := ev.(type) {
		case *fetch.EventRequestPaused:
			go func() {
				_, _ = chromedp.Call(tb.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			}()
		case *fetch.EventAuthRequired:
			go func() {
				_, _ = chromedp.Call(tb.ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{
					RequestID: ev.RequestID,
					AuthChallengeResponse: &fetch.AuthChallengeResponse{
						Response: fetch.AuthChallengeResponseResponseProvideCredentials,
						Username: "guest", Password: "guest",
					},
				})
			}()
		}
	}); err != nil {
		t.Fatal(err)
	}
	handle := true
	tb.do(20*time.Second, "answer the broker's login challenge in the browser",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{HandleAuthRequests: &handle})
			return err
		}),
		chromedp.Navigate(b.MgmtURL()+"/api/whoami"),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, fetch.Disable, cdp.Empty{})
			return err
		}),
	)
	check := br.NewTab(t)
	check.do(20*time.Second, "open /api/overview without credentials", chromedp.Navigate(b.MgmtURL()+"/api/overview"))
	body := mustEval[string](check, `document.body ? document.body.innerText : ''`)
	if !strings.Contains(body, `"product_name"`) {
		// Without them a cross-origin request fails authentication whatever
		// the broker's origin checks do, and the test would prove nothing.
		t.Fatalf("the browser did not keep the credentials in its HTTP auth cache (GET /api/overview without them gave %.200q)", body)
	}
}

// statuses is the HTTP status of every response the tab saw for url.
func (tb *tab) statuses(url string) []int {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]int(nil), tb.responses[url]...)
}

// checkUnchanged checks from the broker's side that the cross-origin
// requests changed nothing: the queue holds one message, the connection is
// open with no fault, no vhost csrf-evil exists.
func checkUnchanged(t *testing.T, b *browserBroker, conn *amqp.Connection, victim, queue string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := b.queue(ctx, queue)
	if err != nil {
		t.Errorf("queue %s: %v", queue, err)
	} else if q.Messages != 1 {
		t.Errorf("queue %s holds %d messages after the cross-origin requests, want 1", queue, q.Messages)
	}
	conns, err := b.connections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range conns {
		if c.Name == victim {
			found = true
			if c.Fault != nil {
				t.Errorf("connection %s has the fault %v after the cross-origin requests", victim, c.Fault)
			}
		}
	}
	if !found || conn.IsClosed() {
		t.Errorf("connection %s closed by the cross-origin requests (listed: %v, client sees it closed: %v)", victim, found, conn.IsClosed())
	}
	if st, err := b.api(ctx, http.MethodGet, "/api/vhosts/csrf-evil", nil, nil); st != http.StatusNotFound {
		t.Errorf("GET /api/vhosts/csrf-evil: %d %v, want 404: the cross-origin definitions import created it", st, err)
	}
}

// startEvilSite serves, on host (127.0.0.1 or localhost) and a free port,
// a page that at once sends the broker's management API every
// state-changing request a page of another origin can: forms posted into
// hidden frames, no-cors fetches, and DELETE and PUT fetches (which need a
// CORS preflight), all with credentials: 'include'. When all have
// finished it sets window.__done, with each fetch's outcome in
// window.__results. It returns the page's URL.
func startEvilSite(t *testing.T, host string, b *browserBroker, victim, queue string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := evilPage.Execute(w, map[string]string{
			"Broker": b.MgmtURL(), "Victim": victim, "Queue": queue,
		}); err != nil {
			t.Errorf("evil page: %v", err)
		}
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return "http://" + net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)) + "/"
}

// evilPage is the other origin's page. A text/plain form sends
// name=value: the name ends in `"pad":"` and the value is `"}`, so the
// body is a JSON object the API would accept.
var evilPage = template.Must(template.New("evil").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>another site</title></head>
<body>
<h1>Nothing to see</h1>
<form data-csrf action="{{.Broker}}/api/exchanges/%2F/amq.default/publish" method="post" enctype="text/plain" target="f0">
<input type="hidden" name='{"properties":{},"routing_key":"{{.Queue}}","payload":"csrf form","payload_encoding":"string","pad":"' value='"}'>
</form>
<form data-csrf action="{{.Broker}}/api/queues/%2F/{{.Queue}}/get" method="post" enctype="text/plain" target="f1">
<input type="hidden" name='{"count":10,"ackmode":"ack_requeue_false","encoding":"auto","pad":"' value='"}'>
</form>
<form data-csrf action="{{.Broker}}/api/definitions" method="post" enctype="text/plain" target="f2">
<input type="hidden" name='{"vhosts":[{"name":"csrf-evil"}],"pad":"' value='"}'>
</form>
<script>
(async () => {
  const B = {{.Broker}};
  const victim = {{.Victim}};
  const queue = {{.Queue}};
  const results = {};
  const framesLoaded = Array.from(document.querySelectorAll('form[data-csrf]'), (form, i) => new Promise((resolve) => {
    const f = document.createElement('iframe');
    f.name = 'f' + i;
    f.style.display = 'none';
    document.body.appendChild(f);
    // The about:blank load has fired by now; the next one is the post's.
    f.addEventListener('load', resolve, { once: true });
    setTimeout(resolve, 15000);
    form.submit();
  }));
  async function attempt(name, url, init) {
    try {
      const r = await fetch(url, { credentials: 'include', ...init });
      results[name] = r.type === 'opaque' ? 'sent, opaque answer' : 'HTTP ' + r.status;
    } catch (e) {
      results[name] = 'refused by the browser: ' + e.message;
    }
  }
  const q = B + '/api/queues/%2F/' + encodeURIComponent(queue);
  await Promise.all([
    ...framesLoaded,
    attempt('fetch no-cors POST publish', B + '/api/exchanges/%2F/amq.default/publish', {
      method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify({ properties: {}, routing_key: queue, payload: 'csrf fetch', payload_encoding: 'string' }) }),
    attempt('fetch no-cors POST get', q + '/get', {
      method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify({ count: 10, ackmode: 'ack_requeue_false', encoding: 'auto' }) }),
    attempt('fetch DELETE connection', B + '/api/connections/' + encodeURIComponent(victim), { method: 'DELETE' }),
    attempt('fetch PUT fault', B + '/api/beatmq/connections/' + encodeURIComponent(victim) + '/fault', {
      method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{"kind":"reset"}' }),
    attempt('fetch DELETE queue contents', q + '/contents', { method: 'DELETE' }),
    attempt('fetch DELETE queue', q, { method: 'DELETE' }),
  ]);
  window.__results = results;
  window.__done = true;
})();
</script>
</body></html>
`))
