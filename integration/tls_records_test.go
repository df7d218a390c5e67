//go:build integration

package integration

// tlsRecord is one TLS record seen on the wire: its content type (20
// change_cipher_spec, 21 alert, 22 handshake, 23 application_data) and the
// length of its (encrypted) fragment.
type tlsRecord struct {
	Type byte
	Len  int
}

// tlsScanner splits a byte stream into TLS records (RFC 8446 §5.1: a 5-octet
// header of type, version and length, then the fragment), fed in arbitrary
// pieces.
type tlsScanner struct {
	hdr  [5]byte
	have int // header octets read of the current record
	left int // fragment octets still to skip
}

// feed consumes p and returns the records whose last octet it held.
func (s *tlsScanner) feed(p []byte) []tlsRecord {
	var out []tlsRecord
	for len(p) > 0 {
		if s.have < len(s.hdr) {
			k := copy(s.hdr[s.have:], p)
			s.have += k
			p = p[k:]
			if s.have < len(s.hdr) {
				return out
			}
			s.left = int(s.hdr[3])<<8 | int(s.hdr[4])
		}
		k := min(s.left, len(p))
		s.left -= k
		p = p[k:]
		if s.left == 0 {
			out = append(out, tlsRecord{Type: s.hdr[0], Len: int(s.hdr[3])<<8 | int(s.hdr[4])})
			s.have = 0
		}
	}
	return out
}

// maxHeartbeatRecord is the largest fragment a TLS record holding one
// 8-octet heartbeat frame has: TLS 1.3 adds 1 octet of content type and a
// 16-octet AEAD tag (25 in all); TLS 1.2 with AES-GCM an 8-octet explicit
// nonce and the tag (32). A connection.close frame (at least 20 octets
// before its reply text) never fits in 32.
const maxHeartbeatRecord = 32

// heartbeatRecords counts the application-data records small enough to be
// one heartbeat frame, and tells whether any larger application-data record
// is among recs (a connection.close, or anything else than heartbeats).
func heartbeatRecords(recs []tlsRecord) (n int, other bool) {
	for _, r := range recs {
		if r.Type != 23 {
			continue
		}
		if r.Len <= maxHeartbeatRecord {
			n++
		} else {
			other = true
		}
	}
	return n, other
}
