package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procSample is one reading of a broker process's memory and CPU time.
type procSample struct {
	At       time.Time
	RSSBytes uint64        // VmRSS
	CPU      time.Duration // utime + stime of all threads
}

// readProc samples /proc/PID/status and /proc/PID/stat.
func readProc(pid int) (procSample, error) {
	at := time.Now()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}, err
	}
	rss, err := parseVmRSS(status)
	if err != nil {
		return procSample{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	ticks, err := parseStatCPUTicks(stat)
	if err != nil {
		return procSample{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	return procSample{At: at, RSSBytes: rss, CPU: ticksToDuration(ticks, clockTicks())}, nil
}

// parseVmRSS returns the VmRSS line of a /proc/PID/status file in bytes.
func parseVmRSS(status []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected VmRSS line %q: %w", line, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no VmRSS line (process exited or is a zombie?)")
}

// parseStatCPUTicks returns utime + stime (fields 14 and 15) of a /proc/PID/stat
// line, in clock ticks. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStatCPUTicks(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat line %q", stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state), so field k is f[k-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("stat line has %d fields after the command, want at least 13", len(f))
	}
	utime, err := strconv.ParseUint(f[14-3], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	stime, err := strconv.ParseUint(f[15-3], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return utime + stime, nil
}

func ticksToDuration(ticks, hz uint64) time.Duration {
	if hz == 0 {
		hz = 100
	}
	return time.Duration(ticks * uint64(time.Second) / hz)
}

// atClkTck is the auxiliary-vector key of sysconf(_SC_CLK_TCK).
const atClkTck = 17

// clockTicks returns the kernel's USER_HZ (the unit of /proc/PID/stat times), read
// from this process's auxiliary vector; 100 if it cannot be read.
var clockTicks = sync.OnceValue(func() uint64 {
	if auxv, err := os.ReadFile("/proc/self/auxv"); err == nil {
		if hz, ok := parseAuxv(auxv, atClkTck); ok && hz > 0 {
			return hz
		}
	}
	return 100
})

// parseAuxv looks key up in a native-endian 64-bit auxiliary vector.
func parseAuxv(auxv []byte, key uint64) (uint64, bool) {
	for len(auxv) >= 16 {
		k := binary.NativeEndian.Uint64(auxv)
		v := binary.NativeEndian.Uint64(auxv[8:])
		if k == key {
			return v, true
		}
		if k == 0 {
			break
		}
		auxv = auxv[16:]
	}
	return 0, false
}
