package engine

import (
	"sort"

	"github.com/beatmq/beatmq/broker/vhost"
)

// ChannelInfo describes one open channel for inspection (the management
// API's channels).
type ChannelInfo struct {
	// Number is the channel number.
	Number uint16
	// Session is the channel's messaging session, nil until its first
	// messaging method; its Info has the prefetch, consumers, unacked
	// deliveries and counters.
	Session *vhost.Session
	// Unconfirmed counts the publishes in confirm mode not yet acked or
	// nacked to the client.
	Unconfirmed int
	// Closing is set once the channel sends nothing more (its
	// channel.close or close-ok is on its way).
	Closing bool
}

// Channels describes the connection's open channels, by number. Any
// goroutine.
func (c *Conn) Channels() []ChannelInfo {
	c.ctl.mu.Lock()
	out := make([]ChannelInfo, 0, len(c.ctl.chans))
	for id, ch := range c.ctl.chans {
		out = append(out, ChannelInfo{Number: id, Session: ch.view.Load(),
			Unconfirmed: int(max(ch.unconfirmed.Load(), 0)), Closing: ch.sendClosed.Load()})
	}
	c.ctl.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// listChannel makes ch visible to Channels and updates the channel count.
// Reader goroutine.
func (c *Conn) listChannel(ch *channel) {
	c.ctl.mu.Lock()
	if c.ctl.chans == nil {
		c.ctl.chans = make(map[uint16]*channel)
	}
	c.ctl.chans[ch.id] = ch
	c.ctl.info.Channels = len(c.channels)
	c.ctl.mu.Unlock()
}

// unlistChannel is listChannel's undoing. Reader goroutine.
func (c *Conn) unlistChannel(ch *channel) {
	c.ctl.mu.Lock()
	if c.ctl.chans[ch.id] == ch {
		delete(c.ctl.chans, ch.id)
	}
	c.ctl.info.Channels = len(c.channels)
	c.ctl.mu.Unlock()
}

// unlistChannelsLocked forgets every channel (the connection is closing).
// c.ctl.mu held.
func (c *Conn) unlistChannelsLocked() {
	c.ctl.chans = nil
	c.ctl.info.Channels = 0
}
