package alarm

import "testing"

func TestParseDiskFreeLimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want DiskFreeLimit
	}{
		{"50000000", DiskFreeLimit{Bytes: 50_000_000}},
		{"0", DiskFreeLimit{}},
		{"50MB", DiskFreeLimit{Bytes: 50_000_000}},
		{"50mb", DiskFreeLimit{Bytes: 50_000_000}},
		{"50Mb", DiskFreeLimit{Bytes: 50_000_000}},
		{"50000kB", DiskFreeLimit{Bytes: 50_000_000}},
		{"2GB", DiskFreeLimit{Bytes: 2_000_000_000}},
		{"2gb", DiskFreeLimit{Bytes: 2_000_000_000}},
		{"1k", DiskFreeLimit{Bytes: 1024}},
		{"1K", DiskFreeLimit{Bytes: 1024}},
		{"1kiB", DiskFreeLimit{Bytes: 1024}},
		{"500MiB", DiskFreeLimit{Bytes: 500 << 20}},
		{"500mib", DiskFreeLimit{Bytes: 500 << 20}},
		{"1m", DiskFreeLimit{Bytes: 1 << 20}},
		{"1g", DiskFreeLimit{Bytes: 1 << 30}},
		{"2GiB", DiskFreeLimit{Bytes: 2 << 30}},
		{"2GIB", DiskFreeLimit{Bytes: 2 << 30}},
		{" 50MB ", DiskFreeLimit{Bytes: 50_000_000}},
		{"{mem_relative,1.5}", DiskFreeLimit{MemRelative: 1.5}},
		{"{mem_relative, 2}", DiskFreeLimit{MemRelative: 2}},
		{"{ mem_relative , 0.5 }", DiskFreeLimit{MemRelative: 0.5}},
		{"{mem_relative,0}", DiskFreeLimit{}},
		{"{absolute,50MB}", DiskFreeLimit{Bytes: 50_000_000}},
		{`{absolute,"1GB"}`, DiskFreeLimit{Bytes: 1_000_000_000}},
		{"{absolute,1000}", DiskFreeLimit{Bytes: 1000}},
	} {
		got, err := ParseDiskFreeLimit(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseDiskFreeLimit(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	// RabbitMQ's grammar refuses these (parse_information_unit/1's regexp:
	// no fraction, no sign, no space before the unit, no other unit).
	for _, in := range []string{
		"", "MB", "1.5GB", "-1", "+1", "50 MB", "50mB", "50gB", "50B", "50TB", "50kbytes",
		"{mem_relative,-1}", "{mem_relative,x}", "{mem_relative,NaN}", "{mem_relative,Inf}",
		"{mem_relative}", "{relative,1.0}", "{absolute,-5}", "{absolute,1.5GB}",
		"99999999999999999999", "18446744073709551615G",
	} {
		if got, err := ParseDiskFreeLimit(in); err == nil {
			t.Errorf("ParseDiskFreeLimit(%q) = %+v, want an error", in, got)
		}
	}
}

func TestDiskFreeLimitStringAndBytes(t *testing.T) {
	for _, l := range []DiskFreeLimit{{Bytes: 50_000_000}, {}, {MemRelative: 1.5}, {MemRelative: 0.25}} {
		back, err := ParseDiskFreeLimit(l.String())
		if err != nil || back != l {
			t.Errorf("%+v: String %q reads back as %+v, %v", l, l.String(), back, err)
		}
	}
	if got := (DiskFreeLimit{MemRelative: 1.5}).bytesOf(1000); got != 1500 {
		t.Errorf("1.5 × 1000 = %d", got)
	}
	if got := (DiskFreeLimit{Bytes: 7}).bytesOf(1000); got != 7 {
		t.Errorf("absolute 7 = %d", got)
	}
}
