//go:build integration

package integration

import (
	"os"
	"path/filepath"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// tlsFiles are the PEM files of a broker's amqps listener.
type tlsFiles struct {
	ca, cert, key string
}

// makeTLSFiles makes a CA and a server certificate signed by it (for
// 127.0.0.1, ::1 and localhost) in dir/tls, readable by a broker started by
// this test.
func makeTLSFiles(dir string) (tlsFiles, error) {
	dir = filepath.Join(dir, "tls")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return tlsFiles{}, err
	}
	ca, err := brokertest.NewCA()
	if err != nil {
		return tlsFiles{}, err
	}
	srv, err := ca.Server()
	if err != nil {
		return tlsFiles{}, err
	}
	cert, key, err := ca.WriteFiles(dir, "server", srv)
	if err != nil {
		return tlsFiles{}, err
	}
	return tlsFiles{ca: filepath.Join(dir, "ca.pem"), cert: cert, key: key}, nil
}
