package export

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckMetadataFiles: an export writes README.md and _schema.json
// over its own earlier ones and refuses to overwrite anyone else's.
func TestCheckMetadataFiles(t *testing.T) {
	own := Index{Datasets: map[string]SchemaDoc{"sales": mustLookup("sales").Describe()}}
	ownJSON, err := marshalJSON(own)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		files  map[string]string
		refuse string // the file named in the error, "" for none
	}{
		{"empty", nil, ""},
		{"an earlier export's", map[string]string{ReadmeFile: Readme(own), SchemaFile: string(ownJSON)}, ""},
		{"someone else's README", map[string]string{ReadmeFile: "# My notes\n"}, ReadmeFile},
		{"someone else's schema", map[string]string{SchemaFile: `{"type": "object"}`}, SchemaFile},
		{"a one-dataset schema of the old layout", map[string]string{SchemaFile: `{"dataset": "sales", "columns": []}`}, SchemaFile},
		{"not JSON", map[string]string{SchemaFile: "dataset: sales\n"}, SchemaFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := checkMetadataFiles(dir)
			switch {
			case tc.refuse == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refuse != "" && (err == nil || !strings.Contains(err.Error(), filepath.Join(dir, tc.refuse))):
				t.Fatalf("got %v, want an error naming %s", err, tc.refuse)
			}
		})
	}
}

// TestReadmeNeedsNoOptions: the generated README tells readers to open a
// dataset's directory as it is, and lists every dataset of the index.
func TestReadmeNeedsNoOptions(t *testing.T) {
	r := Readme(Index{Datasets: map[string]SchemaDoc{
		"features": mustLookup("features").Describe(),
		"sales":    mustLookup("sales").Describe(),
	}})
	for _, want := range []string{`pd.read_parquet("DIR/features")`, `pl.read_parquet("DIR/features")`, "\n## features\n", "\n## sales\n", "`features/date=YYYY-MM-DD/part-00000.parquet`"} {
		if !strings.Contains(r, want) {
			t.Errorf("README lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(r, "ignore_prefixes") || strings.Contains(r, "**") {
		t.Errorf("README asks readers for options or globs:\n%s", r)
	}
}

// TestLockDir: a second holder of a dataset directory's lock is refused
// at once, the lock is free again after unlock, and no file is left.
func TestLockDir(t *testing.T) {
	path := t.TempDir()
	unlock, err := lockDir(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDir(path, false); !errors.Is(err, errLocked) {
		t.Fatalf("second lock: got %v, want errLocked", err)
	}
	unlock()
	unlock2, err := lockDir(path, false)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	unlock2()
	if left, err := os.ReadDir(path); err != nil || len(left) > 0 {
		t.Errorf("files left in the locked directory: %v (%v)", left, err)
	}
}
