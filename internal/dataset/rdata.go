package dataset

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// This file reads R's save format (.rda / .RData), as far as the tiny M5
// subset of the CRAN package m5 (data/tiny_m5.rda) needs: a gzip- or
// bzip2-compressed (or uncompressed) "RDX2"/"RDX3" file in the XDR
// serialization, versions 2 and 3 (R's serialize.c), whose objects are
// vectors, lists, pairlists, attributes (factors, classes, data frames and
// data.tables, whose external pointer is skipped), environments by
// reference and the common ALTREP classes. Closures, byte code and the
// ASCII and native-binary forms are not supported: such a file is an
// error, never a wrong table.

// ErrRData is wrapped by the errors for R data this reader cannot decode.
var ErrRData = errors.New("dataset: unsupported or malformed R data")

// SEXP types (R's Rinternals.h) and the serialization's pseudo-types.
const (
	rNil      = 0
	rSym      = 1
	rList     = 2
	rClo      = 3
	rEnv      = 4
	rProm     = 5
	rLang     = 6
	rSpecial  = 7
	rBuiltin  = 8
	rChar     = 9
	rLgl      = 10
	rInt      = 13
	rReal     = 14
	rCplx     = 15
	rStr      = 16
	rDot      = 17
	rVec      = 19
	rExpr     = 20
	rBCode    = 21
	rExtPtr   = 22
	rWeakRef  = 23
	rRaw      = 24
	rS4       = 25
	rAltRep   = 238
	rAttrList = 239
	rAttrLang = 240
	rBaseEnv  = 241
	rEmptyEnv = 242
	rBCRepRef = 243
	rBCRepDef = 244
	rGenRef   = 245
	rClassRef = 246
	rPersist  = 247
	rPackage  = 248
	rNSpace   = 249
	rBaseNS   = 250
	rMissing  = 251
	rUnbound  = 252
	rGlobal   = 253
	rNilValue = 254
	rRef      = 255
)

// rNAInt is R's NA_integer_ (and NA for logicals).
const rNAInt = math.MinInt32

// rObject is one decoded R object. Only the fields of its type are set.
type rObject struct {
	typ   int
	attrs *rObject // a pairlist, or nil
	// ints: integer and logical vectors; reals: double vectors; strs:
	// character vectors and CHARSXP (one element; NA is na[i]).
	ints  []int32
	reals []float64
	strs  []string
	na    []bool
	// elems: list elements, pairlist values; tags: pairlist tags ("" when
	// untagged).
	elems []*rObject
	tags  []string
	// sym is a symbol's name.
	sym string
}

// attr returns the attribute name of o, or nil.
func (o *rObject) attr(name string) *rObject {
	if o == nil || o.attrs == nil {
		return nil
	}
	for i, t := range o.attrs.tags {
		if t == name {
			return o.attrs.elems[i]
		}
	}
	return nil
}

// hasClass reports whether o's class attribute includes class.
func (o *rObject) hasClass(class string) bool {
	c := o.attr("class")
	if c == nil {
		return false
	}
	for _, s := range c.strs {
		if s == class {
			return true
		}
	}
	return false
}

// names returns the names attribute of o.
func (o *rObject) names() []string {
	if n := o.attr("names"); n != nil {
		return n.strs
	}
	return nil
}

// readRData decodes an R save file into its objects, by name.
func readRData(raw []byte) (map[string]*rObject, error) {
	r, err := decompressR(raw)
	if err != nil {
		return nil, err
	}
	magic := make([]byte, 5)
	if _, err := io.ReadFull(r, magic); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrRData, err)
	}
	switch string(magic) {
	case "RDX2\n", "RDX3\n":
	case "RDA2\n", "RDA3\n", "RDB2\n", "RDB3\n":
		return nil, fmt.Errorf("%w: %q is an ASCII or native-binary save; only XDR is supported", ErrRData, magic[:4])
	default:
		return nil, fmt.Errorf("%w: not an R save file (starts %q)", ErrRData, magic)
	}
	p := &rReader{r: r}
	top, err := p.header()
	if err != nil {
		return nil, err
	}
	if top == nil {
		return map[string]*rObject{}, nil
	}
	if top.typ != rList {
		return nil, fmt.Errorf("%w: the saved objects are a %d, not a pairlist", ErrRData, top.typ)
	}
	out := make(map[string]*rObject, len(top.elems))
	for i, t := range top.tags {
		out[t] = top.elems[i]
	}
	return out, nil
}

// decompressR recognises gzip, bzip2 and uncompressed saves; R's xz saves
// need an xz decoder the standard library lacks.
func decompressR(raw []byte) (*bufio.Reader, error) {
	switch {
	case bytes.HasPrefix(raw, []byte{0x1f, 0x8b}):
		z, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %w", ErrRData, err)
		}
		return bufio.NewReader(z), nil
	case bytes.HasPrefix(raw, []byte("BZh")):
		return bufio.NewReader(bzip2.NewReader(bytes.NewReader(raw))), nil
	case bytes.HasPrefix(raw, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return nil, fmt.Errorf("%w: xz-compressed; re-save it with gzip or bzip2 compression (R: tools::resaveRdaFiles(path, compress = \"bzip2\"))", ErrRData)
	}
	return bufio.NewReader(bytes.NewReader(raw)), nil
}

// rReader decodes the XDR serialization.
type rReader struct {
	r    *bufio.Reader
	refs []*rObject
}

// header reads the serialization header and returns the top object.
func (p *rReader) header() (*rObject, error) {
	format := make([]byte, 2)
	if _, err := io.ReadFull(p.r, format); err != nil {
		return nil, fmt.Errorf("%w: format: %w", ErrRData, err)
	}
	if string(format) != "X\n" {
		return nil, fmt.Errorf("%w: serialization format %q, want XDR", ErrRData, format)
	}
	version, err := p.int()
	if err != nil {
		return nil, err
	}
	if _, err := p.int(); err != nil { // the writer's R version
		return nil, err
	}
	if _, err := p.int(); err != nil { // the oldest R that reads it
		return nil, err
	}
	switch version {
	case 2:
	case 3:
		n, err := p.int()
		if err != nil {
			return nil, err
		}
		if _, err := p.bytes(int(n)); err != nil { // native encoding
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: serialization version %d", ErrRData, version)
	}
	return p.item()
}

func (p *rReader) int() (int32, error) {
	var b [4]byte
	if _, err := io.ReadFull(p.r, b[:]); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrRData, err)
	}
	return int32(binary.BigEndian.Uint32(b[:])), nil
}

func (p *rReader) bytes(n int) ([]byte, error) {
	if n < 0 || n > 1<<30 {
		return nil, fmt.Errorf("%w: length %d", ErrRData, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(p.r, b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRData, err)
	}
	return b, nil
}

// length reads a vector length (long vectors are -1, then two words).
func (p *rReader) length() (int, error) {
	n, err := p.int()
	if err != nil {
		return 0, err
	}
	if n >= 0 {
		return int(n), nil
	}
	if n != -1 {
		return 0, fmt.Errorf("%w: length %d", ErrRData, n)
	}
	hi, err := p.int()
	if err != nil {
		return 0, err
	}
	lo, err := p.int()
	if err != nil {
		return 0, err
	}
	l := int64(hi)<<32 | int64(uint32(lo))
	if l > 1<<31 {
		return 0, fmt.Errorf("%w: long vector of %d elements", ErrRData, l)
	}
	return int(l), nil
}

func (p *rReader) item() (*rObject, error) {
	flags, err := p.int()
	if err != nil {
		return nil, err
	}
	return p.itemWith(flags)
}

// itemWith reads the object whose flags word has been read.
func (p *rReader) itemWith(flags int32) (*rObject, error) {
	typ := int(flags & 0xff)
	hasAttr := flags&(1<<9) != 0
	switch typ {
	case rNilValue:
		return nil, nil
	case rEmptyEnv, rBaseEnv, rGlobal, rUnbound, rMissing, rBaseNS:
		return &rObject{typ: typ}, nil
	case rRef:
		i := int(flags >> 8)
		if i == 0 {
			n, err := p.int()
			if err != nil {
				return nil, err
			}
			i = int(n)
		}
		if i < 1 || i > len(p.refs) {
			return nil, fmt.Errorf("%w: reference %d of %d", ErrRData, i, len(p.refs))
		}
		return p.refs[i-1], nil
	case rPersist, rPackage, rNSpace:
		o := &rObject{typ: typ}
		if _, err := p.int(); err != nil { // always 0
			return nil, err
		}
		n, err := p.length()
		if err != nil {
			return nil, err
		}
		for range n {
			s, err := p.item()
			if err != nil {
				return nil, err
			}
			o.strs = append(o.strs, s.str())
		}
		p.refs = append(p.refs, o)
		return o, nil
	case rSym:
		o := &rObject{typ: rSym}
		p.refs = append(p.refs, o)
		name, err := p.item()
		if err != nil {
			return nil, err
		}
		o.sym = name.str()
		return o, nil
	case rEnv:
		o := &rObject{typ: rEnv}
		if _, err := p.int(); err != nil { // locked
			return nil, err
		}
		p.refs = append(p.refs, o)
		for range 4 { // enclosure, frame, hash table, attributes
			if _, err := p.item(); err != nil {
				return nil, err
			}
		}
		return o, nil
	case rList, rLang, rClo, rProm, rDot, rAttrList, rAttrLang:
		return p.pairlist(flags)
	case rExtPtr:
		o := &rObject{typ: rExtPtr}
		p.refs = append(p.refs, o)
		for range 2 { // protected value, tag
			if _, err := p.item(); err != nil {
				return nil, err
			}
		}
		return o, p.attributes(o, hasAttr)
	case rWeakRef:
		o := &rObject{typ: rWeakRef}
		p.refs = append(p.refs, o)
		return o, p.attributes(o, hasAttr)
	case rSpecial, rBuiltin:
		n, err := p.int()
		if err != nil {
			return nil, err
		}
		name, err := p.bytes(int(n))
		if err != nil {
			return nil, err
		}
		o := &rObject{typ: typ, sym: string(name)}
		return o, p.attributes(o, hasAttr)
	case rChar:
		n, err := p.int()
		if err != nil {
			return nil, err
		}
		if n == -1 {
			return &rObject{typ: rChar, strs: []string{""}, na: []bool{true}}, nil
		}
		b, err := p.bytes(int(n))
		if err != nil {
			return nil, err
		}
		return &rObject{typ: rChar, strs: []string{string(b)}, na: []bool{false}}, nil
	case rLgl, rInt:
		n, err := p.length()
		if err != nil {
			return nil, err
		}
		b, err := p.bytes(4 * n)
		if err != nil {
			return nil, err
		}
		o := &rObject{typ: typ, ints: make([]int32, n)}
		for i := range o.ints {
			o.ints[i] = int32(binary.BigEndian.Uint32(b[4*i:]))
		}
		return o, p.attributes(o, hasAttr)
	case rReal, rCplx:
		n, err := p.length()
		if err != nil {
			return nil, err
		}
		if typ == rCplx {
			n *= 2
		}
		b, err := p.bytes(8 * n)
		if err != nil {
			return nil, err
		}
		o := &rObject{typ: typ, reals: make([]float64, n)}
		for i := range o.reals {
			o.reals[i] = math.Float64frombits(binary.BigEndian.Uint64(b[8*i:]))
		}
		return o, p.attributes(o, hasAttr)
	case rStr:
		n, err := p.length()
		if err != nil {
			return nil, err
		}
		o := &rObject{typ: rStr, strs: make([]string, n), na: make([]bool, n)}
		for i := range n {
			c, err := p.item()
			if err != nil {
				return nil, err
			}
			if c == nil || c.typ != rChar {
				return nil, fmt.Errorf("%w: string element is not a CHARSXP", ErrRData)
			}
			o.strs[i], o.na[i] = c.strs[0], c.na[0]
		}
		return o, p.attributes(o, hasAttr)
	case rVec, rExpr:
		n, err := p.length()
		if err != nil {
			return nil, err
		}
		o := &rObject{typ: typ, elems: make([]*rObject, n)}
		for i := range n {
			if o.elems[i], err = p.item(); err != nil {
				return nil, err
			}
		}
		return o, p.attributes(o, hasAttr)
	case rRaw:
		n, err := p.length()
		if err != nil {
			return nil, err
		}
		if _, err := p.bytes(n); err != nil {
			return nil, err
		}
		o := &rObject{typ: rRaw}
		return o, p.attributes(o, hasAttr)
	case rS4:
		o := &rObject{typ: rS4}
		return o, p.attributes(o, hasAttr)
	case rAltRep:
		return p.altrep()
	case rNil:
		return nil, nil
	}
	return nil, fmt.Errorf("%w: object type %d", ErrRData, typ)
}

// attributes reads o's attribute pairlist when the flags said it has one.
func (p *rReader) attributes(o *rObject, has bool) error {
	if !has {
		return nil
	}
	a, err := p.item()
	if err != nil {
		return err
	}
	o.attrs = a
	return nil
}

// pairlist reads a pairlist (or call, closure, promise) iteratively: each
// cell is [attributes] [tag] value, then the next cell's flags.
func (p *rReader) pairlist(flags int32) (*rObject, error) {
	o := &rObject{typ: rList}
	for {
		typ := int(flags & 0xff)
		if flags&(1<<9) != 0 {
			a, err := p.item()
			if err != nil {
				return nil, err
			}
			if len(o.elems) == 0 {
				o.attrs = a
			}
		}
		tag := ""
		if flags&(1<<10) != 0 {
			t, err := p.item()
			if err != nil {
				return nil, err
			}
			if t != nil {
				tag = t.sym
			}
		}
		v, err := p.item()
		if err != nil {
			return nil, err
		}
		o.elems = append(o.elems, v)
		o.tags = append(o.tags, tag)
		if flags, err = p.int(); err != nil {
			return nil, err
		}
		switch next := int(flags & 0xff); {
		case next == rNilValue:
			return o, nil
		case next == typ && (typ == rList || typ == rAttrList):
			continue
		default:
			// The rest is another object (a closure's body, a call's
			// arguments): read it whole and keep it as the last value.
			rest, err := p.itemWith(flags)
			if err != nil {
				return nil, err
			}
			o.elems = append(o.elems, rest)
			o.tags = append(o.tags, "")
			return o, nil
		}
	}
}

// altrep reads an ALTREP object (class info, state, attributes) and
// expands the classes R writes for data: compact integer and real
// sequences, wrappers, and deferred strings.
func (p *rReader) altrep() (*rObject, error) {
	info, err := p.item()
	if err != nil {
		return nil, err
	}
	state, err := p.item()
	if err != nil {
		return nil, err
	}
	attrs, err := p.item()
	if err != nil {
		return nil, err
	}
	if info == nil || len(info.elems) == 0 || info.elems[0] == nil {
		return nil, fmt.Errorf("%w: ALTREP without a class", ErrRData)
	}
	class := info.elems[0].sym
	var o *rObject
	switch class {
	case "compact_intseq", "compact_realseq":
		if state == nil || len(state.reals) != 3 {
			return nil, fmt.Errorf("%w: %s state", ErrRData, class)
		}
		n, from, by := int(state.reals[0]), state.reals[1], state.reals[2]
		if n < 0 || n > 1<<31 {
			return nil, fmt.Errorf("%w: %s of %d elements", ErrRData, class, n)
		}
		if class == "compact_intseq" {
			o = &rObject{typ: rInt, ints: make([]int32, n)}
			for i := range o.ints {
				o.ints[i] = int32(from + float64(i)*by)
			}
		} else {
			o = &rObject{typ: rReal, reals: make([]float64, n)}
			for i := range o.reals {
				o.reals[i] = from + float64(i)*by
			}
		}
	case "wrap_integer", "wrap_logical", "wrap_real", "wrap_string", "wrap_complex", "wrap_raw", "wrap_list":
		if state == nil || len(state.elems) == 0 || state.elems[0] == nil {
			return nil, fmt.Errorf("%w: %s state", ErrRData, class)
		}
		c := *state.elems[0]
		o = &c
	case "deferred_string":
		// The state is a pairlist whose value is the vector to format.
		if state == nil || len(state.elems) == 0 || state.elems[0] == nil {
			return nil, fmt.Errorf("%w: %s state", ErrRData, class)
		}
		v := state.elems[0]
		o = &rObject{typ: rStr}
		switch {
		case v.ints != nil:
			for _, x := range v.ints {
				o.strs = append(o.strs, fmt.Sprint(x))
				o.na = append(o.na, x == rNAInt)
			}
		case v.reals != nil:
			for _, x := range v.reals {
				o.strs = append(o.strs, formatR(x))
				o.na = append(o.na, math.IsNaN(x))
			}
		default:
			return nil, fmt.Errorf("%w: deferred string of type %d", ErrRData, v.typ)
		}
	default:
		return nil, fmt.Errorf("%w: ALTREP class %q", ErrRData, class)
	}
	o.attrs = attrs
	return o, nil
}

// formatR prints a double as R's as.character does: at most 15
// significant digits, in fixed notation unless scientific is shorter.
func formatR(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	sci := strconv.FormatFloat(x, 'e', 14, 64)
	mant, exp, _ := strings.Cut(sci, "e")
	if strings.Contains(mant, ".") {
		mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
	}
	sci = mant + "e" + exp
	rounded, err := strconv.ParseFloat(sci, 64)
	if err != nil {
		return sci
	}
	if fixed := strconv.FormatFloat(rounded, 'f', -1, 64); len(fixed) <= len(sci) {
		return fixed
	}
	return sci
}

// str returns a CHARSXP's string ("" for nil or NA).
func (o *rObject) str() string {
	if o == nil || len(o.strs) == 0 {
		return ""
	}
	return o.strs[0]
}
