package main

import "testing"

func TestParseProcIO(t *testing.T) {
	in := []byte("rchar: 10\nwchar: 20\nsyscr: 3\nsyscw: 4\nread_bytes: 0\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n")
	c, err := parseProcIO(in)
	if err != nil || c.WriteBytes != 8192 || c.Syscw != 4 {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := parseProcIO([]byte("rchar: 1\n")); err == nil {
		t.Fatal("no write_bytes: no error")
	}
}

func TestCountPerfEvents(t *testing.T) {
	out := []byte(`   123 syscalls:sys_enter_fdatasync: 
   123 syscalls:sys_enter_fdatasync: 
   123 syscalls:sys_enter_fsync: 
  1234 syscalls:sys_enter_fdatasync: 
    12 syscalls:sys_enter_fsync: 
`)
	fd, fs := countPerfEvents(out, 123)
	if fd != 2 || fs != 1 {
		t.Fatalf("fdatasync %d fsync %d", fd, fs)
	}
}

func TestParseStraceSummary(t *testing.T) {
	out := []byte(`% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 97.50    0.390000         812       480           fdatasync
  2.50    0.010000         769        13         1 fsync
------ ----------- ----------- --------- --------- ----------------
100.00    0.400000         812       493         1 total
`)
	fd, fs := parseStraceSummary(out)
	if fd != 480 || fs != 13 {
		t.Fatalf("fdatasync %d fsync %d", fd, fs)
	}
}

func TestSendTimes(t *testing.T) {
	s := newSendTimes(3000)
	if len(s.at) != 8192 {
		t.Fatalf("ring of %d for 3000 outstanding", len(s.at))
	}
	for tag := uint64(1); tag <= 10000; tag++ {
		s.set(tag, int64(tag)*10)
		if tag > 3000 && s.get(tag-3000) != int64(tag-3000)*10 {
			t.Fatalf("tag %d overwritten by %d", tag-3000, tag)
		}
	}
	if n := len(newSendTimes(0).at); n != 1<<20 {
		t.Fatalf("unbounded ring %d", n)
	}
}

func TestLastPid(t *testing.T) {
	if p, err := lastPid("starting\n4242\n"); p != 4242 || err != nil {
		t.Fatalf("%d %v", p, err)
	}
	for _, bad := range []string{"", "ready\n", "-1\n"} {
		if _, err := lastPid(bad); err == nil {
			t.Fatalf("%q: no error", bad)
		}
	}
}
