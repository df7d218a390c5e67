package main

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
)

// cmdExportDefinitions is rabbitmqctl export_definitions <file_path | "-">:
// the node's definitions in RabbitMQ's JSON format (GET /api/definitions),
// to a file or, with "-", to standard output.
func cmdExportDefinitions(e *env, args []string) error {
	if err := wantArgs("export_definitions", `<file_path | "-">`, args, 1); err != nil {
		return err
	}
	_, doc, err := e.api.do(http.MethodGet, "/api/definitions", nil, nil, "this broker has no /api/definitions route")
	if err != nil {
		return err
	}
	if args[0] == "-" {
		_, err := e.stdout.Write(doc)
		return err
	}
	e.banner("Exporting definitions in JSON to a file at \"%s\" ...", args[0])
	if err := os.WriteFile(args[0], doc, 0o600); err != nil {
		return errorf(exitCantCreate, "%v", err)
	}
	return nil
}

// cmdImportDefinitions is rabbitmqctl import_definitions <file_path | "-">:
// POST /api/definitions with the file's or standard input's contents. The
// broker applies all of it or nothing, and says what it refused and where.
func cmdImportDefinitions(e *env, args []string) error {
	if err := wantArgs("import_definitions", `<file_path | "-">`, args, 1); err != nil {
		return err
	}
	var doc []byte
	var err error
	if args[0] == "-" {
		e.banner("Importing definitions in JSON from standard input ...")
		doc, err = io.ReadAll(stdin)
	} else {
		doc, err = os.ReadFile(args[0])
		if errors.Is(err, fs.ErrNotExist) {
			return errorf(exitDataErr, "Bad argument: File %s does not exist", args[0])
		}
		e.banner("Importing definitions in JSON from a file at \"%s\" ...", args[0])
	}
	if err != nil {
		return errorf(exitDataErr, "%v", err)
	}
	_, _, err = e.api.do(http.MethodPost, "/api/definitions", nil, doc, "this broker has no /api/definitions route")
	return err
}
