package vhost

import (
	"testing"
	"time"

	"github.com/beatmq/beatmq/amqp"
)

var time1 = time.Unix(1700000000, 0)

// NewMessage checks every property list, with DecodeProperties's verdict and
// error, whether or not it has a property the broker decodes.
func TestNewMessageChecksEveryPropertyList(t *testing.T) {
	for _, props := range [][]byte{
		nil,
		{0x80},
		{0, 0, 1},                     // trailing octet
		{0x80, 0, 3, 'a'},             // content-type cut short
		[]byte("JC100900008070"),      // content-encoding of 49 octets, 11 left
		{0, 0x40, 0, 0, 0, 0},         // timestamp cut short
		{0x20, 0, 0, 0, 0, 2, 0, 'Z'}, // headers with a bad tag
		{0x01, 0, 9, 'x'},             // expiration cut short
		{0, 0x10, 5, 'g'},             // user_id cut short
	} {
		_, want := amqp.DecodeProperties(props)
		if want == nil {
			t.Fatalf("% x decodes", props)
		}
		m, err := NewMessage("", "q", props, nil)
		if m != nil || err == nil || err.Error() != want.Error() {
			t.Errorf("% x: %v, %v; want %v", props, m, err, want)
		}
	}
	for _, p := range []amqp.Properties{
		{}, {ContentType: "text/plain", MessageID: "m", Timestamp: time1},
		{Headers: amqp.Table{{Name: "k", Value: amqp.Table{{Name: "n", Value: []any{int32(1)}}}}}, DeliveryMode: 2},
	} {
		props := amqp.AppendProperties(nil, &p)
		if m, err := NewMessage("", "q", props, nil); err != nil || string(m.Properties) != string(props) {
			t.Errorf("% x: %v", props, err)
		}
	}
}

// A property list the broker does not decode costs no allocation beyond the
// message itself: it is validated, not decoded.
func TestNewMessageAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	props := amqp.AppendProperties(nil, &amqp.Properties{ContentType: "application/json", MessageID: "m-1", Timestamp: time1})
	body := []byte("0123456789abcdef")
	for _, c := range []struct {
		name  string
		props []byte
	}{{"no properties", noProps}, {"content type, message id, timestamp", props}} {
		if n := testing.AllocsPerRun(100, func() { _, _ = NewMessage("", "q", c.props, body) }); n != 1 {
			t.Errorf("%s: %v allocations, want 1 (the message)", c.name, n)
		}
	}
}
