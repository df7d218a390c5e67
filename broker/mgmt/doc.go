// Package mgmt serves beatmq's HTTP management API: the subset of RabbitMQ's
// management plugin API (rabbitmq_management, 3.10) that clients, their test
// suites and operators rely on, with RabbitMQ's paths, JSON field names, status
// codes and error bodies.
//
// The handler knows the broker only through the [Broker] interface, so it can
// be tested with a fake and never touches the wire.
//
// # Endpoints
//
// All endpoints except the catch-all 404 require HTTP basic authentication
// with a broker user that carries a management tag ("administrator",
// "monitoring", "policymaker" or "management"); anything else is answered with
// 401, a WWW-Authenticate header for realm "RabbitMQ Management" and
// {"error":"not_authorised","reason":"Login failed"} (or "Not management user").
//
//	GET    /api/overview                      product, node, object and queue totals, listeners
//	                                          (the Prometheus metrics' as "http/prometheus"),
//	                                          and beatmq's "alarms" (as the health check lists them)
//	GET    /api/whoami                        the authenticated user and its tags
//	GET    /api/nodes                         the single node: mem_used, mem_limit, mem_alarm,
//	                                          disk_free, disk_free_limit, disk_free_alarm, uptime,
//	                                          and beatmq's beatmq_disk_monitored (false with no
//	                                          data directory: disk_free and its limit are then 0)
//	GET    /api/nodes/{node}
//	GET    /api/health/checks/alarms          200 {"status":"ok"} or 503 with the alarms in effect
//	                                          ("disk space", "memory")
//	GET    /api/vhosts                        virtual hosts (those that have exchanges)
//	GET    /api/vhosts/{vhost}                (administrator only)
//	GET    /api/connections[/]                open connections (administrator and monitoring
//	                                          users see all, others their own); with ?page=N
//	                                          (&page_size, &name, &use_regex) a page of those
//	                                          whose name matches, as RabbitMQ paginates (paging.go)
//	GET    /api/vhosts/{vhost}/connections
//	GET    /api/connections/{name}
//	DELETE /api/connections/{name}            force-close: connection.close 320 CONNECTION_FORCED
//	                                          with the X-Reason header (default
//	                                          "Closed via management plugin"); 204, or 404
//	GET    /api/definitions[/{vhost}]         definitions in RabbitMQ 3.10's JSON format
//	                                          (administrator only; ?download=NAME)
//	POST   /api/definitions[/{vhost}]         import them, whole or not at all: 204, or 400
//	                                          {"error":"bad_request","reason":…} naming the problem
//	GET    /api/queues[/]  /api/queues/{vhost}  /api/queues/{vhost}/{name}
//	GET    /api/exchanges[/]  /api/exchanges/{vhost}  /api/exchanges/{vhost}/{name}
//	                                          (the default exchange is "amq.default" in URLs)
//	GET    /api/channels  /api/vhosts/{vhost}/channels  /api/connections/{name}/channels
//	                                          (/api/channels also with ?page=N, as connections)
//	GET    /api/channels/{name}               open channels, "<connection name> (<number>)": prefetch,
//	                                          consumers, unacked, unconfirmed, confirm and tx modes,
//	                                          message_stats; one channel adds consumer_details
//	                                          (visible as connections are)
//	GET    /api/bindings[/{vhost}]  /api/queues/{vhost}/{name}/bindings
//	GET    /api/exchanges/{vhost}/{name}/bindings/source  …/bindings/destination
//	                                          each queue's default-exchange binding included, first
//	PUT    /api/queues/{vhost}/{name}         declare {"durable":…,"auto_delete":…,"arguments":{…}}: 201, 204
//	DELETE /api/queues/{vhost}/{name}         ?if-empty=true, ?if-unused=true: 204, 400 when refused
//	DELETE /api/queues/{vhost}/{name}/contents  purge: 204
//	POST   /api/queues/{vhost}/{name}/get     {"count":N,"ackmode":…,"encoding":"auto"|"base64","truncate":N}:
//	                                          the messages, settled as ackmode says
//	PUT    /api/exchanges/{vhost}/{name}      declare {"type":…,"durable":…,…}: 201, 204
//	DELETE /api/exchanges/{vhost}/{name}      ?if-unused=true: 204
//	POST   /api/exchanges/{vhost}/{name}/publish  {"properties":{…},"routing_key":…,"payload":…,
//	                                          "payload_encoding":"string"|"base64"}: {"routed":…}
//
// The actions (PUT, DELETE, get, publish) run the AMQP method as the user
// (Messaging), with its permissions, as RabbitMQ's plugin does over a
// direct connection: every user, administrators included, needs a
// permission in the vhost (else 401 "Access refused."); get and purge need
// read, publish write, delete and declare configure. Their refusals and bad
// bodies are answered as RabbitMQ 3.10.8 answers them, quirks included (an
// unknown ackmode is 500 with no body; a refused publish is 400 with the
// AMQP code in front of its text).
//
// Who sees what follows RabbitMQ 3.10.8 (rabbit_mgmt_util; see
// visibility.go). Lists of queues, exchanges, bindings and policies keep,
// for anyone but an administrator, the vhosts the user holds a permission
// in, monitoring users included. GET /api/vhosts lists every vhost to
// administrators and monitoring users, to others those they hold a
// permission in. A path naming an existing vhost the user holds no
// permission in answers 401 "User not authorised to access virtual host"
// (administrators excepted, monitoring users not), even for an object that
// does not exist; an unknown vhost 404. The overview counts queues,
// exchanges and messages of every vhost for administrators and monitoring
// users (and only for them gives "consumers"), of the user's vhosts for
// others. Connections and channels: administrators and monitoring users see
// all, others their own. GET /api/policies/{vhost}/{name} needs a
// policymaker with a permission in the vhost, or an administrator (401
// "User not authorised to access object"); permissions, users, one vhost
// and definitions are for administrators.
//
// beatmq's own routes, not part of RabbitMQ's API, live under /api/beatmq/:
//
//	GET    /api/beatmq/vm_memory_high_watermark   {"fraction":0.4,"limit":…,"used":…,"total":…,"alarm":false}
//	PUT    /api/beatmq/vm_memory_high_watermark   body {"fraction":0.4}; 204 (administrator only)
//	GET    /api/beatmq/disk_free_limit            {"limit":"50000000","limit_bytes":…,"free":…,"alarm":false}
//	PUT    /api/beatmq/disk_free_limit            body {"limit":"50MB"} (or "{mem_relative,1.5}"); 204
//	                                              (administrator only)
//	PUT    /api/beatmq/connections/{name}/fault   inject a fault, body {"kind":"half-open","for":"10s"}
//	                                              (also "factor", "latency"); 204, 400 (the reason lists
//	                                              the kinds for an unknown one), 404 (administrator only)
//	DELETE /api/beatmq/connections/{name}/fault   clear it; 204 or 404 (administrator only)
//
// GET /api/connections also carries beatmq's heartbeat telemetry, next to
// RabbitMQ's untouched fields: beatmq_heartbeat_received and _sent (frames),
// _cadence_last_s and _cadence_median_s (interval between heartbeats
// received), _silence_in_max_t and _silence_out_max_t (longest gap without
// an octet, in units of T; null without heartbeats), _recv_age_s and
// _send_age_s (age of the last octet), _late_warnings, and beatmq_fault
// (the kind injected, or null).
//
// beatmqctl's set_vm_memory_high_watermark and set_disk_free_limit use the
// PUTs; RabbitMQ does the same
// through rabbitmqctl and Erlang distribution, which beatmq does not have.
//
// Names in URLs are percent-encoded path segments: connection names contain
// spaces, '>' and ':' ("127.0.0.1:54321 -> 127.0.0.1:5672" is sent as
// "127.0.0.1:54321%20-%3E%20127.0.0.1:5672"), and the virtual host "/" is
// "%2F". Each segment is decoded on its own, so an encoded '/' stays inside
// its segment.
//
// # The web page
//
// The handler also serves the management web page (package webui) at "/",
// "/index.html" and under /static/, without authentication: it is static,
// and asks the API, with the user's credentials, for everything it shows.
//
// # Cross-origin requests
//
// A request with a non-safe method (POST, PUT, DELETE…) that a browser sends
// from a page of another origin (Sec-Fetch-Site other than same-origin or
// none, or an Origin header naming another host) is refused with 403
// {"error":"forbidden","reason":"Cross-origin request refused"} and a
// warning in the log, before authentication (net/http's
// CrossOriginProtection). Requests without these headers (curl, client
// libraries, beatmqctl) pass.
//
// Unknown paths get 404 {"error":"Object Not Found","reason":"Not Found"}; a
// known path with another method gets 405 with an Allow header.
package mgmt
