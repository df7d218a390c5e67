//go:build integration

package integration

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// netLab is a small network the test builds and tears down: a bridge in the
// host's namespace with an address, and network namespaces ("hosts"), each
// joined to the bridge by a veth pair. A host vanishes when its end of the
// pair goes down: its packets stop, and nothing (no FIN, no RST) tells the
// other side. Addresses come from 198.18.0.0/15, the range RFC 2544 sets
// aside for network tests; names carry a random id, so runs side by side do
// not collide.
type netLab struct {
	t      *testing.T
	id     string
	bridge string
	prefix string // "198.18.N."
	hosts  []labHost
}

// labHost is one namespace of a netLab.
type labHost struct {
	NS     string // network namespace name
	Link   string // its end of the veth pair, inside NS
	IP     string
	hostIf string // the bridge's end, in the host's namespace
}

// skipUnlessNetns skips a test that needs to make namespaces and links: it
// must run as root with iproute2's ip.
func skipUnlessNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces and veth pairs")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip: ", err)
	}
}

// ipCmd runs ip with args and fails the test on error.
func (l *netLab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// newNetLab builds a bridge and n namespaces on it; everything is removed
// when the test ends (deleting a namespace deletes its veth pair).
func newNetLab(t *testing.T, n int) *netLab {
	t.Helper()
	skipUnlessNetns(t)
	routes, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		t.Fatalf("ip route: %v", err)
	}
	l := &netLab{t: t, id: fmt.Sprintf("%04x", rand.IntN(1<<16))}
	for range 50 {
		l.prefix = fmt.Sprintf("198.18.%d.", rand.IntN(256))
		if !strings.Contains(string(routes), l.prefix) {
			break
		}
	}
	if strings.Contains(string(routes), l.prefix) {
		t.Fatalf("no free /24 in 198.18.0.0/16 after 50 tries")
	}
	l.bridge = "bmqbr" + l.id
	t.Cleanup(func() {
		for _, h := range l.hosts {
			_ = exec.Command("ip", "netns", "del", h.NS).Run()
			_ = exec.Command("ip", "link", "del", h.hostIf).Run() // gone with the namespace, unless moving it failed
		}
		_ = exec.Command("ip", "link", "del", l.bridge).Run()
	})
	l.ip("link", "add", l.bridge, "type", "bridge")
	l.ip("addr", "add", l.BridgeIP()+"/24", "dev", l.bridge)
	l.ip("link", "set", l.bridge, "up")
	for i := range n {
		h := labHost{
			NS:     fmt.Sprintf("beatmq-deadpeer-%s-%d", l.id, i),
			Link:   fmt.Sprintf("bmqn%s%d", l.id, i),
			IP:     fmt.Sprintf("%s%d", l.prefix, 10+i),
			hostIf: fmt.Sprintf("bmqh%s%d", l.id, i),
		}
		l.hosts = append(l.hosts, h)
		l.ip("netns", "add", h.NS)
		l.ip("link", "add", h.hostIf, "type", "veth", "peer", "name", h.Link)
		l.ip("link", "set", h.Link, "netns", h.NS)
		l.ip("link", "set", h.hostIf, "master", l.bridge)
		l.ip("link", "set", h.hostIf, "up")
		l.ip("-n", h.NS, "link", "set", "lo", "up")
		l.ip("-n", h.NS, "addr", "add", h.IP+"/24", "dev", h.Link)
		l.ip("-n", h.NS, "link", "set", h.Link, "up")
	}
	return l
}

// BridgeIP is the host's address on the lab network, where the broker listens.
func (l *netLab) BridgeIP() string { return l.prefix + "1" }

// Vanish takes host i off the network: its link goes down, so nothing it
// sends leaves and nothing sent to it arrives, and no reset is ever sent.
func (l *netLab) Vanish(i int) {
	h := l.hosts[i]
	l.ip("-n", h.NS, "link", "set", h.Link, "down")
}

// Command returns a command that runs name with args inside host i.
func (l *netLab) Command(i int, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", l.hosts[i].NS, name}, args...)...)
}
