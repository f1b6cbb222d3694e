package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
)

var seed = flag.Uint64("seed", 1, "seed of the random events in the differential tests")

func newRand(t testing.TB) *rand.Rand {
	t.Helper()
	t.Logf("seed %d", *seed)
	return rand.New(rand.NewPCG(*seed, 0x5eed))
}

// canonical re-encodes a JSON text through encoding/json's generic decoder:
// escapes are resolved, numbers kept as written, and duplicate keys
// collapsed (the last wins). encoding/json decodes the result the way it
// should have decoded the original: time.Time's UnmarshalJSON does not
// resolve escapes (go.dev/issue/47353), and encoding/json reports type
// errors of duplicate keys that lose. keys are all object keys seen.
func canonical(b []byte) (out []byte, keys []string, err error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, nil, err
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				keys = append(keys, k)
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	out, err = json.Marshal(v)
	return out, keys, err
}

// fieldNames are the JSON names of all fields of all events.
var fieldNames = func() map[string]bool {
	m := make(map[string]bool)
	for _, v := range []any{Sale{}, Stock{}, Order{}, OrderLine{}, Address{}, Campaign{}} {
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			m[name] = true
		}
	}
	return m
}()

// caseVariant reports whether a key differs from a field name only in case
// (encoding/json matches such keys; the decoders and the schemas do not).
func caseVariant(keys []string) bool {
	for _, k := range keys {
		if fieldNames[k] {
			continue
		}
		for f := range fieldNames {
			if strings.EqualFold(k, f) {
				return true
			}
		}
	}
	return false
}

// reference decodes b with encoding/json, via canonical.
func reference(typ Type, b []byte) (any, []string, error) {
	c, keys, err := canonical(b)
	if err != nil {
		return nil, nil, err
	}
	v := newEvent(typ)
	if err := json.Unmarshal(c, v); err != nil {
		return nil, keys, err
	}
	return v, keys, nil
}

// TestDecodeValidMatchesEncodingJSON decodes every valid example with the
// decoder and with encoding/json and compares.
func TestDecodeValidMatchesEncodingJSON(t *testing.T) {
	for _, ex := range examples(t, "valid") {
		t.Run(ex.name, func(t *testing.T) {
			got, err := Decode(ex.typ, ex.data)
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := reference(ex.typ, ex.data)
			if err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			if !sameEvent(got, want) {
				t.Errorf("decoded\n%+v\nencoding/json\n%+v", got, want)
			}
		})
	}
}

// TestDecodeDifferential decodes random valid events, marshaled by
// encoding/json in several layouts, with the decoder and encoding/json.
func TestDecodeDifferential(t *testing.T) {
	r := newRand(t)
	layouts := []struct {
		name string
		enc  func(v any) ([]byte, error)
	}{
		{"encode", Encode},
		{"indent", func(v any) ([]byte, error) { return json.MarshalIndent(v, "\r\n", "\t ") }},
		{"ascii_only", func(v any) ([]byte, error) {
			b, err := json.Marshal(v)
			return asciiOnly(b), err
		}},
		{"no_html_escape", func(v any) ([]byte, error) {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			err := enc.Encode(v) // with a trailing newline
			return buf.Bytes(), err
		}},
	}
	n := 2000
	if testing.Short() {
		n = 200
	}
	for _, typ := range types {
		for _, l := range layouts {
			t.Run(typ.String()+"/"+l.name, func(t *testing.T) {
				for range n {
					orig := gen(r, typ)
					b, err := l.enc(orig)
					if err != nil {
						t.Fatal(err)
					}
					got, err := Decode(typ, b)
					if err != nil {
						t.Fatalf("decode %s: %v", b, err)
					}
					if !sameEvent(got, orig) {
						t.Fatalf("decode %s\ngot  %+v\nwant %+v", b, got, orig)
					}
					want := newEvent(typ)
					if err := json.Unmarshal(b, want); err != nil {
						t.Fatalf("encoding/json %s: %v", b, err)
					}
					if !sameEvent(got, want) {
						t.Fatalf("decode %s\ngot           %+v\nencoding/json %+v", b, got, want)
					}
				}
			})
		}
	}
}

// TestDecodeErrors pins the reason and the field path of errors.
func TestDecodeErrors(t *testing.T) {
	const (
		sale  = `"event_id":"e","ts":"2025-06-01T00:00:00Z","sku":"S","warehouse":"W","qty":1,"channel":"c","unit_price":1,"currency":"EUR"`
		stock = `"event_id":"e","ts":"2025-06-01T00:00:00Z","sku":"S","warehouse":"W"`
		order = `"event_id":"e","ts":"2025-06-01T00:00:00Z","order_id":"o","service_level":"x","promised_by":"2025-06-02T00:00:00Z"`
		ship  = `"ship_to":{"postal_code":"1","country":"DE","lat":1,"lon":2}`
		camp  = `"event_id":"e","ts":"2025-06-01T00:00:00Z","campaign_id":"c","start":"2025-06-01T00:00:00Z","end":"2025-06-02T00:00:00Z","expected_uplift":0.1`
	)
	tests := []struct {
		name   string
		typ    Type
		in     string
		reason Reason
		field  string
	}{
		{"sale ok", TypeSale, `{` + sale + `}`, "", ""},
		{"syntax wins over earlier type error", TypeSale, `{"qty":"x",` + sale + `,}`, ReasonMalformedJSON, ""},
		{"first type error in document order", TypeSale, `{"currency":1,"qty":"x",` + sale + `}`, ReasonWrongType, "currency"},
		{"type error wins over missing field", TypeSale, `{"qty":"1"}`, ReasonWrongType, "qty"},
		{"missing in declaration order", TypeSale, `{"currency":"EUR","sku":"S"}`, ReasonMissingField, "event_id"},
		{"missing wins over value", TypeSale, `{"event_id":"","qty":-1}`, ReasonMissingField, "ts"},
		{"value in declaration order", TypeSale, `{` + sale + `,"qty":-1,"sku":""}`, ReasonInvalidValue, "sku"},
		{"top-level not object", TypeSale, `"sale"`, ReasonWrongType, ""},
		{"null record", TypeSale, `null`, ReasonWrongType, ""},
		{"qty exponent", TypeSale, `{` + sale + `,"qty":1e3}`, ReasonWrongType, "qty"},
		{"qty min int64 is negative", TypeSale, `{` + sale + `,"qty":-9223372036854775808}`, ReasonNegativeQty, "qty"},
		{"qty below min int64", TypeSale, `{` + sale + `,"qty":-9223372036854775809}`, ReasonInvalidValue, "qty"},
		{"negative zero qty", TypeSale, `{` + sale + `,"qty":-0}`, ReasonNegativeQty, "qty"},
		{"null then value", TypeSale, `{"ts":null,` + sale + `}`, "", ""},
		{"value then null keeps value", TypeSale, `{` + sale + `,"ts":null}`, "", ""},
		{"bad timestamp in losing duplicate", TypeSale, `{"ts":"x",` + sale + `}`, ReasonInvalidValue, "ts"},
		{"case-different key is unknown", TypeSale, `{` + sale + `,"QTY":-1,"Currency":"x"}`, "", ""},
		{"stock kind bad", TypeStock, `{` + stock + `,"kind":"gift","qty":1}`, ReasonInvalidValue, "kind"},
		{"stock kind after qty", TypeStock, `{` + stock + `,"qty":-1,"kind":"count"}`, ReasonNegativeQty, "qty"},
		{"stock adjustment zero", TypeStock, `{` + stock + `,"qty":0,"kind":"adjustment"}`, ReasonInvalidValue, "qty"},
		{"stock transfer_in zero", TypeStock, `{` + stock + `,"qty":0,"kind":"transfer_in"}`, ReasonNegativeQty, "qty"},
		{"order ok", TypeOrder, `{` + order + `,"lines":[{"sku":"a","qty":1}],` + ship + `}`, "", ""},
		{"order line sku missing", TypeOrder, `{` + order + `,"lines":[{"sku":"a","qty":1},{"qty":1}],` + ship + `}`, ReasonMissingField, "lines[1].sku"},
		{"order line type", TypeOrder, `{` + order + `,"lines":[{"sku":"a","qty":1},{"sku":"b","qty":1.5}],` + ship + `}`, ReasonWrongType, "lines[1].qty"},
		{"order line not object", TypeOrder, `{` + order + `,"lines":[{"sku":"a","qty":1},[]],` + ship + `}`, ReasonWrongType, "lines[1]"},
		{"order line qty", TypeOrder, `{` + order + `,"lines":[{"sku":"a","qty":1},{"sku":"b","qty":0}],` + ship + `}`, ReasonNegativeQty, "lines[1].qty"},
		{"order lines last wins", TypeOrder, `{` + order + `,"lines":[{"qty":1}],"lines":[{"sku":"a","qty":1}],` + ship + `}`, "", ""},
		{"order lines null clears", TypeOrder, `{` + order + `,"lines":[{"sku":"a","qty":1}],"lines":null,` + ship + `}`, ReasonMissingField, "lines"},
		{"ship_to field missing", TypeOrder, `{` + order + `,"lines":[{"sku":"a","qty":1}],"ship_to":{"postal_code":"1","country":"DE","lat":1}}`, ReasonMissingField, "ship_to.lon"},
		{"ship_to replaced not merged", TypeOrder, `{` + order + `,"lines":[{"sku":"a","qty":1}],` + ship + `,"ship_to":{"lon":3}}`, ReasonMissingField, "ship_to.postal_code"},
		{"ship_to lat type", TypeOrder, `{` + order + `,"lines":[{"sku":"a","qty":1}],"ship_to":{"postal_code":"1","country":"DE","lat":true,"lon":2}}`, ReasonWrongType, "ship_to.lat"},
		{"ship_to country", TypeOrder, `{` + order + `,"lines":[{"sku":"a","qty":1}],"ship_to":{"postal_code":"1","country":"DEU","lat":1,"lon":2}}`, ReasonInvalidValue, "ship_to.country"},
		{"campaign skus", TypeCampaign, `{` + camp + `,"skus":["a"]}`, "", ""},
		{"campaign neither", TypeCampaign, `{` + camp + `}`, ReasonMissingField, "skus"},
		{"campaign sku item type", TypeCampaign, `{` + camp + `,"skus":["a",1]}`, ReasonWrongType, "skus[1]"},
		{"campaign region item empty", TypeCampaign, `{` + camp + `,"category":"x","regions":["a",""]}`, ReasonInvalidValue, "regions[1]"},
		{"campaign warehouses empty", TypeCampaign, `{` + camp + `,"category":"x","warehouses":[]}`, ReasonInvalidValue, "warehouses"},
		{"campaign list null clears", TypeCampaign, `{` + camp + `,"skus":["a"],"skus":null}`, ReasonMissingField, "skus"},
		{"campaign end before start", TypeCampaign, `{` + camp + `,"skus":["a"],"end":"2025-05-31T00:00:00Z"}`, ReasonInvalidValue, "end"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.typ, []byte(tc.in))
			if got := ReasonOf(err); got != tc.reason {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.reason)
			}
			var e *Error
			if tc.reason == "" || !errors.As(err, &e) {
				return
			}
			if e.Field != tc.field {
				t.Errorf("error %v: field %q, want %q", err, e.Field, tc.field)
			}
		})
	}
}

// TestDecodeLeavesTargetOnError checks that a failed decode does not write.
func TestDecodeLeavesTargetOnError(t *testing.T) {
	for _, ex := range examples(t, "invalid") {
		if ex.typ != TypeSale {
			continue
		}
		t.Run(ex.name, func(t *testing.T) {
			s := Sale{EventID: "keep", Qty: 7}
			if err := DecodeSale(ex.data, &s); err == nil {
				t.Fatal("no error")
			}
			if s != (Sale{EventID: "keep", Qty: 7}) {
				t.Errorf("target written on error: %+v", s)
			}
		})
	}
}

// TestDecodeCopiesStrings checks that decoded strings do not alias the
// input, which consumers reuse.
func TestDecodeCopiesStrings(t *testing.T) {
	b, err := os.ReadFile("testdata/valid/sale/with_order_id.json")
	if err != nil {
		t.Fatal(err)
	}
	var s Sale
	if err := DecodeSale(b, &s); err != nil {
		t.Fatal(err)
	}
	want := s
	for i := range b {
		b[i] = 'x'
	}
	if s != want {
		t.Errorf("decoded strings changed with the input: %+v", s)
	}
}

// TestSyntaxMatchesEncodingJSON checks the scanner against json.Valid on
// tricky texts: every well-formed UTF-8 JSON text is past the syntax check
// and everything else is malformed_json.
func TestSyntaxMatchesEncodingJSON(t *testing.T) {
	tests := []struct{ name, in string }{
		{"depth limit", `{"x":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `}`},
		{"depth limit exceeded", `{"x":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`},
		{"objects at depth limit", `{"x":` + strings.Repeat(`{"a":`, maxDepth-1) + `0` + strings.Repeat("}", maxDepth-1) + `}`},
		{"objects over depth limit", `{"x":` + strings.Repeat(`{"a":`, maxDepth) + `0` + strings.Repeat("}", maxDepth) + `}`},
		{"numbers", `{"a":[0,-0,1.5,-1.5e-7,1E+2,0.0e0,123456789012345678901234567890]}`},
		{"bad number plus", `{"a":+1}`},
		{"bad number dot", `{"a":1.}`},
		{"bad number exp", `{"a":1e}`},
		{"bad number leading dot", `{"a":.5}`},
		{"bad number hex", `{"a":0x10}`},
		{"literals", `{"a":[true,false,null]}`},
		{"bad literal", `{"a":True}`},
		{"truncated literal", `{"a":tru`},
		{"escapes", `{"a":"\"\\\/\b\f\n\r\t\u0000\uD834\uDD1E\uDEAD\uD800x"}`},
		{"bad escape", `{"a":"\x"}`},
		{"short unicode escape", `{"a":"\u12"}`},
		{"raw tab", "{\"a\":\"\t\"}"},
		{"raw DEL", "{\"a\":\"\x7f\"}"},
		{"key not string", `{a:1}`},
		{"missing comma", `{"a":1 "b":2}`},
		{"empty key", `{"":1}`},
		{"trailing comma array", `{"a":[1,]}`},
		{"empty array and object", `{"a":[],"b":{}}`},
		{"nested empty", `{"a":[[],{},[{}]]}`},
		{"whitespace", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n"},
		{"vertical tab", "{\"a\":1}\v"},
		{"nbsp", "{\"a\":1}\u00a0"},
		{"bom", "\ufeff{}"},
		{"only whitespace", "  "},
		{"close without open", `}`},
		{"unclosed", `{"a":1`},
		{"unclosed string", `{"a":"1`},
		{"backslash at end", `{"a":"\`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := DecodeCampaign([]byte(tc.in), new(Campaign))
			if malformed, valid := ReasonOf(err) == ReasonMalformedJSON, json.Valid([]byte(tc.in)); malformed == valid {
				t.Errorf("json.Valid %v, decoder: %v", valid, err)
			}
		})
	}
}

// TestUnescape compares string decoding with encoding/json on every escape
// form: random strings written with \u escapes only, and lone and
// mismatched surrogates.
func TestUnescape(t *testing.T) {
	r := newRand(t)
	var cases []string
	for range 2000 {
		s := genString(r)
		b, _ := json.Marshal(s)
		cases = append(cases, string(asciiOnly(b)))
	}
	cases = append(cases,
		`"\ud800"`, `"\udc00"`, `"\ud800\ud800"`, `"\ud800\u0041"`, `"\ud800x"`, `"\udbff\udfff"`,
		`"\uD83D\uDE00\uD83D"`, `"a\u0000b"`, `"\u00e9\u20ac"`, `"\/\"\\"`, `"\ud800\\"`,
	)
	for _, c := range cases {
		var want string
		if err := json.Unmarshal([]byte(c), &want); err != nil {
			t.Fatalf("encoding/json %s: %v", c, err)
		}
		d := decoder{b: []byte(c)}
		x, ok := d.str(field("x"))
		if !ok || d.syn != nil || d.i != len(c) {
			t.Fatalf("decode %s: %v", c, d.syn)
		}
		a := arena{in: d.b}
		a.add(&x)
		if got, own := x.of(a.sb.String()), d.own(text{1, len(c) - 1, true}); got != want || own != want {
			t.Errorf("decode %s = %q and %q, want %q", c, got, own, want)
		}
	}
}

// benchDecode compares a decoder with encoding/json on one record, both
// decoding into a reused, zeroed value.
func benchDecode[T any](b *testing.B, file string, decode func([]byte, *T) error) {
	data, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	data, err = compact(data)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("stockflow", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var v T
		for b.Loop() {
			if err := decode(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var v T
		for b.Loop() {
			var zero T
			v = zero
			if err := json.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func compact(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	err := json.Compact(&buf, b)
	return buf.Bytes(), err
}

// BenchmarkDecodeSale compares the decoder with encoding/json on a typical
// sale: the numbers to compare are in one run, as ratios.
func BenchmarkDecodeSale(b *testing.B) {
	benchDecode(b, "testdata/valid/sale/with_order_id.json", DecodeSale)
}

// BenchmarkDecodeStock is BenchmarkDecodeSale for a stock movement.
func BenchmarkDecodeStock(b *testing.B) {
	benchDecode(b, "testdata/valid/stock/receipt.json", DecodeStock)
}

// BenchmarkDecodeOrder is BenchmarkDecodeSale for a two-line order.
func BenchmarkDecodeOrder(b *testing.B) {
	benchDecode(b, "testdata/valid/order/basic.json", DecodeOrder)
}

// BenchmarkDecodeCampaign is BenchmarkDecodeSale for a campaign.
func BenchmarkDecodeCampaign(b *testing.B) {
	benchDecode(b, "testdata/valid/campaign/skus_and_category_warehouses.json", DecodeCampaign)
}
