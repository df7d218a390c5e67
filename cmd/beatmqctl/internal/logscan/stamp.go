package logscan

import "time"

// parseStamp reads a timestamp at the start of s, in the layouts RabbitMQ
// and beatmq write: "2006-01-02 15:04:05", a space or 'T' between date and
// time, an optional fraction of 1 to 9 digits after '.' or ',', and an
// optional zone: "Z", "+00:00" or "+0000". It returns the time and the
// number of bytes it used. A timestamp without a zone is taken as UTC.
func parseStamp(s string) (time.Time, int, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, 0, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, 0, false
	}
	i := 19
	nsec := 0
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		j := i + 1
		scale := 100_000_000
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			if scale > 0 {
				nsec += int(s[j]-'0') * scale
				scale /= 10
			}
			j++
		}
		if j == i+1 || j-i-1 > 9 {
			return time.Time{}, 0, false
		}
		i = j
	}
	loc := time.UTC
	switch {
	case i < len(s) && s[i] == 'Z':
		i++
	case i+5 <= len(s) && (s[i] == '+' || s[i] == '-'):
		h, okh := num(i+1, 2)
		var m int
		var okm bool
		n := 0
		if i+6 <= len(s) && s[i+3] == ':' {
			m, okm = num(i+4, 2)
			n = 6
		} else {
			m, okm = num(i+3, 2)
			n = 5
		}
		if !okh || !okm || h > 23 || m > 59 {
			return time.Time{}, 0, false
		}
		off := (h*60 + m) * 60
		if s[i] == '-' {
			off = -off
		}
		if off != 0 {
			loc = time.FixedZone("", off)
		}
		i += n
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	return t.UTC(), i, true
}
