package broker

import (
	"encoding/json"
	"strings"

	"github.com/beatmq/beatmq/broker/password"
	"github.com/beatmq/beatmq/broker/vhost"
)

// ExportDefinitions returns the node's definitions in RabbitMQ 3.10's JSON
// format (GET /api/definitions): users, vhosts, permissions, and every
// vhost's queues (exclusive ones left out), exchanges (the default and
// amq.* ones left out) and bindings (the default exchange's left out), as
// RabbitMQ's management plugin lists them, and the policies. parameters,
// global_parameters and topic_permissions are empty: beatmq has none.
//
// With vhost set it returns that vhost's document (GET
// /api/definitions/{vhost}): rabbit_version, parameters, policies and the
// vhost's queues, exchanges and bindings without their vhost field;
// ErrNoVHost when there is no such vhost.
func (s *Server) ExportDefinitions(vh string) ([]byte, error) {
	if vh != "" {
		v := s.VHost(vh)
		if v == nil {
			return nil, ErrNoVHost
		}
		pols, err := s.exportPolicies(vh, false)
		if err != nil {
			return nil, err
		}
		d := defsVHostDoc{RabbitVersion: defsCompatVersion, Parameters: empty, Policies: pols}
		d.Queues, d.Exchanges, d.Bindings = exportVHost(v, "")
		return marshalDefs(d)
	}
	pols, err := s.exportPolicies("", true)
	if err != nil {
		return nil, err
	}
	d := defsDoc{
		RabbitVersion: defsCompatVersion, RabbitMQVersion: defsCompatVersion,
		ProductName: "beatmq", ProductVersion: Version,
		Users: []defsUser{}, VHosts: []defsVHost{}, Permissions: []defsPermission{},
		TopicPermissions: empty, Parameters: empty, GlobalParameters: []defsGlobalParam{}, Policies: pols,
		Queues: []defsQueue{}, Exchanges: []defsExchange{}, Bindings: []defsBinding{},
	}
	for _, u := range s.Users() {
		tags := u.Tags
		if tags == nil {
			tags = []string{}
		}
		d.Users = append(d.Users, defsUser{Name: u.Name, PasswordHash: u.PasswordHash, HashingAlgorithm: password.Algorithm, Tags: tags, Limits: map[string]any{}})
	}
	for _, p := range s.Permissions() {
		d.Permissions = append(d.Permissions, defsPermission(p))
	}
	for _, name := range s.VHosts() {
		v := s.VHost(name)
		if v == nil {
			continue // deleted meanwhile
		}
		d.VHosts = append(d.VHosts, defsVHost{Name: name})
		qs, xs, bs := exportVHost(v, name)
		d.Queues = append(d.Queues, qs...)
		d.Exchanges = append(d.Exchanges, xs...)
		d.Bindings = append(d.Bindings, bs...)
	}
	return marshalDefs(d)
}

// empty is an empty JSON list.
var empty = []json.RawMessage{}

func marshalDefs(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// exportVHost lists v's queues, exchanges and bindings, each with vhost
// name (omitted from the JSON when "").
func exportVHost(v *vhost.VHost, name string) ([]defsQueue, []defsExchange, []defsBinding) {
	qs, xs, bs := []defsQueue{}, []defsExchange{}, []defsBinding{}
	exclusive := map[string]bool{}
	for _, q := range v.Queues() {
		if q.Exclusive {
			exclusive[q.Name] = true
			continue
		}
		qs = append(qs, defsQueue{Name: q.Name, VHost: name, Durable: q.Durable, AutoDelete: q.AutoDelete, Arguments: tableToJSON(q.Arguments)})
	}
	for _, x := range v.Exchanges() {
		if x.Name == "" || strings.HasPrefix(x.Name, "amq.") {
			continue
		}
		xs = append(xs, defsExchange{Name: x.Name, VHost: name, Type: x.Type, Durable: x.Durable, AutoDelete: x.AutoDelete, Internal: x.Internal, Arguments: tableToJSON(x.Arguments)})
	}
	for _, b := range v.Bindings() {
		if b.Source == "" || (b.DestinationType == "queue" && exclusive[b.Destination]) {
			continue
		}
		bs = append(bs, defsBinding{Source: b.Source, VHost: name, Destination: b.Destination, DestinationType: b.DestinationType, RoutingKey: b.RoutingKey, Arguments: tableToJSON(b.Arguments)})
	}
	return qs, xs, bs
}
