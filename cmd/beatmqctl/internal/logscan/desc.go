package logscan

import "strings"

// desc is what a connection description says: "PEER -> LOCAL", then
// " - NAME" once the client named itself, then ", vhost: 'V', user: 'U'"
// once it is open (and in newer RabbitMQ ", duration: '…'"), or
// ", state: starting" in an error report.
type desc struct {
	peer, local, name string
}

// descTails start the fields that follow the name.
var descTails = []string{", vhost: '", ", user: '", ", state: ", ", duration: '"}

// parseDesc reads a connection description. It never fails: what it
// cannot find stays empty.
func parseDesc(s string) desc {
	var d desc
	peer, rest, ok := strings.Cut(s, " -> ")
	if !ok {
		// "PEER" alone, or "PEER, vhost: ..."
		peer, _, _ = strings.Cut(s, ", ")
		d.peer = strings.TrimSpace(peer)
		return d
	}
	d.peer = strings.TrimSpace(peer)
	cut := len(rest)
	for _, t := range descTails {
		if i := strings.Index(rest, t); i >= 0 && i < cut {
			cut = i
		}
	}
	rest = rest[:cut]
	if local, name, ok := strings.Cut(rest, " - "); ok {
		d.local, d.name = local, name
	} else {
		d.local = rest
	}
	return d
}

// PeerHost is the host part of a peer address "host:port", "[v6]:port" or
// RabbitMQ's "v6:port"; the address itself if it has no port.
func PeerHost(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	if i <= 0 {
		return addr
	}
	port := addr[i+1:]
	if port == "" || strings.Trim(port, "0123456789") != "" {
		return addr
	}
	return strings.TrimSuffix(strings.TrimPrefix(addr[:i], "["), "]")
}
