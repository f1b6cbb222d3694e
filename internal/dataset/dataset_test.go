package dataset_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stockflow/stockflow/internal/dataset"
)

// dataDir finds the shared data the way cmd/ does: $STOCKFLOW_DATASET_DIR
// when set, else ../shared/data beside the repository root found from the
// test's working directory (the package directory). A test that then cannot
// open a file fails with a *dataset.NotFoundError naming it.
func dataDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	dir, err := dataset.Resolve("", os.Getenv(dataset.EnvDir), wd)
	if err != nil {
		t.Fatalf("locate the data: %v", err)
	}
	return dir
}

func TestLoadM4(t *testing.T) {
	dir := dataDir(t)
	tests := []struct {
		freq           dataset.Frequency
		n              int
		minLen, maxLen int
		first          string
		firstTest0     float64
	}{
		{dataset.Weekly, 359, 80, 2597, "W1", 35397.16},
		{dataset.Hourly, 414, 700, 960, "H1", 0},
	}
	for _, tt := range tests {
		t.Run(string(tt.freq), func(t *testing.T) {
			d, err := dataset.LoadM4(dir, tt.freq)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Train) != tt.n {
				t.Fatalf("%d series, want %d", len(d.Train), tt.n)
			}
			if d.Train[0].ID != tt.first {
				t.Errorf("first id %s, want %s", d.Train[0].ID, tt.first)
			}
			lo, hi := len(d.Train[0].Values), 0
			for _, s := range d.Train {
				lo, hi = min(lo, len(s.Values)), max(hi, len(s.Values))
			}
			if lo != tt.minLen || hi != tt.maxLen {
				t.Errorf("training lengths %d..%d, want %d..%d", lo, hi, tt.minLen, tt.maxLen)
			}
			if tt.firstTest0 != 0 && d.Test[0].Values[0] != tt.firstTest0 {
				t.Errorf("first test value %v, want %v", d.Test[0].Values[0], tt.firstTest0)
			}
		})
	}
}

func TestLoadM4Reference(t *testing.T) {
	dir := dataDir(t)
	for _, freq := range []dataset.Frequency{dataset.Weekly, dataset.Hourly} {
		for _, method := range []string{"Naive2", "SES"} {
			t.Run(method+"-"+string(freq), func(t *testing.T) {
				ref, err := dataset.LoadM4Reference(dir, method, freq)
				if err != nil {
					t.Fatal(err)
				}
				d, err := dataset.LoadM4(dir, freq)
				if err != nil {
					t.Fatal(err)
				}
				if len(ref) != len(d.Test) {
					t.Fatalf("%d forecasts, want %d", len(ref), len(d.Test))
				}
				for i := range ref {
					if ref[i].ID != d.Test[i].ID {
						t.Fatalf("row %d is %s, want %s", i, ref[i].ID, d.Test[i].ID)
					}
				}
			})
		}
	}
}

func TestLoadM5Tiny(t *testing.T) {
	s, err := dataset.LoadM5Tiny(dataDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 280 {
		t.Fatalf("%d series, want 280", len(s))
	}
	for _, x := range s {
		if len(x.Sales) != 1913 {
			t.Fatalf("%s has %d days, want 1913", x.ID, len(x.Sales))
		}
		if x.ID != x.Item+"_"+x.Store {
			t.Fatalf("id %s is not item_store (%s, %s)", x.ID, x.Item, x.Store)
		}
	}
}

func TestNotFound(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		load func() error
		file string
	}{
		{"m4", func() error { _, err := dataset.LoadM4(dir, dataset.Weekly); return err }, "m4_weekly/Weekly-train.csv"},
		{"reference", func() error { _, err := dataset.LoadM4Reference(dir, "SES", dataset.Hourly); return err }, "m4_reference_forecasts/SES-H.csv"},
		{"m5", func() error { _, err := dataset.LoadM5Tiny(dir); return err }, "m5_tiny/sales_wide.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.load()
			var nf *dataset.NotFoundError
			if !errors.As(err, &nf) {
				t.Fatalf("error %v, want a *NotFoundError", err)
			}
			if nf.File != tt.file || nf.Dir != dir {
				t.Errorf("NotFoundError{File: %q, Dir: %q}, want %q in %q", nf.File, nf.Dir, tt.file, dir)
			}
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %v does not wrap fs.ErrNotExist", err)
			}
		})
	}
}

func TestLoadM4Malformed(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "m4_weekly"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, "m4_weekly", name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("Weekly-train.csv", "\"V1\",\"V2\",\"V3\"\n\"W1\",\"1\",\"x\"\n")
	write("Weekly-test.csv", "\"V1\",\"V2\"\n\"W1\",\"1\"\n")
	if _, err := dataset.LoadM4(dir, dataset.Weekly); !errors.Is(err, dataset.ErrFormat) {
		t.Fatalf("error %v, want ErrFormat", err)
	}
	if _, err := dataset.LoadM4(dir, "Yearly"); err == nil {
		t.Fatal("unknown frequency accepted")
	}
}

func TestResolve(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, explicit, env, wd, want string
	}{
		{"explicit wins", "/x", "/y", sub, "/x"},
		{"then env", "", "/y", sub, "/y"},
		{"then beside the repo root", "", "", sub, filepath.Join(filepath.Dir(root), "shared", "data")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dataset.Resolve(tt.explicit, tt.env, tt.wd)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Resolve = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := dataset.Resolve("", "", filepath.Dir(root)); !errors.Is(err, dataset.ErrNoRepoRoot) {
		t.Errorf("no go.mod above %s: error %v, want ErrNoRepoRoot", filepath.Dir(root), err)
	}
}
