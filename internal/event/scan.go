package event

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is the JSON byte scanner under the decoders in decode.go. It
// reads RFC 8259 JSON without reflection: the decoders walk an object's
// members with next, read the values of the fields they know with str,
// integer, float and timestamp, and skip everything else with skip, which
// still checks the syntax of what it skips.
//
// Error precedence, which the decoders rely on: a syntax error anywhere wins
// (malformed_json); otherwise the first type-level error in document order
// (wrong_type, or invalid_value for an unparsable timestamp or an integer out
// of range), noted with note while scanning goes on to the end of the input;
// then the decoders' own checks for missing fields and values.

// maxDepth is the deepest nesting of objects and arrays accepted, the same
// limit as encoding/json's.
const maxDepth = 10000

// scratchSize is the stack space for decoding an escaped timestamp, kind or
// event_id; longer ones spill to the heap.
const scratchSize = 64

// text is a string value of the input: its contents b[off:end] as written,
// and whether they contain escapes. arena.add makes it refer to the decoded
// bytes in the arena instead.
type text struct {
	off, end int
	esc      bool
}

// n is the length of the contents as written, at least the decoded length.
func (t text) n() int { return t.end - t.off }

// of returns the text's string from the arena's string.
func (t text) of(all string) string { return all[t.off:t.end] }

// arena writes the string fields of one event into one buffer, so that they
// become substrings of a single string: one allocation per event instead of
// one per field.
type arena struct {
	in []byte
	sb strings.Builder
}

// add writes the decoded t into the arena and makes t refer to it there.
// Grow the arena by the n of all texts first.
func (a *arena) add(t *text) {
	off := a.sb.Len()
	if t.esc {
		var scratch [scratchSize]byte
		a.sb.Write(unescape(scratch[:0], a.in[t.off:t.end]))
	} else {
		a.sb.Write(a.in[t.off:t.end])
	}
	t.off, t.end, t.esc = off, a.sb.Len(), false
}

// own returns t as a string of its own.
func (d *decoder) own(t text) string {
	if !t.esc {
		return string(d.b[t.off:t.end])
	}
	var scratch [scratchSize]byte
	return string(unescape(scratch[:0], d.b[t.off:t.end]))
}

// path names a field for an error without building the string until an
// error needs it: outer[idx].name, outer.name, or just name.
type path struct {
	outer string
	idx   int // -1: no index
	name  string
}

// field returns a path for a top-level field.
func field(name string) path { return path{idx: -1, name: name} }

func (p path) String() string {
	switch {
	case p.outer == "":
		return p.name
	case p.idx < 0 && p.name == "":
		return p.outer
	case p.idx < 0:
		return p.outer + "." + p.name
	case p.name == "":
		return p.outer + "[" + strconv.Itoa(p.idx) + "]"
	default:
		return p.outer + "[" + strconv.Itoa(p.idx) + "]." + p.name
	}
}

// decoder is the state of one decode call.
type decoder struct {
	b     []byte
	i     int    // read position in b
	depth int    // open objects and arrays
	syn   *Error // first syntax error
	err   *Error // first type-level error
	key   []byte // name of the member whose value is at i
}

// isWS reports whether c is JSON insignificant whitespace.
func isWS(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func (d *decoder) ws() {
	for d.i < len(d.b) && isWS(d.b[d.i]) {
		d.i++
	}
}

// syntax records a syntax error at the current position and returns false.
func (d *decoder) syntax(msg string) bool {
	if d.syn == nil {
		d.syn = &Error{Reason: ReasonMalformedJSON, Msg: fmt.Sprintf("%s at offset %d", msg, d.i)}
	}
	return false
}

// unexpected records a syntax error for the byte at the current position.
func (d *decoder) unexpected(context string) bool {
	if d.i >= len(d.b) {
		return d.syntax("unexpected end of input")
	}
	return d.syntax(fmt.Sprintf("invalid character %q %s", d.b[d.i], context))
}

// note records the first type-level error; scanning continues.
func (d *decoder) note(r Reason, p path, msg string) {
	if d.err == nil {
		d.err = &Error{Reason: r, Field: p.String(), Msg: msg}
	}
}

// kind names the JSON type of the value at the current position.
func (d *decoder) kind() string {
	if d.i >= len(d.b) {
		return "nothing"
	}
	switch c := d.b[d.i]; c {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// wrongType skips the value at the current position and notes that it is
// not the want type.
func (d *decoder) wrongType(p path, want string) {
	got := d.kind()
	if d.skip() {
		d.note(ReasonWrongType, p, "expected "+want+", got "+got)
	}
}

// null consumes a null literal if one is at the current position. A null
// field has no effect, as with encoding/json: a required field that is only
// ever null is missing.
func (d *decoder) null() bool {
	if d.i < len(d.b) && d.b[d.i] == 'n' {
		d.lit("null")
		return true
	}
	return false
}

// finish checks that only whitespace follows the top-level value and
// returns the error that takes precedence, if any.
func (d *decoder) finish() error {
	if d.syn == nil {
		d.ws()
		if d.i != len(d.b) {
			d.unexpected("after top-level value")
		}
	}
	if d.syn != nil {
		return d.syn
	}
	if d.err != nil {
		return d.err
	}
	return nil
}

// top enters the top-level object. It returns false, having recorded why,
// if the input is not an object.
func (d *decoder) top() bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '{' {
		return d.open()
	}
	if d.i >= len(d.b) {
		return d.syntax("unexpected end of input")
	}
	d.wrongType(path{}, "object")
	return false
}

// open consumes the '{' or '[' at the current position.
func (d *decoder) open() bool {
	d.i++
	d.depth++
	if d.depth > maxDepth {
		return d.syntax("exceeded max depth")
	}
	return true
}

// next advances to the next member of the object being read: it returns
// true with d.key set and the position at the member's value, or false
// after the closing brace or on a syntax error. first must be true for the
// first call of each object.
func (d *decoder) next(first *bool) bool {
	if d.syn != nil {
		return false
	}
	d.ws()
	if d.i >= len(d.b) {
		return d.syntax("unexpected end of input in object")
	}
	c := d.b[d.i]
	switch {
	case c == '}':
		d.i++
		d.depth--
		return false
	case *first:
	case c == ',':
		d.i++
		d.ws()
	default:
		return d.unexpected("after object member")
	}
	*first = false
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return d.unexpected("looking for object key")
	}
	if !d.readKey() {
		return false
	}
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != ':' {
		return d.unexpected("after object key")
	}
	d.i++
	d.ws()
	if d.i >= len(d.b) {
		return d.syntax("unexpected end of input")
	}
	return true
}

// nextElem advances to the next element of the array being read, like next.
func (d *decoder) nextElem(first *bool) bool {
	if d.syn != nil {
		return false
	}
	d.ws()
	if d.i >= len(d.b) {
		return d.syntax("unexpected end of input in array")
	}
	c := d.b[d.i]
	switch {
	case c == ']':
		d.i++
		d.depth--
		return false
	case *first:
	case c == ',':
		d.i++
		d.ws()
	default:
		return d.unexpected("after array element")
	}
	*first = false
	if d.i >= len(d.b) {
		return d.syntax("unexpected end of input")
	}
	return true
}

// readKey reads the object key at the current position into d.key: a slice
// of the input, or a new one if the key has escapes (rare).
func (d *decoder) readKey() bool {
	start, end, esc, ok := d.scanString()
	if !ok {
		return false
	}
	if !esc {
		d.key = d.b[start:end]
	} else {
		d.key = unescape(nil, d.b[start:end])
	}
	return true
}

// strSafe[c] is true for the bytes that a JSON string holds as themselves
// and that need no further look: printable ASCII except '"' and '\\'.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString checks the string at the current position (at its opening
// quote) and moves past it. It returns the raw contents b[start:end] and
// whether they contain escapes. Raw bytes must be valid UTF-8; an escaped
// lone surrogate is accepted and decodes to U+FFFD, as in encoding/json.
func (d *decoder) scanString() (start, end int, esc, ok bool) {
	b := d.b
	j := d.i + 1
	start = j
	high := false
	for {
		for j < len(b) && strSafe[b[j]] {
			j++
		}
		if j >= len(b) {
			d.i = j
			return 0, 0, false, d.syntax("unexpected end of input in string")
		}
		c := b[j]
		switch {
		case c == '"':
			if high && !utf8.Valid(b[start:j]) {
				d.i = start
				return 0, 0, false, d.syntax("invalid UTF-8 in string")
			}
			d.i = j + 1
			return start, j, esc, true
		case c == '\\':
			esc = true
			if j+1 >= len(b) {
				d.i = j + 1
				return 0, 0, false, d.syntax("unexpected end of input in string escape")
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) || hex4(b[j+2:j+6]) < 0 {
					d.i = j
					return 0, 0, false, d.syntax("invalid \\u escape in string")
				}
				j += 6
			default:
				d.i = j
				return 0, 0, false, d.syntax("invalid escape in string")
			}
		case c < 0x20:
			d.i = j
			return 0, 0, false, d.syntax("control character in string")
		default: // >= 0x80
			high = true
			j++
		}
	}
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unescape appends the decoded form of raw, the checked contents of a JSON
// string, to dst. Surrogates are handled as encoding/json does: a valid
// pair is one rune, anything else is U+FFFD.
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(raw[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2 = hex4(raw[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					i += 6
					r = dec
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}

// lit consumes the literal s (true, false or null).
func (d *decoder) lit(s string) bool {
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return d.syntax("invalid literal, expected " + s)
}

// number checks the number at the current position and moves past it. It
// returns its bytes and whether it is written as an integer (no fraction,
// no exponent).
func (d *decoder) number() (raw []byte, isInt, ok bool) {
	b := d.b
	j := d.i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j >= len(b):
		d.i = j
		return nil, false, d.syntax("unexpected end of input in number")
	case b[j] == '0':
		j++
	case '1' <= b[j] && b[j] <= '9':
		j++
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
	default:
		d.i = j
		return nil, false, d.unexpected("in number")
	}
	isInt = true
	if j < len(b) && b[j] == '.' {
		isInt = false
		j++
		k := j
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		if j == k {
			d.i = j
			return nil, false, d.unexpected("after decimal point in number")
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		isInt = false
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := j
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		if j == k {
			d.i = j
			return nil, false, d.unexpected("in exponent of number")
		}
	}
	raw = b[d.i:j]
	d.i = j
	return raw, isInt, true
}

// skip checks and moves past the value at the current position.
func (d *decoder) skip() bool {
	if d.i >= len(d.b) {
		return d.syntax("unexpected end of input")
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, _, _, ok := d.scanString()
		return ok
	case c == '{':
		if !d.open() {
			return false
		}
		for first := true; d.next(&first); {
			if !d.skip() {
				return false
			}
		}
		return d.syn == nil
	case c == '[':
		if !d.open() {
			return false
		}
		for first := true; d.nextElem(&first); {
			if !d.skip() {
				return false
			}
		}
		return d.syn == nil
	case c == 't':
		return d.lit("true")
	case c == 'f':
		return d.lit("false")
	case c == 'n':
		return d.lit("null")
	case c == '-' || '0' <= c && c <= '9':
		_, _, ok := d.number()
		return ok
	}
	return d.unexpected("looking for beginning of value")
}

// str reads a string field's value. It returns false when the field has
// no value: null, a type error (noted) or a syntax error.
func (d *decoder) str(p path) (text, bool) {
	if d.b[d.i] == '"' {
		start, end, esc, ok := d.scanString()
		return text{start, end, esc}, ok
	}
	if !d.null() {
		d.wrongType(p, "string")
	}
	return text{}, false
}

// integer reads an integer field. A number with a fraction or an exponent
// is wrong_type (as with encoding/json and int64, even 1.0); one outside
// int64 is invalid_value.
func (d *decoder) integer(p path) (int64, bool) {
	c := d.b[d.i]
	if c != '-' && (c < '0' || c > '9') {
		if !d.null() {
			d.wrongType(p, "integer")
		}
		return 0, false
	}
	raw, isInt, ok := d.number()
	if !ok {
		return 0, false
	}
	if !isInt {
		d.note(ReasonWrongType, p, "expected integer, got "+string(raw))
		return 0, false
	}
	v, ok := parseInt(raw)
	if !ok {
		d.note(ReasonInvalidValue, p, "integer "+string(raw)+" out of range")
		return 0, false
	}
	return v, true
}

// parseInt parses a JSON integer (checked syntax) into an int64.
func parseInt(raw []byte) (int64, bool) {
	neg := raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	if len(raw) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range raw {
		u = u*10 + uint64(c-'0') // 19 digits cannot overflow uint64
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true // -(1<<63) wraps to itself, which is right
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// float reads a number field. One beyond float64 is invalid_value.
func (d *decoder) float(p path) (float64, bool) {
	c := d.b[d.i]
	if c != '-' && (c < '0' || c > '9') {
		if !d.null() {
			d.wrongType(p, "number")
		}
		return 0, false
	}
	raw, _, ok := d.number()
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		d.note(ReasonInvalidValue, p, "number "+string(raw)+" out of range")
		return 0, false
	}
	return v, true
}

// timestamp reads an RFC 3339 timestamp field.
func (d *decoder) timestamp(p path) (time.Time, bool) {
	if d.b[d.i] != '"' {
		if !d.null() {
			d.wrongType(p, "RFC 3339 timestamp string")
		}
		return time.Time{}, false
	}
	start, end, esc, ok := d.scanString()
	if !ok {
		return time.Time{}, false
	}
	raw := d.b[start:end]
	if esc {
		var scratch [scratchSize]byte
		raw = unescape(scratch[:0], raw)
	}
	t, err := parseTime(raw)
	if err != nil {
		d.note(ReasonInvalidValue, p, fmt.Sprintf("%q is not an RFC 3339 timestamp", string(raw)))
		return time.Time{}, false
	}
	return t, true
}

// parseTime parses an RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS, an optional
// fraction, then Z or ±HH:MM, with upper-case T and Z. It accepts a subset
// of what time.Time.UnmarshalJSON accepts (which also takes, for instance,
// one-digit hours and offsets of 24 hours and more) and returns the same
// time.Time for it, location included.
func parseTime(b []byte) (time.Time, error) {
	const short = len("2006-01-02T15:04:05")
	if len(b) < short+1 ||
		b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' ||
		!digits(b[0:4]) || !digits(b[5:7]) || !digits(b[8:10]) ||
		!digits(b[11:13]) || !digits(b[14:16]) || !digits(b[17:19]) {
		return time.Time{}, errBadTime
	}
	rest := b[short:]
	if rest[0] == '.' {
		k := 1
		for k < len(rest) && '0' <= rest[k] && rest[k] <= '9' {
			k++
		}
		if k == 1 {
			return time.Time{}, errBadTime
		}
		rest = rest[k:]
	}
	switch {
	case len(rest) == 1 && rest[0] == 'Z':
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
		digits(rest[1:3]) && digits(rest[4:6]) &&
		(rest[1]-'0')*10+rest[2]-'0' < 24 && (rest[4]-'0')*10+rest[5]-'0' < 60:
	default:
		return time.Time{}, errBadTime
	}
	var t time.Time
	if err := t.UnmarshalText(b); err != nil { // range checks: month 13, Feb 30, hour 24, second 60
		return time.Time{}, fmt.Errorf("parse timestamp: %w", err)
	}
	return t, nil
}

var errBadTime = errors.New("not an RFC 3339 date-time")

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
