package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// parseDefs decodes a document, saying where bad JSON is.
func parseDefs(data []byte) (defsDoc, error) {
	var d defsDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	err := dec.Decode(&d)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return d, badDefs("bad JSON at %s: data after the top-level object", where(data, dec.InputOffset()))
		}
		return d, nil
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// Offset counts the offending octet.
		return d, badDefs("bad JSON at %s: %v", where(data, se.Offset-1), se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return d, badDefs("bad JSON at %s: the document must be an object, not %s", where(data, te.Offset), te.Value)
		}
		return d, badDefs("bad JSON at %s: %s: want %v, not %s", where(data, te.Offset), field, te.Type, te.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return d, badDefs("bad JSON at %s: unexpected end of input", where(data, int64(len(data))))
	}
	return d, badDefs("bad JSON: %v", err)
}

// where gives a byte offset as "line L, column C (offset O)".
func where(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return fmt.Sprintf("line %d, column %d (offset %d)", line, col, off)
}
