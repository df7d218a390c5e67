package amqp

import (
	"testing"
	"time"
)

var (
	benchPublish = &BasicPublish{Exchange: "amq.direct", RoutingKey: "bench.key", Mandatory: true}
	benchDeliver = &BasicDeliver{ConsumerTag: "amq.ctag-0123456789abcdef", DeliveryTag: 123456, Exchange: "amq.direct", RoutingKey: "bench.key"}
	benchProps   = Properties{
		ContentType: "application/json", DeliveryMode: 2, Priority: 1, CorrelationID: "corr-123",
		ReplyTo: "amq.rabbitmq.reply-to", MessageID: "msg-123", Timestamp: time.Unix(1700000000, 0),
		Headers: Table{{"x-retry", int32(3)}, {"trace-id", "abc123"}},
	}
	benchBody = []byte("0123456789abcdef")
)

// BenchmarkEncodePublish builds the three payloads a publisher sends for a
// 16-octet message: basic.publish, content header, body.
func BenchmarkEncodePublish(b *testing.B) {
	b.ReportAllocs()
	raw := AppendProperties(nil, &benchProps)
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = AppendMethod(buf[:0], benchPublish)
		buf = AppendContentHeader(buf, ClassBasic, uint64(len(benchBody)), raw)
		buf = append(buf, benchBody...)
	}
}

func BenchmarkDecodePublish(b *testing.B) {
	b.ReportAllocs()
	p := AppendMethod(nil, benchPublish)
	for b.Loop() {
		if _, err := ReadMethod(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecoderPublish(b *testing.B) {
	b.ReportAllocs()
	p := AppendMethod(nil, benchPublish)
	var d Decoder
	for b.Loop() {
		if _, err := d.ReadMethod(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecoderAck(b *testing.B) {
	b.ReportAllocs()
	p := AppendMethod(nil, &BasicAck{DeliveryTag: 42, Multiple: true})
	var d Decoder
	for b.Loop() {
		if _, err := d.ReadMethod(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeDeliver builds what the broker sends for one 16-octet
// delivery: basic.deliver, content header (properties passed through raw), body.
func BenchmarkEncodeDeliver(b *testing.B) {
	b.ReportAllocs()
	raw := AppendProperties(nil, &benchProps)
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = AppendMethod(buf[:0], benchDeliver)
		buf = AppendContentHeader(buf, ClassBasic, uint64(len(benchBody)), raw)
		buf = append(buf, benchBody...)
	}
}

func BenchmarkDecodeDeliver(b *testing.B) {
	b.ReportAllocs()
	p := AppendMethod(nil, benchDeliver)
	for b.Loop() {
		if _, err := ReadMethod(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplitContentHeader(b *testing.B) {
	b.ReportAllocs()
	h := AppendContentHeader(nil, ClassBasic, 16, AppendProperties(nil, &benchProps))
	for b.Loop() {
		if _, _, _, err := SplitContentHeader(h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeProperties(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = AppendProperties(buf[:0], &benchProps)
	}
}

func BenchmarkDecodeProperties(b *testing.B) {
	b.ReportAllocs()
	raw := AppendProperties(nil, &benchProps)
	for b.Loop() {
		if _, err := DecodeProperties(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePropertiesNoHeaders(b *testing.B) {
	b.ReportAllocs()
	p := benchProps
	p.Headers = nil
	raw := AppendProperties(nil, &p)
	for b.Loop() {
		if _, err := DecodeProperties(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidProperties checks the property list of
// BenchmarkDecodeProperties without decoding it.
func BenchmarkValidProperties(b *testing.B) {
	b.ReportAllocs()
	raw := AppendProperties(nil, &benchProps)
	for b.Loop() {
		if err := ValidProperties(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidPropertiesContentType is the common case the broker checks
// on every publish: a content type and nothing else.
func BenchmarkValidPropertiesContentType(b *testing.B) {
	b.ReportAllocs()
	raw := AppendProperties(nil, &Properties{ContentType: "application/json"})
	for b.Loop() {
		if err := ValidProperties(raw); err != nil {
			b.Fatal(err)
		}
	}
}
