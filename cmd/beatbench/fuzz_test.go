package main

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds arbitrary broker output to the raw clients' decoders: they
// must return errors, never panic or over-read.
func FuzzDecode(f *testing.F) {
	f.Add(append(appendConnectionClose(nil, 320, "CONNECTION_FORCED"), heartbeatFrame...))
	f.Add(appendPublish(nil, 1, "q", make([]byte, 40), 4096))
	f.Add(appendBasicAck(nil, 1, 9, true))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 2, 0, 60, 0xCE})
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := newFrameReader(bytes.NewReader(data), 64)
		for range 100 {
			typ, _, payload, err := fr.read()
			if err != nil {
				return
			}
			switch typ {
			case frameHeader:
				_, _ = contentBodySize(payload)
			case frameMethod:
				id, r, err := methodOf(payload)
				if err != nil {
					continue
				}
				switch id {
				case idConnectionTune:
					_, _ = parseTune(r)
				case idConnectionClose, idChannelClose:
					_ = parseClose(r)
				case idBasicDeliver:
					_, _ = parseDeliver(r)
				case idBasicAck, idBasicNack:
					_, _, _ = parseAck(r)
				}
			}
		}
	})
}
