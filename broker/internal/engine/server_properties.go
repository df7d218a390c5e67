package engine

import "github.com/beatmq/beatmq/amqp"

// Version is beatmq's version, advertised in connection.start.
const Version = "0.1.0"

// Product is the default product name advertised in connection.start
// (Config.Product overrides it).
const Product = "beatmq"

// ServerProperties builds connection.start's server-properties as
// rabbit_reader:server_properties/1 does: sorted by key, with the same
// capabilities table as RabbitMQ 3.10.8 (server_capabilities/1).
func ServerProperties(clusterName, product string) amqp.Table {
	return amqp.Table{
		{Name: "capabilities", Value: amqp.Table{
			{Name: "publisher_confirms", Value: true},
			{Name: "exchange_exchange_bindings", Value: true},
			{Name: "basic.nack", Value: true},
			{Name: "consumer_cancel_notify", Value: true},
			{Name: "connection.blocked", Value: true},
			{Name: "consumer_priorities", Value: true},
			{Name: "authentication_failure_close", Value: true},
			{Name: "per_consumer_qos", Value: true},
			{Name: "direct_reply_to", Value: true},
		}},
		{Name: "cluster_name", Value: clusterName},
		{Name: "copyright", Value: "Copyright (c) 2026 The beatmq authors."},
		{Name: "information", Value: "An AMQP 0-9-1 broker. Website: https://github.com/beatmq/beatmq"},
		{Name: "platform", Value: "Go"},
		{Name: "product", Value: product},
		{Name: "version", Value: Version},
	}
}

// startMethod is connection.start for a protocol version accepted by
// frames.ParseProtocolHeader (0-9 for 0-9-1 and 0-9, 8-0 for 0-8),
// offering mechanisms.
func startMethod(set *Settings, major, minor uint8, mechanisms string) *amqp.ConnectionStart {
	return &amqp.ConnectionStart{
		VersionMajor:     major,
		VersionMinor:     minor,
		ServerProperties: set.ServerProperties,
		Mechanisms:       mechanisms,
		Locales:          "en_US",
	}
}
