package main

import (
	"encoding/binary"
	"os"
	"testing"
	"time"
)

func TestParseVmRSS(t *testing.T) {
	status := []byte("Name:\tbeam.smp\nVmPeak:\t 2188804 kB\nVmRSS:\t  115364 kB\nRssAnon:\t  100000 kB\n")
	got, err := parseVmRSS(status)
	if err != nil || got != 115364*1024 {
		t.Fatalf("parseVmRSS = %d, %v", got, err)
	}
	if _, err := parseVmRSS([]byte("Name:\tzombie\nState:\tZ\n")); err == nil {
		t.Fatal("no VmRSS line: no error")
	}
	if _, err := parseVmRSS([]byte("VmRSS:\t 12 MB\n")); err == nil {
		t.Fatal("odd unit: no error")
	}
}

func TestParseStatCPUTicks(t *testing.T) {
	// The command name holds a space and a parenthesis; utime 1234, stime 56.
	stat := []byte("4242 (we) ird) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1234 56 0 0 20 0 30 0 100 2188804 28841 18446744073709551615\n")
	got, err := parseStatCPUTicks(stat)
	if err != nil || got != 1290 {
		t.Fatalf("parseStatCPUTicks = %d, %v", got, err)
	}
	if _, err := parseStatCPUTicks([]byte("4242 (short) S 1 2")); err == nil {
		t.Fatal("short line: no error")
	}
	if _, err := parseStatCPUTicks([]byte("no parenthesis")); err == nil {
		t.Fatal("malformed line: no error")
	}
}

func TestParseAuxv(t *testing.T) {
	var b []byte
	for _, kv := range [][2]uint64{{6, 4096}, {17, 250}, {0, 0}, {17, 1}} {
		b = binary.NativeEndian.AppendUint64(b, kv[0])
		b = binary.NativeEndian.AppendUint64(b, kv[1])
	}
	if v, ok := parseAuxv(b, 17); !ok || v != 250 {
		t.Fatalf("AT_CLKTCK = %d, %v", v, ok)
	}
	if _, ok := parseAuxv(b, 99); ok {
		t.Fatal("found a missing key")
	}
	if ticksToDuration(250, 100) != 2500*time.Millisecond || ticksToDuration(1, 0) != 10*time.Millisecond {
		t.Fatal("ticksToDuration")
	}
}

func TestReadProcSelf(t *testing.T) {
	s, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSBytes == 0 || s.CPU < 0 {
		t.Fatalf("readProc(self) = %+v", s)
	}
	if hz := clockTicks(); hz == 0 {
		t.Fatal("clock ticks is 0")
	}
}
