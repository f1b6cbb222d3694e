package export

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRemoveOldReadme removes the README.md of an earlier export and
// leaves anyone else's alone.
func TestRemoveOldReadme(t *testing.T) {
	tests := []struct {
		name    string
		content string // "" for no README.md
		removed bool
	}{
		{"none", "", false},
		{"an earlier export's", Readme(mustLookup("sales").Describe()), true},
		{"someone else's", "# My notes\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "README.md")
			if tc.content != "" {
				if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := removeOldReadme(dir); err != nil {
				t.Fatal(err)
			}
			_, err := os.Stat(path)
			if gone := errors.Is(err, fs.ErrNotExist); gone != (tc.removed || tc.content == "") {
				t.Fatalf("README.md gone: %v, want %v", gone, tc.removed)
			}
		})
	}
}

// TestReadmeNeedsNoOptions: the generated README tells readers to open
// the directory as it is, and is itself skipped by them.
func TestReadmeNeedsNoOptions(t *testing.T) {
	r := Readme(mustLookup("features").Describe())
	if strings.Contains(r, "ignore_prefixes") || !strings.Contains(r, `pd.read_parquet("DIR")`) {
		t.Errorf("README reading instructions:\n%s", r)
	}
	for _, f := range []string{ReadmeFile, SchemaFile} {
		if !strings.HasPrefix(f, "_") {
			t.Errorf("%s: Parquet dataset readers only skip names starting with _ or .", f)
		}
	}
}
