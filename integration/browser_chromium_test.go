//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is the Chromium binary: BEATMQ_CHROMIUM, else Debian's
// /usr/bin/chromium, else chromium on PATH. Missing, it fails the test (it
// does not skip it): `make test` installs the package first (make deps).
func chromiumPath(t *testing.T) string {
	t.Helper()
	const hint = "run `make deps`, which installs Debian's chromium package (scripts/install-deps.sh)"
	if p := os.Getenv("BEATMQ_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("BEATMQ_CHROMIUM=%s: %v; unset it and %s", p, err, hint)
		}
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatal("Chromium not found (/usr/bin/chromium, or chromium on PATH): " + hint + ", or set BEATMQ_CHROMIUM")
	return ""
}

// browser is one headless Chromium process of a test; its tabs share one
// profile (cookies, storage, HTTP auth cache).
type browser struct {
	// first is the tab made with the browser; every other tab is its child.
	first *tab
}

// tab is one page of the browser, with what it reported: console errors,
// uncaught exceptions, error log entries (CSP violations among them) and
// JavaScript dialogs, each kept for the test to check.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	errs    []consoleError // console.error calls, exceptions, error log entries
	allowed []allowedError // entries of errs a test expects (allow)
	dialogs []string       // "alert: message"
	// responses maps each URL to the HTTP status of every response to it
	// (the main frame's and same-site frames' requests).
	responses map[string][]int
}

// startBrowser starts headless Chromium with a fresh profile in a
// temporary directory; the browser is stopped when the test ends.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	out := filepath.Join(t.TempDir(), "chromium.out")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.WindowSize(1280, 1100),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.CombinedOutput(&logWriter{path: out}),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to start as root with its sandbox on ("Running as
		// root without --no-sandbox is not supported"); the tests run as
		// root in the project's containers. Only the pages of the test's
		// own servers are opened. Other users keep the sandbox.
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{}
	first, cancelTab := b.newTab(t, allocCtx)
	b.first = first
	if err := attach(first.ctx, 60*time.Second); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("starting Chromium: %v; its output:\n%s", err, tail(out, 20))
	}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	return b
}

// newTab makes a tab whose listener records console errors, exceptions,
// error log entries and dialogs (and answers the dialogs: accept, so that
// nothing hangs; the test decides whether one was allowed).
func (b *browser) newTab(t *testing.T, parent context.Context) (*tab, context.CancelFunc) {
	tb := &tab{t: t, responses: make(map[string][]int)}
	var ctx context.Context
	var cancel context.CancelFunc
	ctx, cancel = chromedp.NewContext(parent, chromedp.WithListener(func(ev any) {
		// Runs in the tab's read loop: record, never run a command here.
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				tb.recordErr(consoleError{Source: "console." + string(ev.Type), Text: consoleArgs(ev.Args)})
			}
		case *runtime.EventExceptionThrown:
			tb.recordErr(consoleError{Source: "exception", Text: exceptionText(ev.ExceptionDetails)})
		case *log.EventEntryAdded:
			if ev.Entry != nil && ev.Entry.Level == log.EntryLevelError {
				tb.recordErr(consoleError{Source: "log " + string(ev.Entry.Source), Text: ev.Entry.Text, URL: ev.Entry.URL})
			}
		case *network.EventResponseReceived:
			if ev.Response != nil {
				tb.mu.Lock()
				tb.responses[ev.Response.URL] = append(tb.responses[ev.Response.URL], int(ev.Response.Status))
				tb.mu.Unlock()
			}
		case *page.EventJavascriptDialogOpening:
			tb.mu.Lock()
			tb.dialogs = append(tb.dialogs, string(ev.Type)+": "+ev.Message)
			tb.mu.Unlock()
			go func() {
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			}()
		}
	}))
	tb.ctx = ctx
	return tb, cancel
}

// NewTab opens another tab in the same browser (same profile) for test t
// (a subtest's, say); it is closed when t ends.
func (b *browser) NewTab(t *testing.T) *tab {
	t.Helper()
	tb, cancel := b.newTab(t, b.first.ctx)
	t.Cleanup(cancel)
	if err := attach(tb.ctx, 30*time.Second); err != nil {
		cancel()
		t.Fatalf("opening a tab: %v", err)
	}
	return tb
}

// attach runs the first (empty) Do on a chromedp context, which starts the
// browser or opens the tab. That context must have no deadline: the browser
// or tab lives only as long as the context of its first Do (chromedp's
// docs, example 21), so the bound comes from a timer here. On a timeout the
// caller cancels ctx, which ends the Do.
func attach(ctx context.Context, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("no answer from Chromium within %v", timeout)
	}
}

// consoleError is one error the page reported.
type consoleError struct {
	Source string // console.error, exception, "log network", "log security"…
	Text   string
	URL    string // the resource, for log entries
}

func (e consoleError) String() string {
	if e.URL != "" {
		return e.Source + ": " + e.Text + " (" + e.URL + ")"
	}
	return e.Source + ": " + e.Text
}

// allowedError is a network error entry a test expects: Chromium logs
// "Failed to load resource: the server responded with a status of 404" for
// every fetch answered 404, also one the page makes on purpose.
type allowedError struct {
	segs   []string // the URL path's segments, each decoded on its own
	status int
	why    string
}

// allow lets noErrors pass the network log entries for requests whose URL
// path has the segments segs (each decoded on its own, so the vhost "/" is
// one segment "/") answered with status, for the reason why.
func (tb *tab) allow(status int, why string, segs ...string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.allowed = append(tb.allowed, allowedError{segs: segs, status: status, why: why})
}

// isAllowed tells whether e is an entry allowed by allow. Call with tb.mu
// held.
func (tb *tab) isAllowed(e consoleError) (string, bool) {
	if e.Source != "log network" {
		return "", false
	}
	u, err := url.Parse(e.URL)
	if err != nil {
		return "", false
	}
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	for i, seg := range segs {
		if segs[i], err = url.PathUnescape(seg); err != nil {
			return "", false
		}
	}
	for _, a := range tb.allowed {
		if slices.Equal(segs, a.segs) && strings.Contains(e.Text, fmt.Sprintf("status of %d ", a.status)) {
			return a.why, true
		}
	}
	return "", false
}

func (tb *tab) recordErr(s consoleError) {
	tb.mu.Lock()
	tb.errs = append(tb.errs, s)
	tb.mu.Unlock()
}

// consoleArgs renders console call arguments as DevTools would, roughly.
func consoleArgs(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a.Value != nil:
			var s string
			if json.Unmarshal(a.Value, &s) == nil {
				parts = append(parts, s)
			} else {
				parts = append(parts, string(a.Value))
			}
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

// exceptionText is an uncaught exception's message and place.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		s += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s (%s:%d:%d)", s, d.URL, d.LineNumber+1, d.ColumnNumber+1)
}

// Errors is what the tab reported so far: console errors, uncaught
// exceptions and error log entries, except those allowed (see allow).
func (tb *tab) Errors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var errs []string
	for _, e := range tb.errs {
		if _, ok := tb.isAllowed(e); ok {
			continue
		}
		errs = append(errs, e.String())
	}
	return errs
}

// Dialogs is every JavaScript dialog the tab opened so far.
func (tb *tab) Dialogs() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.dialogs...)
}

// noErrors fails the test if the tab reported any console error, uncaught
// exception or error log entry (CSP violations are such entries), or if the
// page shows its #error line.
func (tb *tab) noErrors(t *testing.T) {
	t.Helper()
	tb.mu.Lock()
	for _, e := range tb.errs {
		if why, ok := tb.isAllowed(e); ok {
			t.Logf("browser console, expected (%s): %s", why, e)
		}
	}
	tb.mu.Unlock()
	for _, e := range tb.Errors() {
		t.Errorf("browser console: %s", e)
	}
	// The page's own error line (#error) must be hidden too.
	if msg, err := eval[string](tb, `(() => { const e = document.getElementById('error'); return e && !e.hidden ? e.textContent : ''; })()`); err != nil {
		t.Errorf("reading #error: %v", err)
	} else if msg != "" {
		t.Errorf("the page shows an error: %q", msg)
	}
}

// do runs steps, bounded by timeout; a failure fails the test.
func (tb *tab) do(timeout time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v%s", what, err, tb.consoleNote())
	}
}

// consoleNote is the console errors so far, for a failure message.
func (tb *tab) consoleNote() string {
	errs := tb.Errors()
	if len(errs) == 0 {
		return ""
	}
	return "\nbrowser console:\n  " + strings.Join(errs, "\n  ")
}

// eval evaluates a JavaScript expression in the page and decodes its value
// into T. DevTools' Runtime.evaluate is not subject to the page's CSP.
func eval[T any](tb *tab, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// mustEval is eval that fails the test on an error.
func mustEval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := eval[T](tb, expr)
	if err != nil {
		tb.t.Fatalf("evaluating %s: %v%s", expr, err, tb.consoleNote())
	}
	return v
}

// waitJS evaluates expr every 50 ms until it is true, failing the test after
// timeout. (chromedp.Poll builds its predicate with new Function, which the
// page's CSP forbids, so the polling is done from here.)
func (tb *tab) waitJS(timeout time.Duration, what, expr string) {
	tb.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := eval[bool](tb, expr)
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) || errors.Is(err, context.Canceled) {
			tb.t.Fatalf("not within %v: %s (%s; last error: %v)%s", timeout, what, expr, last, tb.consoleNote())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// screenshot scrolls the page to its top, or to put the element with id
// top at the top of the viewport, and captures the viewport as PNG into
// BEATMQ_SCREENSHOTS (`make screenshots` sets it to docs/screenshots) or, by
// default, into the test's temporary directory, as name.png.
func (tb *tab) screenshot(name, top string) {
	tb.t.Helper()
	scroll := `window.scrollTo(0, 0)`
	if top != "" {
		scroll = `document.getElementById(` + jsString(top) + `).scrollIntoView({block: 'start'})`
	}
	tb.do(10*time.Second, "scroll for the screenshot", chromedp.Evaluate[chromedp.Void](scroll))
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := os.Getenv("BEATMQ_SCREENSHOTS")
	if dir == "" {
		dir = tb.t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot %s (%d bytes)", p, len(buf))
}

// logWriter appends Chromium's own output to a file, for a failure's
// post-mortem.
type logWriter struct {
	mu   sync.Mutex
	path string
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return len(p), nil
	}
	defer f.Close()
	return f.Write(p)
}

// login opens the broker's web page in the tab and logs in through its form
// (#login-user, #login-pass, #login-submit), then waits until the login
// section is hidden and the session line (#session) shows.
func (tb *tab) login(b *browserBroker, user, pass string) {
	tb.t.Helper()
	tb.do(30*time.Second, "open the web page and fill in the login form",
		chromedp.Navigate(b.MgmtURL()+"/"),
		chromedp.WaitVisible(chromedp.ID("login-user")),
		chromedp.SendKeys(chromedp.ID("login-user"), user),
		chromedp.SendKeys(chromedp.ID("login-pass"), pass),
		chromedp.Click(chromedp.ID("login-submit")),
	)
	tb.waitJS(15*time.Second, "logged in: the login form hidden, the session shown",
		`document.getElementById('login').hidden && !document.getElementById('session').hidden`)
}

// route sets the page's hash route ("#/connections", "#/queues/%2F/q") and
// waits until the page has taken it.
func (tb *tab) route(hash string) {
	tb.t.Helper()
	tb.do(10*time.Second, "go to "+hash,
		chromedp.Evaluate[chromedp.Void](`location.hash = `+jsString(hash)))
	tb.waitJS(10*time.Second, "the page at "+hash, `location.hash === `+jsString(hash))
}
