package mgmt

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Pagination of lists, as RabbitMQ 3.10's management API does it
// (rabbit_mgmt_util:filter_and_paginate): without a "page" query parameter
// a list is answered whole, as a JSON array; with one, the list is first
// filtered by "name" (a substring of the item's name, or with
// use_regex=true a regular expression), then cut into pages of page_size
// items (default 100, at most 500), and answered as an object:
//
//	{"filtered_count":…,"item_count":…,"items":[…],"page":…,"page_count":…,
//	 "page_size":…,"total_count":…}
//
// A page past the last one is 400 "page out of range" (page 1 of an empty
// list is not: it has no items). The web page uses this to ask for one
// connection or its channels without a 404 when the connection is gone.
const (
	defaultPageSize = 100
	maxPageSize     = 500
)

// pageJSON is a paginated answer.
type pageJSON[T any] struct {
	FilteredCount int `json:"filtered_count"`
	ItemCount     int `json:"item_count"`
	Items         []T `json:"items"`
	Page          int `json:"page"`
	PageCount     int `json:"page_count"`
	PageSize      int `json:"page_size"`
	TotalCount    int `json:"total_count"`
}

// writeList writes items as a JSON array, or, when r asks for a page, that
// page of the items whose name (from nameOf) matches r's filter.
func writeList[T any](w http.ResponseWriter, r *http.Request, items []T, nameOf func(*T) string) {
	q := r.URL.Query()
	if !q.Has("page") {
		writeJSON(w, http.StatusOK, items)
		return
	}
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		badRequest(w, "page must be a positive integer")
		return
	}
	size := defaultPageSize
	if q.Has("page_size") {
		size, err = strconv.Atoi(q.Get("page_size"))
		if err != nil || size < 1 || size > maxPageSize {
			badRequest(w, "page_size must be an integer from 1 to "+strconv.Itoa(maxPageSize))
			return
		}
	}
	match := func(string) bool { return true }
	if name := q.Get("name"); name != "" {
		if q.Get("use_regex") == "true" {
			re, err := regexp.Compile(name)
			if err != nil {
				badRequest(w, "name is not a valid regular expression: "+err.Error())
				return
			}
			match = re.MatchString
		} else {
			match = func(s string) bool { return strings.Contains(s, name) }
		}
	}
	kept := make([]T, 0, len(items))
	for i := range items {
		if match(nameOf(&items[i])) {
			kept = append(kept, items[i])
		}
	}
	pages := (len(kept) + size - 1) / size
	start := (page - 1) * size
	if start > len(kept) || (start == len(kept) && page > 1) {
		badRequest(w, "page out of range, page: "+strconv.Itoa(page)+" page size: "+strconv.Itoa(size)+" len: "+strconv.Itoa(len(kept)))
		return
	}
	end := min(start+size, len(kept))
	writeJSON(w, http.StatusOK, pageJSON[T]{
		FilteredCount: len(kept), ItemCount: end - start, Items: kept[start:end],
		Page: page, PageCount: pages, PageSize: size, TotalCount: len(items),
	})
}
