package vhost

import (
	"bytes"
	"encoding/json"
	"errors"
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
// rabbit_policies:validate_policy0/2 check (the ~p format's text). The keys
// marked ignored are accepted as RabbitMQ accepts them and change nothing
// here, as the queue arguments of the same names: one node has no leader
// to place and pages out every queue alike.
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
	// Ignored.
	"max-in-memory-length": policyInt(0, "~p is not a valid maximum memory in bytes"),
	"max-in-memory-bytes":  policyInt(0, "~p is not a valid maximum memory in bytes"),
	"queue-mode":           policyEnum("~p is not a valid queue-mode value", "default", "lazy"),
	"queue-leader-locator": policyEnum("~p is not a valid queue leader locator value", "client-local", "random", "least-leaders"),
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
		return erlterm.Float(x)
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
		return nil, &PolicyError{"pattern should be a regular expression but is invalid: " + pcreError(p.Pattern, err)}
	}
	switch p.ApplyTo {
	case ApplyToAll, ApplyToQueues, ApplyToExchanges:
	default:
		return nil, &PolicyError{"apply-to '" + p.ApplyTo + "' unrecognised; should be 'queues', 'exchanges' or 'all'"}
	}
	if len(p.Definition) == 0 {
		return nil, &PolicyError{"no policy provided"}
	}
	var unknown []string
	for _, k := range sortedKeys(p.Definition) {
		check, ok := policyKeys[k]
		if !ok {
			unknown = append(unknown, erlterm.Tuple(erlterm.Binary([]byte(k)), policyTerm(p.Definition[k])))
			continue
		}
		if e := check(p.Definition[k]); e != "" {
			return nil, &PolicyError{e}
		}
	}
	if len(unknown) > 0 {
		return nil, &PolicyError{erlterm.List(unknown...) + " are not recognised policy settings"}
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

// pcreError prints a pattern Go refused as ~p prints the {Message,Offset}
// of Erlang's re:compile/1 for the common mistakes PCRE names the same
// way; any other refusal keeps Go's text, as an Erlang string.
func pcreError(pattern string, err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		msg, at := "", len(pattern)
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
		if msg != "" {
			return erlterm.Tuple(erlterm.String(msg), strconv.Itoa(at))
		}
	}
	return erlterm.String(err.Error())
}
