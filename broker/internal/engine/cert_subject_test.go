package engine

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

// Subjects are written as rabbit_cert_info:subject/1 writes them: the
// certificate's RDN order reversed, multi-valued RDNs joined with "+",
// RabbitMQ's attribute names, RFC 4514 escapes and \XX for octets outside
// printable ASCII.
func TestCertSubject(t *testing.T) {
	atv := func(oid asn1.ObjectIdentifier, v string) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: oid, Value: v}
	}
	var (
		c  = asn1.ObjectIdentifier{2, 5, 4, 6}
		o  = asn1.ObjectIdentifier{2, 5, 4, 10}
		ou = asn1.ObjectIdentifier{2, 5, 4, 11}
		cn = asn1.ObjectIdentifier{2, 5, 4, 3}
		dc = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
		xx = asn1.ObjectIdentifier{1, 2, 3, 4}
	)
	cases := []struct {
		seq  pkix.RDNSequence
		want string
	}{
		{pkix.RDNSequence{{atv(c, "UK")}, {atv(o, "example")}, {atv(cn, "alice")}}, "CN=alice,O=example,C=UK"},
		// The certificate's own order, not Go's canonical one.
		{pkix.RDNSequence{{atv(cn, "alice")}, {atv(o, "example")}}, "O=example,CN=alice"},
		{pkix.RDNSequence{{atv(dc, "com")}, {atv(ou, "a"), atv(ou, "b")}, {atv(xx, "v")}}, "1.2.3.4=v,OU=a+OU=b,DC=com"},
		{pkix.RDNSequence{{atv(cn, " #a,b+c;\"<>\\ ")}}, `CN=\ #a\,b\+c\;\"\<\>\\\ `},
		{pkix.RDNSequence{{atv(cn, "zoë\x01")}}, `CN=zo\C3\AB\01`},
	}
	for _, tc := range cases {
		raw, err := asn1.Marshal(tc.seq)
		if err != nil {
			t.Fatal(err)
		}
		if got := certSubject(&x509.Certificate{RawSubject: raw}); got != tc.want {
			t.Errorf("certSubject = %q, want %q", got, tc.want)
		}
	}
}
