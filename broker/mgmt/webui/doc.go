// Package webui is the management web page: static HTML, CSS and plain
// JavaScript modules (no library, no build step), embedded with go:embed and
// served by broker/mgmt's handler at "/", "/index.html" and under
// /static/. The page is built only on the management API (/api/...), which
// it calls with fetch; it holds no data of its own, and needs no internet.
//
// # Safety
//
//   - Credentials are kept in sessionStorage and sent by fetch as an
//     Authorization: Basic header, with credentials: 'omit' so that no
//     cookie or remembered password goes along (and the browser shows no
//     login dialog of its own). Logging out forgets them.
//   - Every value that comes from the API is put in the page with
//     textContent, createElement and setAttribute (dom.js), never parsed as
//     HTML; path segments are encoded with encodeURIComponent (the vhost "/"
//     is %2F).
//   - Every answer carries CSP (no inline script or style, fetches to this
//     origin only, no framing), X-Content-Type-Options: nosniff,
//     X-Frame-Options: DENY and Referrer-Policy: no-referrer. The files are
//     served to GET and HEAD only, with an ETag.
//   - What keeps another site from acting through a logged-in browser is
//     broker/mgmt refusing non-safe cross-origin browser requests to the API
//     (net/http.CrossOriginProtection: Sec-Fetch-Site, else Origin against
//     Host). The Authorization header alone would not do: once the browser
//     has cached basic-auth credentials for the broker (a user who typed
//     them into its own dialog, or a URL with user:pass@), it adds them to a
//     form post or fetch from another site on its own. TestBrowserCrossOrigin
//     (integration) checks exactly that case: with guest's credentials
//     cached, another origin's forms and fetches change nothing. The page's
//     own use of the header, with credentials: 'omit', is defence in depth.
//
// # Pages
//
// Hash routes, each polled for live updates: #/ (overview), #/connections,
// #/connections/NAME, #/queues, #/queues/VHOST/NAME, #/exchanges,
// #/exchanges/VHOST/NAME, #/admin. NAME and VHOST are encoded with
// encodeURIComponent.
//
// # No failed requests in the normal flow
//
// The browser logs every answer of 400 or more to its console as an error,
// and the browser tests fail on any console error. So the page does not
// ask for what it knows or expects to be gone:
//
//   - index.html names an empty icon (<link rel="icon" href="data:,">,
//     allowed by img-src data:), so no /favicon.ico is requested.
//   - A connection's page never polls GET /api/connections/{name}, which
//     answers 404 once the connection has closed (the broker may close it
//     at any moment, between any two polls). It polls the connection list
//     filtered to that name, GET /api/connections?page=1&name=NAME (RabbitMQ's
//     pagination, which broker/mgmt implements), and its channels likewise
//     through GET /api/channels?page=1&name=NAME: a closed connection is an
//     empty page. One such page costs what the single connection did (the
//     body is the one connection), so the timeline keeps its 4 polls a
//     second; once the connection is gone the page asks no more, as a
//     connection's name is not reused.
//   - Deleting a queue from its page pauses the page's polling first
//     (ui.js pausePolling, which also waits for a poll in flight), so no
//     poll asks for the queue after the DELETE; the page then returns to
//     #/queues.
//
// An answer that is an error in the normal flow's terms (a wrong password
// at login, 401; an object deleted by someone else, 404) is still logged by
// the browser: that is what happened.
//
// # Element ids for tests
//
// Browser tests may rely on these ids and attributes; they change only
// together with the tests. Polled parts (tables, charts, lists) are
// replaced by new elements on each refresh, so look them up again rather
// than holding on to a node (forms, and buttons outside tables, stay). The
// focus, if it was in a redrawn part, moves to the same place in it. The
// connections table is the exception: it is updated in place (see below).
//
// Always present:
//
//	#login            the login section (hidden once logged in)
//	#login-form, #login-user, #login-pass, #login-submit
//	#logout           button; #whoami shows "User: NAME (TAG, …)"
//	#nav              links with data-nav=overview|connections|queues|exchanges|admin
//	                  (the current one has aria-current="page")
//	#error            the last failure's text (hidden when none); a failed
//	                  login shows "Login failed" here
//	#status           what the last action did ("Fault half-open injected.")
//	#view             the current page
//
// Overview (#/): #overview-node, #totals-list, #alarm-list, #listener-table,
// #chart-queued and #chart-rates (svg; message rates summed over the
// channels' message_stats counters, or network traffic without them).
//
// Connections (#/connections): table #connections, one tbody row per
// connection with data-name=NAME and data-fault-state=KIND or "none"; its
// first cell links to the connection's page. #connections-count. The table
// is built once and updated in place, keyed by data-name: a refresh adds
// the rows of new connections, removes those of closed ones, and rewrites
// only the cells whose text changed, so a row element stays the same
// while its connection is open (and a closed connection's row is detached).
//
// A connection (#/connections/NAME):
//
//	#conn-name        heading with the name
//	#conn-state       "State: running", or "Closed: …" once the connection
//	                  is no longer listed; data-state=running|…|closed
//	#hb-timeline      svg, redrawn about 4 times a second; data-points counts
//	                  the samples plotted (one per poll, last 60 s); its lines
//	                  at T, 2T and 3T have data-level="T = 60 s"|"2T"|"3T", its
//	                  event lines data-event=late|fault|clear|closed
//	#hb-events        ol of events, newest first, each li with
//	                  data-event=late|fault|clear|closed and a text
//	#conn-facts       dl of the connection's fields
//	#channels         table of channels (rows data-number=N; with
//	                  #channels-none before it when there are none), or
//	#channels-unavailable when GET /api/channels answers 404
//	button[data-fault=KIND]  inject KIND (mute-heartbeats, slow-heartbeats,
//	                  freeze-out, freeze-in, half-open, latency, reset) with
//	#fault-for (e.g. "30s"), #fault-factor, #fault-latency
//	#fault-clear      clear the fault
//	#close-reason, #close-conn   force-close with that reason (X-Reason)
//
// Queues (#/queues): table #queues, rows data-vhost and data-name.
//
// A queue (#/queues/VHOST/NAME): #queue-facts, #queue-chart (svg),
// #queue-arguments and #queue-effective-policy (table, or p "None."),
// #queue-bindings (table, rows data-source and data-destination, or p
// "None."), #queue-missing when the API answers 404;
// get: #get-count, #get-ackmode (ack_requeue_true: requeue,
// ack_requeue_false: remove), #get-encoding, #get-submit, #get-results
// (p with data-count=N, then one article.message per message, data-index=i,
// its payload in pre[data-test=payload]);
// publish: #publish-body, #publish-delivery-mode, #publish-submit,
// #publish-result (data-routed=true|false);
// #purge, #delete (no confirmation; delete returns to #/queues).
//
// Exchanges (#/exchanges): table #exchanges, rows data-vhost and data-name
// (the default exchange's is ""). An exchange: #exchange-facts
// (#exchange-missing on 404),
// #exchange-arguments, #bindings (table, rows data-source and
// data-destination, or p "None.") or #bindings-unavailable on 404.
//
// Admin (#/admin): tables #users (rows data-name), #vhosts (data-name),
// #permissions (data-user, data-vhost), #policies (data-name, data-vhost),
// each row with a delete button (data-delete-user, data-delete-vhost,
// data-delete-permission with data-vhost, data-delete-policy with
// data-vhost); a section the user may not read shows p.unavailable instead.
// Forms: #user-name, #user-pass, #user-tags, #user-submit; #vhost-name,
// #vhost-submit; #perm-user, #perm-vhost, #perm-configure, #perm-write,
// #perm-read, #perm-submit; #policy-vhost, #policy-name, #policy-pattern,
// #policy-apply-to, #policy-priority, #policy-definition (JSON),
// #policy-submit.
package webui
