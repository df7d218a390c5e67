package mgmt

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// jsonTable renders an AMQP field table, already converted to a map by the
// broker's adapter, as RabbitMQ's management API does
// (rabbit_misc:amqp_table/1): a JSON object, {} when empty.
func jsonTable(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = jsonValue(v)
	}
	return out
}

// jsonValue renders one field value as rabbit_misc:amqp_value/2 does: arrays
// as lists, tables as objects, byte strings that are not UTF-8 as
// "Not UTF-8, base64 is: …", everything else as its JSON scalar. Timestamps
// are seconds since the epoch, as AMQP carries them.
func jsonValue(v any) any {
	switch x := v.(type) {
	case nil, bool,
		int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64:
		return x
	case float32:
		return jsonFloat(float64(x))
	case float64:
		return jsonFloat(x)
	case string:
		return utf8Safe(x)
	case []byte:
		return utf8Safe(string(x))
	case time.Time:
		return x.Unix()
	case map[string]any:
		return jsonTable(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case json.Marshaler:
		return x
	case fmt.Stringer:
		return utf8Safe(x.String())
	default:
		return utf8Safe(fmt.Sprint(x))
	}
}

// jsonFloat keeps finite floats and spells out the others, which JSON cannot
// carry as numbers.
func jsonFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	return f
}

// notUTF8Prefix starts the text RabbitMQ shows for a byte string that is not
// UTF-8 (rabbit_misc:utf8_safe/1).
const notUTF8Prefix = "Not UTF-8, base64 is: "

// utf8Safe returns s unchanged if it is valid UTF-8 and otherwise its base64
// encoding behind notUTF8Prefix, split into lines of 76 characters as MIME
// wants and RabbitMQ does.
func utf8Safe(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	var b strings.Builder
	b.WriteString(notUTF8Prefix)
	for len(enc) >= 76 { // split_lines/1 also ends a line of exactly 76
		b.WriteString(enc[:76])
		b.WriteByte('\n')
		enc = enc[76:]
	}
	b.WriteString(enc)
	return b.String()
}

// RabbitMQDecimal returns the number RabbitMQ's management API shows for an
// AMQP decimal with the given scale and value. RabbitMQ prints
// "<scale>.<value>" and reads that back as a float
// (rabbit_misc:amqp_value/2), so scale 2, value 1 shows as 2.1, not 0.01;
// the broker's adapter converts decimals with this to match.
func RabbitMQDecimal(scale uint8, value uint32) float64 {
	f, _ := strconv.ParseFloat(strconv.Itoa(int(scale))+"."+strconv.FormatUint(uint64(value), 10), 64)
	return f
}
