package mgmt_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestConnectionsPage: GET /api/connections?page=… answers RabbitMQ's page
// object, filtered by name (a substring, or a regular expression with
// use_regex=true); page 1 of nothing is an empty page, not a 404.
func TestConnectionsPage(t *testing.T) {
	srv, b := newServer(t)
	for i := 1; i <= 3; i++ {
		b.AddConnection(conn(i, "guest", ""))
	}
	type page struct {
		FilteredCount int `json:"filtered_count"`
		ItemCount     int `json:"item_count"`
		Items         []struct {
			Name string `json:"name"`
		} `json:"items"`
		Page       int `json:"page"`
		PageCount  int `json:"page_count"`
		PageSize   int `json:"page_size"`
		TotalCount int `json:"total_count"`
	}
	var p page
	decode(t, get(t, srv, "/api/connections?page=1&page_size=2"), &p)
	if p.FilteredCount != 3 || p.ItemCount != 2 || len(p.Items) != 2 || p.Page != 1 || p.PageCount != 2 || p.PageSize != 2 || p.TotalCount != 3 {
		t.Errorf("page 1 of 2: %+v", p)
	}
	one := conn(2, "guest", "").Name
	p = page{}
	decode(t, get(t, srv, "/api/connections?page=1&name="+url.QueryEscape(one)), &p)
	if p.FilteredCount != 1 || len(p.Items) != 1 || p.Items[0].Name != one || p.PageSize != 100 {
		t.Errorf("name=%s: %+v", one, p)
	}
	p = page{}
	decode(t, get(t, srv, "/api/connections?page=1&use_regex=true&name="+url.QueryEscape(`:[13] `)), &p)
	if p.FilteredCount != 2 {
		t.Errorf("regex: %+v", p)
	}
	p = page{}
	r := get(t, srv, "/api/connections?page=1&name=nothing-like-it")
	wantStatus(t, r, http.StatusOK)
	decode(t, r, &p)
	if p.FilteredCount != 0 || p.Items == nil || len(p.Items) != 0 || p.TotalCount != 3 {
		t.Errorf("no match: %+v", p)
	}
	for _, q := range []string{"page=0", "page=x", "page=1&page_size=501", "page=3&page_size=2", "page=2&name=nothing", "page=1&use_regex=true&name=("} {
		if r := get(t, srv, "/api/connections?"+q); r.status != http.StatusBadRequest {
			t.Errorf("?%s: %d, want 400", q, r.status)
		}
	}
	var chans []any
	decode(t, get(t, srv, "/api/channels"), &chans)
	r = get(t, srv, "/api/channels?page=1&name=x")
	wantStatus(t, r, http.StatusOK)
}
