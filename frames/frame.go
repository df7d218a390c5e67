package frames

// Frame types (AMQP 0-9-1 section 4.2.3; RabbitMQ's rabbit_framing.hrl).
const (
	TypeMethod    uint8 = 1
	TypeHeader    uint8 = 2
	TypeBody      uint8 = 3
	TypeHeartbeat uint8 = 8
)

const (
	// FrameEnd is the octet that closes every frame.
	FrameEnd byte = 0xCE
	// HeaderSize is the size of a frame header: type (1), channel (2), payload size (4).
	HeaderSize = 7
	// MinFrameMax is frame-min-size: the frame_max in force before connection.tune-ok
	// (RabbitMQ 3.10.8's initial_frame_max) and the smallest value tune-ok may carry.
	MinFrameMax = 4096
	// FrameSizeFudge is what a frame adds to its payload (header and end octet).
	// RabbitMQ (rabbit_reader:handle_input/3) accepts payloads up to frame_max, so 8
	// octets more than the spec allows, and reports frame_max-FrameSizeFudge as the
	// limit in its frame_too_large error.
	FrameSizeFudge = 8
)

// ProtocolHeader is the AMQP 0-9-1 protocol header. A client sends it first; a
// broker answers any header it refuses with it and closes the connection.
var ProtocolHeader = [8]byte{'A', 'M', 'Q', 'P', 0, 0, 9, 1}

// heartbeatFrame is the whole heartbeat frame, as rabbit_binary_generator:
// build_heartbeat_frame/0 builds it: type 8, channel 0, size 0, frame end.
var heartbeatFrame = [FrameSizeFudge]byte{TypeHeartbeat, 0, 0, 0, 0, 0, 0, FrameEnd}

// Frame is one frame as read from or written to the wire.
type Frame struct {
	// Type is the frame type: TypeMethod, TypeHeader, TypeBody or TypeHeartbeat
	// (any other value is read, and reported with an *Error).
	Type uint8
	// Channel is the channel number; 0 for connection-level frames.
	Channel uint16
	// Payload is the frame's payload. A Frame returned by Reader.ReadFrame aliases
	// the Reader's buffer: it is valid only until the next call to ReadFrame.
	Payload []byte
}
