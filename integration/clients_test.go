//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// scenarioArgs are the arguments every scenario program takes.
type scenarioArgs struct {
	Scenario  string // roundtrip, hold, idle, dead or watch
	Port      int    // broker (or relay) port on 127.0.0.1
	Heartbeat int    // heartbeat asked for, seconds
	Name      string // connection_name client property
	Queue     string
	Count     int
	Seconds   float64 // idle duration, or upper bound for hold/dead/watch
	Every     float64 // watch: seconds between two published messages (0: none)
	TLSCA     string  // connect over TLS trusting this CA (PEM file); "" for plain TCP
}

func (a scenarioArgs) flags(dash string) []string {
	var tls []string
	if a.TLSCA != "" {
		tls = []string{dash + "tls-ca", a.TLSCA}
	}
	return append(tls,
		dash+"host", "127.0.0.1",
		dash+"port", strconv.Itoa(a.Port),
		dash+"scenario", a.Scenario,
		dash+"heartbeat", strconv.Itoa(a.Heartbeat),
		dash+"name", a.Name,
		dash+"queue", a.Queue,
		dash+"count", strconv.Itoa(a.Count),
		dash+"seconds", strconv.FormatFloat(a.Seconds, 'f', -1, 64),
		dash+"every", strconv.FormatFloat(a.Every, 'f', -1, 64),
	)
}

// client is one AMQP client library with a scenario program.
type client struct {
	Name    string // as in the results table and negotiationExpected
	prepare func() error
	command func(a scenarioArgs) *exec.Cmd

	once sync.Once
	err  error
}

// Prepare builds what the program needs (once per run).
func (c *client) Prepare() error {
	c.once.Do(func() {
		if c.prepare != nil {
			c.err = c.prepare()
		}
	})
	return c.err
}

// javaClasspath is the Debian librabbitmq-client-java jar plus SLF4J (the client
// logs through its API; the nop binding keeps the warning off stderr).
func javaClasspath() string {
	if cp := os.Getenv("BEATMQ_JAVA_CLASSPATH"); cp != "" {
		return cp
	}
	return "/usr/share/java/amqp-client.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar"
}

// pythonBin is the interpreter that sees Debian's python3-pika and python3-amqp.
func pythonBin() string {
	if p := os.Getenv("BEATMQ_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

func runQuiet(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// newClients lists the library clients, building into dir. BEATMQ_INTEROP_CLIENTS
// (comma-separated names) restricts the list.
func newClients(dir string) []*client {
	python := func(script string) func(a scenarioArgs) *exec.Cmd {
		return func(a scenarioArgs) *exec.Cmd {
			return exec.Command(pythonBin(), append([]string{"-u", filepath.Join("python", script)}, a.flags("--")...)...)
		}
	}
	javaDir := filepath.Join(dir, "java")
	goBin := filepath.Join(dir, "goclient")
	all := []*client{
		{
			Name: "go",
			prepare: func() error {
				return runQuiet("go", "build", "-o", goBin, "./goclient")
			},
			command: func(a scenarioArgs) *exec.Cmd { return exec.Command(goBin, a.flags("-")...) },
		},
		{
			Name: "java",
			prepare: func() error {
				if err := os.MkdirAll(javaDir, 0o755); err != nil {
					return err
				}
				return runQuiet("javac", "-nowarn", "-d", javaDir, "-cp", javaClasspath(), filepath.Join("java", "Scenario.java"))
			},
			command: func(a scenarioArgs) *exec.Cmd {
				args := []string{"-XX:TieredStopAtLevel=1", "-Xss512k", "-cp", javaDir + ":" + javaClasspath(), "Scenario"}
				return exec.Command("java", append(args, a.flags("--")...)...)
			},
		},
		{
			Name: "amqplib",
			prepare: func() error {
				if _, err := os.Stat(filepath.Join("node", "node_modules", "amqplib")); err != nil {
					return fmt.Errorf("amqplib is not installed in integration/node (run `make deps`, which runs npm ci there): %v", err)
				}
				return nil
			},
			command: func(a scenarioArgs) *exec.Cmd {
				return exec.Command("node", append([]string{filepath.Join("node", "scenario.js")}, a.flags("--")...)...)
			},
		},
		{
			Name:    "pika",
			prepare: func() error { return runQuiet(pythonBin(), "-c", "import pika") },
			command: python("pika_scenario.py"),
		},
		{
			Name: "bunny",
			prepare: func() error {
				return runQuiet("ruby", "-e", "require 'bunny'")
			},
			command: func(a scenarioArgs) *exec.Cmd {
				return exec.Command("ruby", append([]string{filepath.Join("ruby", "scenario.rb")}, a.flags("--")...)...)
			},
		},
		{
			Name:    "pyamqp",
			prepare: func() error { return runQuiet(pythonBin(), "-c", "import amqp") },
			command: python("pyamqp_scenario.py"),
		},
	}
	want := os.Getenv("BEATMQ_INTEROP_CLIENTS")
	if want == "" {
		return all
	}
	var out []*client
	for _, c := range all {
		for _, w := range strings.Split(want, ",") {
			if strings.TrimSpace(w) == c.Name {
				out = append(out, c)
			}
		}
	}
	return out
}

// wantAmqpTools reports whether the amqp-tools rows run (BEATMQ_INTEROP_CLIENTS
// may leave them out).
func wantAmqpTools() bool {
	want := os.Getenv("BEATMQ_INTEROP_CLIENTS")
	if want == "" {
		return true
	}
	for _, w := range strings.Split(want, ",") {
		if strings.TrimSpace(w) == "amqp-tools" {
			return true
		}
	}
	return false
}
