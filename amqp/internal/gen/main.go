// Command gen generates the AMQP method code of package amqp from the protocol
// definition spec/amqp091.def. Run it through `go generate ./amqp`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	in := flag.String("in", "spec/amqp091.def", "protocol definition")
	out := flag.String("out", ".", "directory to write the generated files to")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// outputs maps each generated file name to its emitter.
var outputs = []struct {
	name string
	emit func(*spec) ([]byte, error)
}{
	{"methods_gen.go", emitMethods},
	{"constants_gen.go", emitConstants},
}

// run reads the definition at in and writes every generated file into dir.
func run(in, dir string) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	s, err := parse(src)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	for _, o := range outputs {
		b, err := o.emit(s)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, o.name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
