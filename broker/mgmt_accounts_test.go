package broker_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/beatmq/beatmq/broker/brokertest"
)

// mgmtPut sends PUT u with a JSON body as guest and returns the status.
func mgmtPut(t *testing.T, u, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("guest", "guest")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// Users, vhosts and permissions made through the management API work on
// the wire: a RabbitMQ password_hash logs in, the permission lets it open
// the vhost.
func TestMgmtAccountsOnTheWire(t *testing.T) {
	b := brokertest.Run(t)
	hs := mgmtServer(t, b)
	for _, step := range []struct {
		path, body string
		want       int
	}{
		{"/api/users/legatest", `{"password_hash":"` + rabbitHash + `","tags":""}`, http.StatusCreated},
		{"/api/vhosts/app", ``, http.StatusCreated},
		{"/api/permissions/app/legatest", `{"configure":".*","write":".*","read":".*"}`, http.StatusCreated},
	} {
		if got := mgmtPut(t, hs.URL+step.path, step.body); got != step.want {
			t.Fatalf("PUT %s: %d, want %d", step.path, got, step.want)
		}
	}
	c := mustDialAs(t, b, "legatest", "legatest", "app")
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("q", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if resp := mgmtDo(t, http.MethodDelete, hs.URL+"/api/vhosts/app", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE vhost: %d", resp.StatusCode)
	}
	if _, err := dialAs(b, "legatest", "legatest", "app"); err == nil || !strings.Contains(err.Error(), "vhost app not found") {
		t.Fatalf("open of the deleted vhost: %v", err)
	}
}
