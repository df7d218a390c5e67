package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Exit codes, the sysexits.h values rabbitmqctl uses.
const (
	exitOK          = 0
	exitUsage       = 64 // EX_USAGE: unknown command, wrong number of arguments, bad flag
	exitDataErr     = 65 // EX_DATAERR: an argument with a bad value
	exitNotFound    = 66 // EX_NOINPUT: the named object does not exist
	exitUnavailable = 69 // EX_UNAVAILABLE: the management API cannot be reached
	exitSoftware    = 70 // EX_SOFTWARE: the broker answered with an unexpected error
	exitCantCreate  = 73 // EX_CANTCREAT: an output file cannot be written
	exitTempFail    = 75 // EX_TEMPFAIL: the request timed out
	exitNoPerm      = 77 // EX_NOPERM: the management API refused the credentials
)

// cliError is an error with the exit code it calls for.
type cliError struct {
	code int
	msg  string
	bare bool // printed without rabbitmqctl's "Error:" line, as some of its errors are
}

func (e *cliError) Error() string { return e.msg }

// errorf returns a cliError with code and a formatted message.
func errorf(code int, format string, args ...any) error {
	return &cliError{code: code, msg: fmt.Sprintf(format, args...)}
}

// exitCode maps err to the process exit code.
func exitCode(err error) int {
	var ce *cliError
	if errors.As(err, &ce) {
		return ce.code
	}
	return exitSoftware
}

// apiClient talks to beatmq's management API.
type apiClient struct {
	base       string // scheme://host:port, without trailing slash
	user, pass string
	http       *http.Client
	timeout    time.Duration
}

// newAPIClient returns a client for the API at base; each call gives up
// after timeout.
func newAPIClient(base, user, pass string, timeout time.Duration) (*apiClient, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errorf(exitUsage, "invalid management API URL %q: want http://host:port", base)
	}
	return &apiClient{
		base: strings.TrimRight(base, "/"),
		user: user,
		pass: pass,
		// One request at a time and no proxy (a zero Transport ignores
		// HTTP_PROXY): no connection is kept for reuse.
		http:    &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		timeout: timeout,
	}, nil
}

// apiError is a RabbitMQ-style error body.
type apiError struct {
	Error  string `json:"error"`
	Reason string `json:"reason"`
}

// do sends method to path (already escaped) with body (may be nil) and
// returns the status and body of a 2xx answer; anything else becomes a
// cliError. notFound, when not empty, is the message for a 404.
func (c *apiClient) do(method, path string, hdr http.Header, body []byte, notFound string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, errorf(exitUsage, "invalid request %s %s: %v", method, path, err)
	}
	req.SetBasicAuth(c.user, c.pass)
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, c.transportError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, c.transportError(err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, data, nil
	}
	var ae apiError
	_ = json.Unmarshal(data, &ae)
	reason := ae.Reason
	if reason == "" {
		reason = strings.TrimSpace(string(data))
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return resp.StatusCode, data, errorf(exitNoPerm,
			"the management API at %s refused user '%s': %s (set --user/--password or BEATMQ_USER/BEATMQ_PASSWORD)",
			c.base, c.user, reason)
	case http.StatusNotFound:
		if notFound == "" {
			notFound = fmt.Sprintf("%s %s: not found", method, path)
		}
		return resp.StatusCode, data, errorf(exitNotFound, "%s", notFound)
	case http.StatusBadRequest:
		return resp.StatusCode, data, errorf(exitDataErr, "%s", reason)
	default:
		return resp.StatusCode, data, errorf(exitSoftware, "%s %s: %s: %s", method, path, resp.Status, reason)
	}
}

// transportError explains a failure to reach the API.
func (c *apiClient) transportError(err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return errorf(exitTempFail, "the management API at %s did not answer within %s", c.base, c.timeout)
	}
	// The URL is in the message already.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return errorf(exitUnavailable,
		"cannot reach the beatmq management API at %s: %v\n"+
			"Is beatmq running with its management API there (--mgmt-addr)? Otherwise set --mgmt-url or BEATMQ_MGMT_URL.",
		c.base, err)
}

// getJSON GETs path and decodes the answer into v, keeping numbers exact.
func (c *apiClient) getJSON(path string, v any, notFound string) error {
	_, data, err := c.do(http.MethodGet, path, nil, nil, notFound)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errorf(exitSoftware, "GET %s: unexpected answer: %v", path, err)
	}
	return nil
}
