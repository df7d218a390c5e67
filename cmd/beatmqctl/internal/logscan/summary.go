package logscan

import (
	"cmp"
	"io"
	"slices"
	"strconv"
	"time"
)

// Unnamed is the client name of connections that gave none.
const Unnamed = "(unnamed)"

// Counts are what happened to a set of connections.
type Counts struct {
	Opened           int `json:"opened"`
	ClosedClean      int `json:"closed_clean"`
	ClosedUnexpected int `json:"closed_unexpected"`
	MissedHeartbeats int `json:"missed_heartbeats"`
	// MissedHeartbeatTimeouts counts the missed-heartbeat closes by
	// heartbeat timeout ("60s": 3).
	MissedHeartbeatTimeouts map[string]int `json:"missed_heartbeat_timeouts,omitempty"`
	HandshakeTimeouts       int            `json:"handshake_timeouts"`
	AuthFailures            int            `json:"auth_failures"`
	LateHeartbeats          int            `json:"late_heartbeats"`
	ClosedOther             int            `json:"closed_other"`
}

// Abnormal is the number of closes that were not a close handshake:
// unexpected TCP closes, missed heartbeats, handshake timeouts and other
// errors.
func (c *Counts) Abnormal() int {
	return c.ClosedUnexpected + c.MissedHeartbeats + c.HandshakeTimeouts + c.ClosedOther
}

func (c *Counts) add(ev *Event, timeouts bool) {
	switch ev.Kind {
	case KindOpened:
		c.Opened++
	case KindClosedClean:
		c.ClosedClean++
	case KindClosedUnexpected:
		c.ClosedUnexpected++
	case KindMissedHeartbeats:
		c.MissedHeartbeats++
		if timeouts {
			if c.MissedHeartbeatTimeouts == nil {
				c.MissedHeartbeatTimeouts = map[string]int{}
			}
			t := ev.Timeout
			if t == "" {
				t = "?"
			}
			c.MissedHeartbeatTimeouts[t]++
		}
	case KindHandshakeTimeout:
		c.HandshakeTimeouts++
	case KindAuthFailure:
		c.AuthFailures++
	case KindLateHeartbeat:
		c.LateHeartbeats++
	case KindClosedOther:
		c.ClosedOther++
	}
}

// Group is the counts of one client name or one peer host.
type Group struct {
	Name string `json:"name"`
	Counts
	AbnormalCloses int `json:"abnormal_closes"`
}

// FileStats are one input's counts.
type FileStats struct {
	Name string `json:"name"`
	Stats
	Error string `json:"error,omitempty"` // a read error; what came before it was used
}

// Summary is the result of reading every input.
type Summary struct {
	Files      []FileStats `json:"files"`
	Lines      int         `json:"lines"`
	Entries    int         `json:"entries"`
	Unreadable int         `json:"unreadable_lines"`
	// First and Last are the times of the oldest and newest entry read;
	// Since and Until the window the counts cover (nil: open).
	First        *time.Time `json:"first,omitempty"`
	Last         *time.Time `json:"last,omitempty"`
	Since        *time.Time `json:"since,omitempty"`
	Until        *time.Time `json:"until,omitempty"`
	Connections  int        `json:"connections"` // connections with an event counted (followed by process id)
	Totals       Counts     `json:"totals"`
	Clients      []Group    `json:"clients"`
	Hosts        []Group    `json:"hosts"`
	Timeline     Timeline   `json:"timeline"`
	WorstClients []Group    `json:"worst_clients"`
	WorstHosts   []Group    `json:"worst_hosts"`
}

// Options shape a Summary.
type Options struct {
	// Since and Until bound the events counted; zero means unbounded.
	Since, Until time.Time
	// SinceAgo and UntilAgo, when positive, bound them relative to the
	// newest entry read (--since 2h); they override Since and Until.
	SinceAgo, UntilAgo time.Duration
	// Top is how many worst offenders to list (0: 5).
	Top int
	// Interval is the timeline's bucket; 0 picks one for at most 24 buckets.
	Interval time.Duration
}

// Summarizer gathers the events of several inputs.
type Summarizer struct {
	events      []Event
	files       []FileStats
	first, last time.Time
	lines       int // lines of the inputs read so far, to order their events
}

// Read reads one input (plain or gzipped) named name and records its
// events. A read error is kept in the file's stats; the events read before
// it count.
func (s *Summarizer) Read(name string, r io.Reader) FileStats {
	rd := NewReader(func(e *Entry) {
		if s.first.IsZero() || e.Time.Before(s.first) {
			s.first = e.Time
		}
		if e.Time.After(s.last) {
			s.last = e.Time
		}
		if ev, ok := Match(e); ok {
			ev.seq += s.lines
			s.events = append(s.events, ev)
		}
	})
	_, err := rd.ReadFrom(r)
	s.lines += rd.Stats().Lines
	fs := FileStats{Name: name, Stats: rd.Stats()}
	if err != nil {
		fs.Error = err.Error()
	}
	s.files = append(s.files, fs)
	return fs
}

// connRec follows one connection.
type connRec struct {
	peer, name string
	closed     bool
	authFailed bool
	events     []*Event
}

// Summary follows each connection through its events in time order and
// counts them.
func (s *Summarizer) Summary(o Options) Summary {
	sum := Summary{Files: s.files, Clients: []Group{}, Hosts: []Group{}, WorstClients: []Group{}, WorstHosts: []Group{}}
	for _, f := range s.files {
		sum.Lines += f.Lines
		sum.Entries += f.Entries
		sum.Unreadable += f.Unreadable
	}
	if !s.first.IsZero() {
		first, last := s.first, s.last
		sum.First, sum.Last = &first, &last
	}
	since, until := o.Since, o.Until
	if o.SinceAgo > 0 {
		since = s.last.Add(-o.SinceAgo)
	}
	if o.UntilAgo > 0 {
		until = s.last.Add(-o.UntilAgo)
	}
	if !since.IsZero() {
		sum.Since = &since
	}
	if !until.IsZero() {
		sum.Until = &until
	}

	evs := slices.Clone(s.events)
	// In time order, whatever the order of the files; at the same time (a
	// log with milliseconds), in the order the lines were read.
	slices.SortFunc(evs, func(a, b Event) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	var recs []*connRec
	live := map[string]*connRec{}
	for i := range evs {
		ev := &evs[i]
		key := ev.PID
		if key == "" {
			key = "\x00" + strconv.Itoa(i) // no process id: a connection of its own
		}
		rec := live[key]
		newConn := rec == nil || ev.Kind == KindOpened ||
			(rec.closed && ev.Kind != KindLateHeartbeat) ||
			(ev.Peer != "" && rec.peer != "" && ev.Peer != rec.peer)
		if newConn {
			rec = &connRec{}
			live[key] = rec
			recs = append(recs, rec)
		}
		if ev.Peer != "" {
			rec.peer = ev.Peer
		}
		if ev.Name != "" {
			rec.name = ev.Name
		}
		if ev.Kind == KindAuthFailure {
			rec.authFailed = true
		}
		if ev.Kind.Closes() {
			rec.closed = true
		}
		rec.events = append(rec.events, ev)
	}

	clients, hosts := map[string]*Group{}, map[string]*Group{}
	group := func(m map[string]*Group, name string) *Group {
		g := m[name]
		if g == nil {
			g = &Group{Name: name}
			m[name] = g
		}
		return g
	}
	var counted []*Event
	for _, rec := range recs {
		name := rec.name
		if name == "" {
			name = Unnamed
		}
		host := PeerHost(rec.peer)
		if host == "" {
			host = "(unknown)"
		}
		seen := false
		for _, ev := range rec.events {
			if (!since.IsZero() && ev.Time.Before(since)) || (!until.IsZero() && ev.Time.After(until)) {
				continue
			}
			switch ev.Kind {
			case KindNamed, KindIgnored, KindNone:
				continue
			case KindClosedClean:
				if rec.authFailed {
					continue // the close that follows a refused login: counted as the failure
				}
			}
			sum.Totals.add(ev, true)
			group(clients, name).add(ev, true)
			group(hosts, host).add(ev, true)
			counted = append(counted, ev)
			seen = true
		}
		if seen {
			sum.Connections++
		}
	}
	sum.Clients = sortedGroups(clients)
	sum.Hosts = sortedGroups(hosts)
	top := o.Top
	if top <= 0 {
		top = 5
	}
	sum.WorstClients = worst(sum.Clients, top)
	sum.WorstHosts = worst(sum.Hosts, top)
	sum.Timeline = timeline(counted, o.Interval)
	return sum
}

func sortedGroups(m map[string]*Group) []Group {
	out := make([]Group, 0, len(m))
	for _, g := range m {
		g.AbnormalCloses = g.Abnormal()
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Group) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// worst returns up to n groups with abnormal closes, auth failures or late
// heartbeats, most abnormal closes first.
func worst(gs []Group, n int) []Group {
	out := []Group{}
	for _, g := range gs {
		if g.AbnormalCloses+g.AuthFailures+g.LateHeartbeats > 0 {
			out = append(out, g)
		}
	}
	slices.SortStableFunc(out, func(a, b Group) int {
		if c := cmp.Compare(b.AbnormalCloses, a.AbnormalCloses); c != 0 {
			return c
		}
		if c := cmp.Compare(b.AuthFailures+b.LateHeartbeats, a.AuthFailures+a.LateHeartbeats); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
