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

// Sizes of a record's fragment (what follows its 5-octet header) that hold
// one 8-octet heartbeat frame: TLS 1.3 adds a content-type octet and a
// 16-octet AEAD tag (25); TLS 1.2 adds the tag and, with AES-GCM, an 8-octet
// explicit nonce (24 with ChaCha20-Poly1305, 32 with AES-GCM). A
// connection.close frame (at least 20 octets before its reply text) never
// fits in 32.
const (
	minHeartbeatRecord = 24
	maxHeartbeatRecord = 32
	// tls13AlertRecord is an alert (2 octets) inside a TLS 1.3 record, which
	// travels as application data: 2 + 1 + 16.
	tls13AlertRecord = 19
)

// afterDrop sorts the records a broker sent after the relay's drop: n
// heartbeat-sized application-data records, whether the last one was an
// alert (TLS 1.2's alert records, TLS 1.3's 19-octet ones: close_notify,
// the only alert a broker sends on an established connection), and any
// other record (a connection.close, or anything else).
func afterDrop(recs []tlsRecord) (n int, endsWithAlert bool, other []tlsRecord) {
	for i, r := range recs {
		alert := r.Type == 21 || r.Type == 23 && r.Len == tls13AlertRecord
		switch {
		case alert && i == len(recs)-1:
			endsWithAlert = true
		case r.Type == 23 && r.Len >= minHeartbeatRecord && r.Len <= maxHeartbeatRecord:
			n++
		default:
			other = append(other, r)
		}
	}
	return n, endsWithAlert, other
}
