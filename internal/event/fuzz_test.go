package event

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecode feeds arbitrary bytes to the decoders (seeded with testdata)
// and checks them against encoding/json:
//
//   - no panic, and every error is an *Error with a reason;
//   - malformed_json exactly when the input is not a well-formed UTF-8 JSON
//     text (encoding/json replaces invalid UTF-8; the decoders reject it);
//   - an accepted record is what encoding/json decodes from it, unless a key
//     differs from a field name only in case (encoding/json matches such
//     keys, the decoders and schemas do not);
//   - an accepted record re-encoded by encoding/json decodes to itself;
//   - wrong_type only where encoding/json also fails, except for a null
//     element of a list, which encoding/json decodes to a zero value.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"valid", "invalid", "stricter", "context"} {
		for _, ex := range examples(f, dir) {
			f.Add(uint8(ex.typ-TypeSale), ex.data)
		}
	}
	f.Fuzz(func(t *testing.T, typ uint8, b []byte) {
		et := types[int(typ)%len(types)]
		v, err := Decode(et, b)
		reason := ReasonOf(err)
		if err != nil && reason == "" {
			t.Fatalf("error without reason: %v", err)
		}
		if wellFormed := utf8.Valid(b) && json.Valid(b); wellFormed == (reason == ReasonMalformedJSON) {
			t.Fatalf("json.Valid && utf8.Valid = %v, but decoder says %v", wellFormed, err)
		}
		if err != nil {
			var e *Error
			if reason == ReasonWrongType && errors.As(err, &e) && !strings.HasSuffix(e.Msg, "got null") {
				if jerr := json.Unmarshal(b, newEvent(et)); jerr == nil {
					t.Fatalf("decoder says %v, encoding/json accepts", err)
				}
			}
			return
		}
		want, keys, jerr := reference(et, b)
		if !caseVariant(keys) {
			if jerr != nil {
				t.Fatalf("decoder accepts, encoding/json: %v", jerr)
			}
			if !sameEvent(v, want) {
				t.Fatalf("decoder\n%+v\nencoding/json\n%+v", v, want)
			}
		}
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("encoding/json cannot encode %+v: %v", v, err)
		}
		again, err := Decode(et, enc)
		if err != nil {
			t.Fatalf("re-encoded %s: %v", enc, err)
		}
		if !sameEvent(v, again) {
			t.Fatalf("round trip\n%+v\n%+v", v, again)
		}
	})
}
