package broker

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/beatmq/beatmq/amqp"
)

// Definitions in RabbitMQ 3.10's JSON format: what its management API's
// GET /api/definitions returns and POST /api/definitions, rabbitmqctl
// import_definitions and load_definitions read (rabbit_definitions.erl,
// rabbit_mgmt_wm_definitions.erl). broker/testdata/definitions holds an
// export of a RabbitMQ 3.10.8 node.
//
// This is the exchange format with other brokers; the data directory's
// definitions.json is beatmq's own (durable.go).

// defsCompatVersion is the RabbitMQ version written as rabbit_version and
// rabbitmq_version.
const defsCompatVersion = "3.10.8"

// defsDoc is a whole-node definitions document, in the field order of
// RabbitMQ 3.10.8's management API export.
type defsDoc struct {
	RabbitVersion    string            `json:"rabbit_version"`
	RabbitMQVersion  string            `json:"rabbitmq_version"`
	ProductName      string            `json:"product_name"`
	ProductVersion   string            `json:"product_version"`
	Users            []defsUser        `json:"users"`
	VHosts           []defsVHost       `json:"vhosts"`
	Permissions      []defsPermission  `json:"permissions"`
	TopicPermissions []json.RawMessage `json:"topic_permissions"`
	Parameters       []json.RawMessage `json:"parameters"`
	GlobalParameters []defsGlobalParam `json:"global_parameters"`
	Policies         []json.RawMessage `json:"policies"`
	Queues           []defsQueue       `json:"queues"`
	// policyVHost, when set, is the vhost of every policy (an import into
	// one vhost).
	policyVHost string
	Exchanges   []defsExchange `json:"exchanges"`
	Bindings    []defsBinding  `json:"bindings"`
}

// defsVHostDoc is one vhost's definitions document (GET
// /api/definitions/{vhost}): its objects without their vhost field.
type defsVHostDoc struct {
	RabbitVersion string            `json:"rabbit_version"`
	Parameters    []json.RawMessage `json:"parameters"`
	Policies      []json.RawMessage `json:"policies"`
	Queues        []defsQueue       `json:"queues"`
	Exchanges     []defsExchange    `json:"exchanges"`
	Bindings      []defsBinding     `json:"bindings"`
}

type defsUser struct {
	Name             string         `json:"name"`
	PasswordHash     string         `json:"password_hash"`
	HashingAlgorithm string         `json:"hashing_algorithm"`
	Tags             defsTags       `json:"tags"`
	Limits           map[string]any `json:"limits"`
	// Password, in clear, is read when PasswordHash is absent, as
	// rabbit_definitions accepts it.
	Password *string `json:"password,omitempty"`
}

// defsTags are a user's tags: RabbitMQ 3.10 writes a list, older versions
// a comma-separated string; both are read.
type defsTags []string

func (t *defsTags) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = nil
		for _, x := range strings.Split(s, ",") {
			if x = strings.TrimSpace(x); x != "" {
				*t = append(*t, x)
			}
		}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("tags: want a list of strings or a comma-separated string")
	}
	*t = l
	return nil
}

type defsVHost struct {
	Name string `json:"name"`
	// Limits and Metadata are what rabbitmqctl export_definitions adds
	// (the management API does not): limits must be empty, as beatmq has
	// none; the metadata (description, tags) is not kept.
	Limits   json.RawMessage `json:"limits,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// noLimits tells whether limits, as a definitions file writes them, set
// none: absent, null, [] or {}.
func noLimits(limits json.RawMessage) bool {
	switch strings.Join(strings.Fields(string(limits)), "") {
	case "", "null", "[]", "{}":
		return true
	}
	return false
}

type defsPermission struct {
	User      string `json:"user"`
	VHost     string `json:"vhost"`
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

type defsGlobalParam struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

type defsQueue struct {
	Name       string         `json:"name"`
	VHost      string         `json:"vhost,omitempty"`
	Durable    bool           `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Arguments  map[string]any `json:"arguments"`
}

type defsExchange struct {
	Name       string         `json:"name"`
	VHost      string         `json:"vhost,omitempty"`
	Type       string         `json:"type"`
	Durable    bool           `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Internal   bool           `json:"internal"`
	Arguments  map[string]any `json:"arguments"`
}

type defsBinding struct {
	Source          string         `json:"source"`
	VHost           string         `json:"vhost,omitempty"`
	Destination     string         `json:"destination"`
	DestinationType string         `json:"destination_type"`
	RoutingKey      string         `json:"routing_key"`
	Arguments       map[string]any `json:"arguments"`
}

// tableToJSON converts a field table to the JSON object RabbitMQ writes:
// numbers as numbers, byte arrays as strings, nested tables as objects.
func tableToJSON(t amqp.Table) map[string]any {
	m := make(map[string]any, len(t))
	for _, f := range t {
		m[f.Name] = valueToJSON(f.Value)
	}
	return m
}

func valueToJSON(v any) any {
	switch v := v.(type) {
	case amqp.Table:
		return tableToJSON(v)
	case []amqp.Field:
		return tableToJSON(amqp.Table(v))
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = valueToJSON(x)
		}
		return out
	case []byte:
		return string(v)
	case time.Time:
		return v.Unix()
	case amqp.Decimal:
		return fmt.Sprint(v)
	}
	return v
}

// tableFromJSON converts a JSON object read with UseNumber to a field
// table as rabbit_misc:to_amqp_table/1 does: integers become long ('l'),
// other numbers double ('d'), objects tables, lists arrays. Fields are
// sorted by name, so the result does not depend on the map's order.
func tableFromJSON(m map[string]any) (amqp.Table, error) {
	if len(m) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	t := make(amqp.Table, 0, len(m))
	for _, k := range names {
		v, err := valueFromJSON(m[k])
		if err != nil {
			return nil, fmt.Errorf("argument '%s': %w", k, err)
		}
		t = append(t, amqp.Field{Name: k, Value: v})
	}
	return t, nil
}

// TableFromJSON converts a JSON object, decoded with UseNumber, to a field
// table as RabbitMQ converts the "arguments" of its management API and
// definitions (rabbit_misc:to_amqp_table/1): integers become long
// integers, other numbers doubles, objects tables and lists arrays. An
// empty object gives a nil table.
func TableFromJSON(m map[string]any) (amqp.Table, error) { return tableFromJSON(m) }

func valueFromJSON(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i, nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %s out of range", v)
		}
		return f, nil
	case map[string]any:
		return tableFromJSON(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			y, err := valueFromJSON(x)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	case string, bool, nil:
		return v, nil
	case float64:
		return v, nil
	}
	return nil, fmt.Errorf("unsupported value %v", v)
}
