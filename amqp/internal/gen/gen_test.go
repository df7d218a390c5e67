package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckedInCodeIsFresh regenerates into a temporary directory and fails if
// the checked-in files differ: edit spec/amqp091.def, then go generate ./amqp.
func TestCheckedInCodeIsFresh(t *testing.T) {
	dir := t.TempDir()
	if err := run(filepath.Join("..", "..", "spec", "amqp091.def"), dir); err != nil {
		t.Fatal(err)
	}
	for _, o := range outputs {
		fresh, err := os.ReadFile(filepath.Join(dir, o.name))
		if err != nil {
			t.Fatal(err)
		}
		have, err := os.ReadFile(filepath.Join("..", "..", o.name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, have) {
			t.Errorf("amqp/%s differs from a fresh generation; run go generate ./amqp", o.name)
		}
		if !bytes.HasPrefix(fresh, []byte("// Code generated ")) || !bytes.Contains(fresh, []byte("DO NOT EDIT.")) {
			t.Errorf("%s lacks the generated-code header", o.name)
		}
	}
}

func TestSpecFacts(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "spec", "amqp091.def"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := parse(src)
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, c := range s.classes {
		count += len(c.methods)
	}
	// 0-9-1 without the access class has 53 methods; RabbitMQ adds
	// connection.blocked, unblocked, update-secret(-ok), exchange.bind(-ok),
	// unbind(-ok), basic.nack and confirm.select(-ok): 11.
	if count != 64 {
		t.Errorf("%d methods, want 64", count)
	}
	if len(s.replies) != 19 {
		t.Errorf("%d reply codes, want 19", len(s.replies))
	}
}

func TestParseErrors(t *testing.T) {
	for _, src := range []string{
		"method 10 x",
		"class 10 a\nmethod 10 x : f:nosuchtype",
		"class 10 a\nmethod 10 x sync=y",
		"class 10 a\nmethod 10 x\nmethod 10 y",
		"class 10 a\nmethod 10 x bogusflag",
		"class 10 a\nmethod 10 x :",
		"class 10 a\nclass 10 b",
		"reply 999 x maybe",
		"domain d nosuchtype",
		"frobnicate",
	} {
		if _, err := parse([]byte(src)); err == nil {
			t.Errorf("parse(%q) succeeded", src)
		} else if !strings.Contains(err.Error(), "line") && !strings.Contains(err.Error(), "response") {
			t.Errorf("parse(%q): error %q does not say where", src, err)
		}
	}
}
