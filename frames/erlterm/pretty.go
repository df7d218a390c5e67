package erlterm

import "strconv"

// Erlang's ~p (io_lib_pretty, OTP 25 as shipped with RabbitMQ 3.10.8) breaks terms
// that do not fit on an 80-column line. RabbitMQ builds its frame error texts with
// rabbit_misc:format/2, i.e. io_lib:format("type ~p, ~s octets = ~p: ~p", ...), so a
// long payload snippet or a long reason lands in the reply text with a newline and
// indentation. The functions below port the parts of io_lib_pretty that those texts
// reach: a binary and a tuple tagged with an atom whose elements are atoms or
// integers, printed at top level.
const lineLength = 80

// Binary formats b as Erlang's ~p prints a binary on a line of its own with room
// to spare (io_lib_pretty:print/2): <<>> when empty, <<"text">> when every octet is
// printable Latin-1 (io_lib:printable_latin1_list/1: 32–126, 160–255 and \n \r \t
// \v \b \f \e, written as io_lib:write_string/2 does), and <<0,20,0,10,0>>
// otherwise. Octets 160–255 appear as themselves, one byte each, as they do in
// RabbitMQ's reply texts. Binary never breaks lines; see AppendBinary.
func Binary(b []byte) string {
	return string(AppendBinary(nil, b, 0))
}

// AppendBinary appends b as ~p prints it starting at column col
// (io_lib_pretty:print/2 and pp_binary/7): like Binary, but a binary of numbers
// that does not fit before column 80 is broken into lines, continuation lines
// indented to the first octet. A printable binary is one token and never broken.
// With col 0 the binary is written on one line.
func AppendBinary(dst, b []byte, col int) []byte {
	if len(b) == 0 {
		return append(dst, "<<>>"...)
	}
	if printableLatin1(b) {
		dst = append(dst, '<', '<')
		dst = appendQuoted(dst, b, '"')
		return append(dst, '>', '>')
	}
	n := 4 + len(b) - 1
	for _, c := range b {
		n += decimalLen(c)
	}
	if col == 0 || n < lineLength-col {
		return AppendBinaryW(dst, b, -1)
	}
	// pp_binary: fill lines of N0 columns, continuation lines indented to the first
	// octet (column col+2, so col+1 spaces).
	dst = append(dst, '<', '<')
	n0 := max(8, min(lineLength-(col+2), n-4))
	room := n0
	for i, c := range b {
		l := decimalLen(c)
		if i < len(b)-1 {
			l++
			if room-l < 0 {
				dst = appendNewline(dst, col+1)
				room = n0 - l
			} else {
				room -= l
			}
			dst = strconv.AppendUint(dst, uint64(c), 10)
			dst = append(dst, ',')
			continue
		}
		if l > room {
			dst = appendNewline(dst, col+1)
		}
		dst = strconv.AppendUint(dst, uint64(c), 10)
	}
	return append(dst, '>', '>')
}

// AppendTagTuple appends {tag,elems...} as ~p prints it at top level starting at
// column col (io_lib_pretty:print/9, cind_tag_tuple/7, pp_tag_tuple/8, pp_list/9,
// pp_tail/10 and pp_element/8), for elements that are atoms or integers, already
// written out: {frame_too_large,4097,4088}, broken into lines when it does not
// fit before column 80. With col 0 the tuple is written on one line.
func AppendTagTuple(dst []byte, col int, tag string, elems ...string) []byte {
	m := 2 + len(tag) // the flat length, which is also the line_max_chars bound M
	for _, e := range elems {
		m += 1 + len(e)
	}
	if col == 0 || m < lineLength-col || len(elems) == 0 {
		dst = append(dst, '{')
		dst = append(dst, tag...)
		for _, e := range elems {
			dst = append(dst, ',')
			dst = append(dst, e...)
		}
		return append(dst, '}')
	}
	tagInd := len(tag) + 2
	tcol := col + tagInd
	// while_fail([-1, 4], cind(...), 1): the tuple's indentation choice.
	tind := 1
	switch {
	case m+tcol < lineLength || tcol < lineLength/2:
		tind = -1
	case tagInd > 4 && (m+col+4 <= lineLength || col+4 <= lineLength/2):
		tind = 4
	}
	ind := col - 1 // io_lib_pretty's Ind for the term: spaces up to its column
	dst = append(dst, '{')
	dst = append(dst, tag...)
	if tind > 0 && tagInd > tind {
		dst = ppTail(dst, elems, col+tind, tcol, m, ind+tind, 1+len(tag))
	} else {
		dst = append(dst, ',')
		dst = ppList(dst, elems, tcol, m, ind+tagInd, 2+len(tag))
	}
	return append(dst, '}')
}

// ppList is io_lib_pretty:pp_list/9 for leaf elements at top level (LD = 0).
func ppList(dst []byte, elems []string, col0, m, ind, w int) []byte {
	ld := 0
	if len(elems) == 1 {
		ld = 1
	}
	we := ppElementWidth(elems[0], col0, m, ld, w)
	dst = append(dst, elems[0]...)
	return ppTail(dst, elems[1:], col0, col0+we, m, ind, w+we)
}

// ppTail is io_lib_pretty:pp_tail/10 for leaf elements at top level (LD = 0).
func ppTail(dst []byte, elems []string, col0, col, m, ind, w int) []byte {
	for i, e := range elems {
		ld1 := 0 // last_depth: 0 before the last element, LD+1 for the last
		if i == len(elems)-1 {
			ld1 = 1
		}
		elen := 1 + len(e)
		if (ld1 == 0 && elen+1 < lineLength-col && w+elen+1 <= m) ||
			(ld1 > 0 && elen < lineLength-col-ld1 && w+elen+ld1 <= m) {
			dst = append(dst, ',')
			dst = append(dst, e...)
			col += elen
			w += elen
			continue
		}
		we := ppElementWidth(e, col0, m, ld1, 0)
		dst = append(dst, ',')
		dst = appendNewline(dst, ind)
		dst = append(dst, e...)
		col = col0 + we
		w = we
	}
	return dst
}

// ppElementWidth is the width io_lib_pretty:pp_element/8 reports for a leaf.
func ppElementWidth(e string, col, m, ld, w int) int {
	if len(e) < lineLength-col-ld && len(e)+w+ld <= m {
		return len(e)
	}
	return lineLength
}

func appendNewline(dst []byte, spaces int) []byte {
	dst = append(dst, '\n')
	for range spaces {
		dst = append(dst, ' ')
	}
	return dst
}

// Column returns the 1-based column at which the next character after s goes
// (io_lib_format:indentation/2, for texts without tabs): where a term appended
// to s starts, to pass to AppendBinary and AppendTagTuple.
func Column(s []byte) int {
	col := 1
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			break
		}
		col++
	}
	return col
}

func decimalLen(c byte) int {
	switch {
	case c >= 100:
		return 3
	case c >= 10:
		return 2
	}
	return 1
}
