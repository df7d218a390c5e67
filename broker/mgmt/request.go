package mgmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/beatmq/beatmq/amqp"
	"github.com/beatmq/beatmq/broker"
)

// maxMessageBodyBytes bounds the body of POST .../publish, which carries a
// message's payload (RabbitMQ's default max_message_size is larger; the
// management API is no bulk path).
const maxMessageBodyBytes = 16 << 20

// reasonBody is RabbitMQ's error body with a reason that is not a string:
// an Erlang tuple such as {not_int, delivery_mode} shows as a JSON list.
type reasonBody struct {
	Error  string `json:"error"`
	Reason any    `json:"reason"`
}

// badRequest writes 400 {"error":"bad_request","reason":reason}.
func badRequest(w http.ResponseWriter, reason any) {
	writeJSON(w, http.StatusBadRequest, reasonBody{Error: "bad_request", Reason: reason})
}

// writeEmpty500 answers as RabbitMQ does when its resource crashes on a
// value it did not expect (an unknown ackmode): 500 with no body.
func writeEmpty500(w http.ResponseWriter) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusInternalServerError)
}

// readObject reads a JSON object body into its fields, as
// rabbit_mgmt_util:with_decode/5 does: anything but an object is 400
// "not_json" (an empty body is an empty object), and the keys in required
// that are missing are listed, sorted, in one 400
// "[{key_missing,a},{key_missing,b}]". It writes the answer and returns
// false on failure.
func readObject(w http.ResponseWriter, r *http.Request, limit int64, required ...string) (map[string]json.RawMessage, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "bad_request", "request body too large")
			return nil, false
		}
		badRequest(w, "not_json")
		return nil, false
	}
	obj := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
			badRequest(w, "not_json")
			return nil, false
		}
	}
	var missing []string
	for _, k := range required {
		if _, ok := obj[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		for i, k := range missing {
			missing[i] = "{key_missing," + k + "}"
		}
		badRequest(w, "["+strings.Join(missing, ",")+"]")
		return nil, false
	}
	return obj, true
}

// jsonString returns raw as a string, if it is one.
func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonInt returns raw as an integer: a JSON integer, or a string holding
// one, as rabbit_mgmt_util:parse_int/1 takes both.
func jsonInt(raw json.RawMessage) (int, bool) {
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		i, err := strconv.Atoi(n.String())
		return i, err == nil
	}
	if s, ok := jsonString(raw); ok {
		i, err := strconv.Atoi(s)
		return i, err == nil
	}
	return 0, false
}

// jsonBool reads an optional boolean field: absent is false; anything but
// a boolean (or "true"/"false") is 400 ["not_boolean", value], as
// rabbit_mgmt_util:parse_bool/1 answers. It writes the answer on failure.
func jsonBool(w http.ResponseWriter, obj map[string]json.RawMessage, key string) (bool, bool) {
	raw, ok := obj[key]
	if !ok {
		return false, true
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true
	}
	var v any
	_ = json.Unmarshal(raw, &v)
	switch v {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	badRequest(w, []any{"not_boolean", v})
	return false, false
}

// jsonArguments reads an optional "arguments" object as an AMQP table, as
// rabbit_mgmt_util:args/1 converts it; anything else is 400.
func jsonArguments(w http.ResponseWriter, obj map[string]json.RawMessage) (amqp.Table, bool) {
	raw, ok := obj["arguments"]
	if !ok || string(raw) == "null" {
		return amqp.Table{}, true
	}
	t, err := jsonTableOf(raw)
	if err != nil {
		badRequest(w, err.Error())
		return nil, false
	}
	return t, true
}

// amqpReason is an AMQP error's text without its code name, as the
// management API shows the errors of the methods it runs
// (rabbit_mgmt_util:amqp_request/4): "queue 'q' in vhost '/' not empty".
func amqpReason(e *amqp.Error) string {
	if name := amqp.ReplyName(e.Code); name != "" {
		if rest, ok := strings.CutPrefix(e.Text, name+" - "); ok {
			return rest
		}
	}
	return e.Text
}

// writeAMQPRequestError answers for an AMQP method the management API ran
// for a DELETE or PUT, as rabbit_mgmt_util:amqp_request/4 does: 403 is 401
// "Access refused.", 404 is RabbitMQ's 404, anything else 400 with the
// error's text; ErrNotFound (no vhost) is 404.
func writeAMQPRequestError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrNotFound) {
		writeNotFound(w)
		return
	}
	var e *amqp.Error
	if !errors.As(err, &e) {
		writeError(w, http.StatusInternalServerError, "internal_server_error", err.Error())
		return
	}
	switch e.Code {
	case amqp.AccessRefused:
		notAuthorised(w, "Access refused.")
	case amqp.NotFound:
		writeNotFound(w)
	default:
		badRequest(w, amqpReason(e))
	}
}

// jsonTableOf converts a JSON object to an AMQP table
// (broker.TableFromJSON).
func jsonTableOf(raw json.RawMessage) (amqp.Table, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, errors.New("not_json")
	}
	t, err := broker.TableFromJSON(m)
	if t == nil && err == nil {
		t = amqp.Table{}
	}
	return t, err
}
