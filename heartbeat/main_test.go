package heartbeat

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(benchPeerEnv) != "" {
		// Re-executed by BenchmarkIdleConnections as the client side.
		os.Exit(runBenchPeer())
	}
	goleak.VerifyTestMain(m)
}
