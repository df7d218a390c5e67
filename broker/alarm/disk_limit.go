package alarm

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// DefaultDiskFreeLimit is RabbitMQ's default disk_free_limit: 50 MB
// (rabbit_disk_monitor's ?DEFAULT_DISK_FREE_LIMIT, 50000000 bytes).
const DefaultDiskFreeLimit = 50_000_000

// DiskFreeLimit is the free disk space below which the disk alarm is on, in
// either of the forms RabbitMQ's disk_free_limit takes: a number of bytes,
// or a multiple of the machine's memory ({mem_relative, F}).
type DiskFreeLimit struct {
	// Bytes is the absolute limit; used when MemRelative is 0.
	Bytes uint64
	// MemRelative, when above 0, makes the limit this multiple of the
	// machine's memory (MemTotal), as disk_free_limit.relative does.
	MemRelative float64
}

// unitRE is the grammar of rabbit_resource_monitor_misc:parse_information_unit/1
// (RabbitMQ 3.10.8): digits, then optionally one of its units, nothing else.
var unitRE = regexp.MustCompile(`^([0-9]+)(kB|KB|MB|GB|kb|mb|gb|Kb|Mb|Gb|kiB|KiB|MiB|GiB|kib|mib|gib|KIB|MIB|GIB|k|K|m|M|g|G)?$`)

// unitBytes maps each unit to its multiplier: the letters alone and the
// "iB" forms are powers of 1024, the "B"/"b" forms powers of 1000, as
// RabbitMQ reads them.
var unitBytes = map[string]uint64{
	"k": 1 << 10, "K": 1 << 10, "kiB": 1 << 10, "KiB": 1 << 10, "kib": 1 << 10, "KIB": 1 << 10,
	"m": 1 << 20, "M": 1 << 20, "MiB": 1 << 20, "mib": 1 << 20, "MIB": 1 << 20,
	"g": 1 << 30, "G": 1 << 30, "GiB": 1 << 30, "gib": 1 << 30, "GIB": 1 << 30,
	"kB": 1e3, "KB": 1e3, "kb": 1e3, "Kb": 1e3,
	"MB": 1e6, "mb": 1e6, "Mb": 1e6,
	"GB": 1e9, "gb": 1e9, "Gb": 1e9,
}

// ParseDiskFreeLimit reads a disk free limit written as RabbitMQ's
// configuration takes it: bytes ("50000000"), bytes with a unit ("50MB",
// "2GB", "500MiB", "1g"; the units of parse_information_unit/1),
// "{absolute,N}" with N either of those, or "{mem_relative,F}" with F a
// non-negative number.
func ParseDiskFreeLimit(s string) (DiskFreeLimit, error) {
	v := strings.TrimSpace(s)
	if strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") {
		tag, arg, ok := strings.Cut(v[1:len(v)-1], ",")
		tag, arg = strings.TrimSpace(tag), strings.TrimSpace(arg)
		switch {
		case ok && tag == "mem_relative":
			f, err := strconv.ParseFloat(arg, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
				return DiskFreeLimit{}, fmt.Errorf("disk free limit %q: want {mem_relative,F} with F a number of 0 or more", s)
			}
			if f == 0 {
				return DiskFreeLimit{}, nil
			}
			return DiskFreeLimit{MemRelative: f}, nil
		case ok && tag == "absolute":
			v = strings.Trim(arg, `"`)
		default:
			return DiskFreeLimit{}, fmt.Errorf("disk free limit %q: want {mem_relative,F} or {absolute,N}", s)
		}
	}
	m := unitRE.FindStringSubmatch(v)
	if m == nil {
		return DiskFreeLimit{}, fmt.Errorf("disk free limit %q: want bytes, optionally with a unit (50MB, 2GB, 500MiB, 1g), or {mem_relative,F}", s)
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		return DiskFreeLimit{}, fmt.Errorf("disk free limit %q: %v", s, err)
	}
	mult := uint64(1)
	if m[2] != "" {
		mult = unitBytes[m[2]]
	}
	if n > math.MaxUint64/mult {
		return DiskFreeLimit{}, fmt.Errorf("disk free limit %q: too large", s)
	}
	return DiskFreeLimit{Bytes: n * mult}, nil
}

// String writes the limit in a form ParseDiskFreeLimit reads back.
func (l DiskFreeLimit) String() string {
	if l.MemRelative > 0 {
		return "{mem_relative," + strconv.FormatFloat(l.MemRelative, 'g', -1, 64) + "}"
	}
	return strconv.FormatUint(l.Bytes, 10)
}

// bytesOf is the limit in bytes on a machine with total bytes of memory
// (rabbit_disk_monitor:interpret_limit/1 rounds the product).
func (l DiskFreeLimit) bytesOf(total uint64) uint64 {
	if l.MemRelative > 0 {
		return uint64(math.Round(l.MemRelative * float64(total)))
	}
	return l.Bytes
}
