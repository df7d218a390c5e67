package vhost

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"github.com/beatmq/beatmq/frames/erlterm"
)

// Policy is a vhost policy (rabbitmqctl set_policy): the definition's keys
// apply to the queues and exchanges whose names Pattern matches (anywhere,
// as Erlang's re:run) when ApplyTo ("queues", "exchanges" or "all") fits
// and no other matching policy has a higher Priority.
//
// Definition values are what JSON decodes to, with integers as int64:
// string, int64, float64, bool, []any, map[string]any.
type Policy struct {
	Name       string
	Pattern    string
	ApplyTo    string
	Priority   int
	Definition map[string]any
}

// The apply-to values.
const (
	ApplyToAll       = "all"
	ApplyToQueues    = "queues"
	ApplyToExchanges = "exchanges"
)

// PolicyError is a policy refused by validation; Reason is RabbitMQ's text
// (rabbit_policy, rabbit_policies) without the "Validation failed" frame
// that Error adds, as rabbit_runtime_parameters does.
type PolicyError struct{ Reason string }

func (e *PolicyError) Error() string { return "Validation failed\n\n" + e.Reason + "\n" }

// policy is a validated Policy with its pattern compiled.
type policy struct {
	Policy
	re *regexp.Regexp
}

// policyKeys are the definition keys beatmq accepts, each with its
// rabbit_policies:validate_policy0/2 check (the ~p format's text, as
// RabbitMQ 3.10.8 prints it). The keys marked ignored are accepted as
// RabbitMQ accepts them and change nothing here, as the queue arguments of
// the same names: one node has no leader or master to place, and the
// queue version and mode are storage choices. The ha-* keys are checked
// apart (checkHA): one node has nothing to mirror, as in RabbitMQ.
var policyKeys = map[string]func(v any) string{
	"alternate-exchange":      policyString("~p is not a valid alternate exchange name"),
	"dead-letter-exchange":    policyString("~p is not a valid dead letter exchange name"),
	"dead-letter-routing-key": policyString("~p is not a valid dead letter routing key"),
	"message-ttl":             policyInt(0, "~p is not a valid message TTL"),
	"expires":                 policyInt(1, "~p is not a valid queue expiry"),
	"max-length":              policyInt(0, "~p is not a valid maximum length"),
	"max-length-bytes":        policyInt(0, "~p is not a valid maximum length in bytes"),
	"delivery-limit":          policyInt(0, "~p is not a valid delivery limit"),
	"overflow":                policyEnum("~p is not a valid overflow value", "drop-head", "reject-publish", "reject-publish-dlx"),
	// at-most-once is what beatmq does; at-least-once is refused below.
	"dead-letter-strategy": policyEnum("~p is not a valid dead letter strategy", "at-most-once", "at-least-once"),
	// Ignored.
	"max-in-memory-length": policyInt(0, "~p is not a valid maximum memory in bytes"),
	"max-in-memory-bytes":  policyInt(0, "~p is not a valid maximum memory in bytes"),
	"queue-mode":           policyEnum("~p is not a valid queue-mode value", "default", "lazy"),
	"queue-version":        policyIntIn("~p is not a valid queue-version value", 1, 2),
	"queue-leader-locator": policyEnum("~p is not a valid queue leader locator value", "client-local", "balanced", "random", "least-leaders"),
	"queue-master-locator": policyEnum("~p invalid queue-master-locator value", "min-masters", "client-local", "random"),
}

// unsupportedPolicy tells whether RabbitMQ accepts key = v and beatmq does
// not do what it asks: stream settings (beatmq has no streams) and
// at-least-once dead-lettering.
func unsupportedPolicy(key string, v any) bool {
	switch key {
	case "max-age", "stream-max-segment-size-bytes", "initial-cluster-size":
		return true
	case "dead-letter-strategy":
		return v == "at-least-once"
	}
	return false
}

func policyIntIn(format string, known ...int64) func(any) string {
	return func(v any) string {
		if n, ok := v.(int64); ok && slices.Contains(known, n) {
			return ""
		}
		return policyFormat(format, v)
	}
}

func policyFormat(format string, v any) string {
	return strings.Replace(format, "~p", policyTerm(v), 1)
}

func policyString(format string) func(any) string {
	return func(v any) string {
		if _, ok := v.(string); ok {
			return ""
		}
		return policyFormat(format, v)
	}
}

func policyInt(least int64, format string) func(any) string {
	return func(v any) string {
		if n, ok := v.(int64); ok && n >= least {
			return ""
		}
		return policyFormat(format, v)
	}
}

func policyEnum(format string, known ...string) func(any) string {
	return func(v any) string {
		if s, ok := v.(string); ok && slices.Contains(known, s) {
			return ""
		}
		return policyFormat(format, v)
	}
}

// policyTerm prints a JSON value as ~p prints the term RabbitMQ decodes it
// to: strings as binaries, objects as maps, null as the atom null.
func policyTerm(v any) string {
	switch x := v.(type) {
	case string:
		return erlterm.Binary([]byte(x))
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return shortestFloat(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	case []any:
		elems := make([]string, len(x))
		for i, e := range x {
			elems[i] = policyTerm(e)
		}
		return erlterm.List(elems...)
	case map[string]any:
		keys := sortedKeys(x)
		elems := make([]string, len(keys))
		for i, k := range keys {
			elems[i] = erlterm.Binary([]byte(k)) + " => " + policyTerm(x[k])
		}
		return "#{" + strings.Join(elems, ",") + "}"
	}
	return "undefined"
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ValidatePolicy checks p as rabbit_policy:validate/5 does, in its order:
// pattern, apply-to, then the definition (an empty one is refused; its keys
// in order, then any key left unrecognised). An empty ApplyTo is "all".
func ValidatePolicy(p Policy) error {
	_, err := compilePolicy(p)
	return err
}

func compilePolicy(p Policy) (*policy, error) {
	if p.ApplyTo == "" {
		p.ApplyTo = ApplyToAll
	}
	re, err := regexp.Compile(p.Pattern)
	if err != nil {
		// rabbit_parameter_validation:regex/2; the reason is Go's, where
		// RabbitMQ prints PCRE's {Message,Offset}.
		return nil, &PolicyError{regexError(p.Pattern, err)}
	}
	switch p.ApplyTo {
	case ApplyToAll, ApplyToQueues, ApplyToExchanges:
	default:
		return nil, &PolicyError{"apply-to '" + p.ApplyTo + "' unrecognised; should be 'queues', 'exchanges' or 'all'"}
	}
	if len(p.Definition) == 0 {
		return nil, &PolicyError{"no policy provided"}
	}
	// rabbit_policy:validation0/2: each validator's keys in turn (the
	// definition's in key order), then the keys none took.
	var unknown, unsupported []string
	for _, k := range sortedKeys(p.Definition) {
		v := p.Definition[k]
		check, ok := policyKeys[k]
		switch {
		case ok:
			if e := check(v); e != "" {
				return nil, &PolicyError{e}
			}
		case slices.Contains(haKeys, k):
		case unsupportedPolicy(k, v):
		default:
			unknown = append(unknown, erlterm.Tuple(erlterm.Binary([]byte(k)), policyTerm(v)))
		}
		if unsupportedPolicy(k, v) {
			unsupported = append(unsupported, erlterm.Tuple(erlterm.Binary([]byte(k)), policyTerm(v)))
		}
	}
	if e := checkHA(p.Definition); e != "" {
		return nil, &PolicyError{e}
	}
	if len(unknown) > 0 {
		return nil, &PolicyError{erlterm.List(unknown...) + " are not recognised policy settings"}
	}
	if len(unsupported) > 0 {
		return nil, &PolicyError{erlterm.List(unsupported...) + " are not supported by beatmq"}
	}
	return &policy{Policy: p, re: re}, nil
}

// DecodeDefinition decodes a policy definition from JSON as RabbitMQ's
// decoder does: integers become int64, other numbers float64, and nested
// arrays and objects []any and map[string]any. Anything but an object is
// refused with RabbitMQ's text.
func DecodeDefinition(data []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	v = JSONValue(v)
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &PolicyError{"definition must be a dictionary: " + policyTerm(v)}
	}
	return m, nil
}

// JSONValue turns what encoding/json decoded with UseNumber (or without:
// an integral float64 stays a float, as it cannot be told from 1.0) into
// a policy definition value: json.Number becomes int64 when it is an
// integer, float64 otherwise.
func JSONValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case int:
		return int64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = JSONValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = JSONValue(e)
		}
		return out
	}
	return v
}

// regexError is rabbit_parameter_validation:regex/2's text, the reason
// printed by ~p after it: a term that does not fit in the 80 columns
// left of the text is broken after its first element, as io_lib_pretty
// breaks a tuple.
func regexError(pattern string, err error) string {
	const prefix = "pattern should be regular expression but is invalid: "
	msg, at, ok := pcreError(pattern, err)
	if !ok {
		return prefix + erlterm.String(err.Error())
	}
	flat := erlterm.Tuple(erlterm.String(msg), strconv.Itoa(at))
	if len(prefix)+1+len(flat) <= 80 { // io_lib_pretty counts columns from 1
		return prefix + flat
	}
	return prefix + "{" + erlterm.String(msg) + ",\n" + strings.Repeat(" ", len(prefix)+1) + strconv.Itoa(at) + "}"
}

// pcreError is the {Message,Offset} of Erlang's re:compile/1 for the
// common mistakes Go and PCRE both see; false for any other.
func pcreError(pattern string, err error) (msg string, at int, ok bool) {
	var se *syntax.Error
	if errors.As(err, &se) {
		msg, at = "", len(pattern)
		switch se.Code {
		case syntax.ErrMissingParen:
			msg = "missing )"
		case syntax.ErrMissingBracket:
			msg = "missing terminating ] for character class"
		case syntax.ErrUnexpectedParen:
			msg, at = "unmatched parentheses", strings.LastIndex(pattern, ")")
		case syntax.ErrMissingRepeatArgument:
			msg, at = "nothing to repeat", max(strings.Index(pattern, se.Expr), 0)
		}
		return msg, at, msg != ""
	}
	return "", 0, false
}

// shortestFloat prints f as OTP's io_lib_format:fwrite_g/1 does: the fixed
// or the exponent form, whichever is shorter (the fixed one on a tie):
// 100.0, 1.0e3, 1.5.
func shortestFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return erlterm.Float(f)
	}
	fixed := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(fixed, ".") {
		fixed += ".0"
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	sign := ""
	if strings.HasPrefix(exp, "-") {
		sign = "-"
	}
	exp = strings.TrimLeft(strings.TrimLeft(exp, "+-"), "0")
	if exp == "" {
		exp = "0"
	}
	if e := mant + "e" + sign + exp; len(e) < len(fixed) {
		return e
	}
	return fixed
}
