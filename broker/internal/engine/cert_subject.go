package engine

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strconv"
	"strings"
)

// certSubject is a certificate subject as RabbitMQ's rabbit_cert_info:subject/1
// writes it, the user name of ssl_cert_login_from distinguished_name: the
// RDNs in the certificate's own order, reversed (RFC 4514: "CN=alice,O=example"),
// the values of a multi-valued RDN joined with "+", RabbitMQ's attribute
// names, and its escaping (format_rdn/1, escape_rdn_value/2).
func certSubject(cert *x509.Certificate) string {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(cert.RawSubject, &seq); err != nil || len(rest) > 0 {
		return cert.Subject.String() // not reached for a certificate that parsed
	}
	rdns := make([]string, 0, len(seq))
	for i := len(seq) - 1; i >= 0; i-- {
		atvs := make([]string, 0, len(seq[i]))
		for _, atv := range seq[i] {
			atvs = append(atvs, attrName(atv.Type)+"="+escapeRDN(fmt.Sprint(atv.Value)))
		}
		rdns = append(rdns, strings.Join(atvs, "+"))
	}
	return strings.Join(rdns, ",")
}

// rdnNames are the attribute names RabbitMQ writes; others are dotted.
var rdnNames = map[string]string{
	"2.5.4.4": "SN", "2.5.4.42": "GIVENNAME", "2.5.4.43": "INITIALS",
	"2.5.4.44": "GENERATIONQUALIFIER", "2.5.4.3": "CN", "2.5.4.7": "L",
	"2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "TITLE",
	"2.5.4.6": "C", "2.5.4.5": "SERIALNUMBER", "2.5.4.65": "PSEUDONYM",
	"0.9.2342.19200300.100.1.25": "DC", "1.2.840.113549.1.9.1": "EMAILADDRESS",
	"2.5.4.9": "STREET", "0.9.2342.19200300.100.1.1": "UID",
}

func attrName(oid asn1.ObjectIdentifier) string {
	if n, ok := rdnNames[oid.String()]; ok {
		return n
	}
	return oid.String()
}

// escapeRDN escapes an attribute value as RFC 4514 asks, and every octet
// outside printable ASCII as \XX, as RabbitMQ does for display.
func escapeRDN(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case i == 0 && (c == ' ' || c == '#'), i == len(v)-1 && c == ' ',
			strings.IndexByte(`"+,;<>\`, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 32 || c >= 126:
			b.WriteByte('\\')
			b.WriteString(strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
