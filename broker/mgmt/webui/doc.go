// Package webui is the management web page: static HTML, CSS and plain
// JavaScript modules, embedded with go:embed and served by broker/mgmt's
// handler at "/", "/index.html" and under /static/. The page is built only
// on the management API (/api/...), which it calls with fetch; it holds no
// data of its own.
package webui
