package report_test

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stockflow/stockflow/dashboards/dashtest"
	"github.com/stockflow/stockflow/dashboards/report"
)

var engine *dashtest.Engine

func TestMain(m *testing.M) {
	engine = dashtest.Open()
	code := m.Run()
	engine.Close()
	os.Exit(code)
}

// TestRender renders the report from the apitest data set and decodes
// every chart.
func TestRender(t *testing.T) {
	st := engine.Store(t)
	out := filepath.Join(t.TempDir(), "report")
	res, err := report.Render(t.Context(), st, report.Options{Out: out})

	if err != nil {
		t.Fatal(err)
	}
	// The clock comes from the data: the latest stock event.
	if want := time.Date(2026, 1, 16, 0, 0, 0, 0, time.UTC); !res.From.Equal(want.AddDate(0, 0, -30)) || !res.To.Equal(want.AddDate(0, 0, 14)) {
		t.Errorf("range %v..%v, want it anchored on the latest stock event %v", res.From, res.To, want)
	}
	want := []string{"stock_by_warehouse.png", "forecast_A_W1.png", "forecast_A_W2.png", "projected_stockouts.png", "routing_costs.png"}
	var got []string
	for _, c := range res.Charts {
		got = append(got, c.File)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("charts %v, want %v", got, want)
	}
	html, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Charts {
		t.Run(c.File, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(out, c.File))
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			// 20 × 11 cm at gonum's default 96 dpi.
			if bnd := img.Bounds(); bnd.Dx() < 700 || bnd.Dy() < 380 {
				t.Errorf("size %v, want about 756 × 416", bnd.Size())
			}
			if c.Title == "" || c.Description == "" {
				t.Errorf("chart %+v has no title or description", c)
			}
			if !bytes.Contains(html, []byte(`<img src="`+c.File+`"`)) || !bytes.Contains(html, []byte(`<a href="`+c.File+`"`)) {
				t.Errorf("index.html does not link %s", c.File)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opt  report.Options
		ok   bool
	}{
		{name: "defaults", opt: report.Options{Out: "x"}, ok: true},
		{name: "no output", opt: report.Options{}},
		{name: "negative", opt: report.Options{Out: "x", TopSKUs: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.opt.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
