package logfmt

// Attribute keys of the heartbeat telemetry and fault injection records
// (JSON fields; the text layout shows only the message).
const (
	KeySilence      = "silence_s"       // inbound silence, seconds, of a late-heartbeat warning
	KeyFault        = "fault"           // fault kind, e.g. "mute-heartbeats"
	KeyFaultFor     = "fault_for_s"     // how long the fault lasts, seconds (absent: until cleared)
	KeyFaultFactor  = "fault_factor"    // slow-heartbeats: heartbeats every factor·T/2
	KeyFaultLatency = "fault_latency_s" // latency: delay on outbound frames, seconds
	KeyFaultEnd     = "fault_end"       // how a fault ended: cleared, expired, replaced, connection_closed
)
