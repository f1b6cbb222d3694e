// Package dataset loads the public benchmark data stockflow's forecasters
// are measured against: the M4 Weekly and Hourly training and test sets, the
// organisers' Naive2 and SES point forecasts for them, and the 280-series
// "tiny M5" subset. The files live outside the repository (by default in
// ../shared/data beside it); nothing here copies them in.
//
// The loaders read files only from the directory they are handed. Where no
// directory has a data set, [Locate] has a [Downloader] fetch the originals
// from the organisers' public repositories (Mcompetitions/M4-methods; the
// CRAN package m5's tiny_m5.rda, converted from R's save format) into a
// cache laid out like ../shared/data. The package never reads the
// environment or flags (STYLE.md rule 9): cmd/ chooses the directories and
// the cache and passes them in. It must not import pipelines/ or
// consumers/.
package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// EnvDir is the environment variable cmd/ reads to locate the data when no
// directory is given explicitly. The package never reads it itself.
const EnvDir = "STOCKFLOW_DATASET_DIR"

// DefaultRel is where the data lives relative to the repository root.
const DefaultRel = "../shared/data"

// NotFoundError reports a data file that is not where it was looked for.
type NotFoundError struct {
	// File is the file looked for, relative to Dir ("m4_weekly/Weekly-train.csv").
	File string
	// Dir is the data directory that was searched.
	Dir string
	// Err is the underlying error (it wraps fs.ErrNotExist).
	Err error
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("dataset: %s not found in %s (pass the data directory, or set %s)", e.File, e.Dir, EnvDir)
}

func (e *NotFoundError) Unwrap() error { return e.Err }

// Resolve chooses the data directory: explicit when non-empty, else env
// (the value of [EnvDir], as read by the caller) when non-empty, else
// [DefaultRel] relative to the repository root found from wd (the nearest
// directory at or above wd that holds a go.mod). The result is absolute
// when wd is.
func Resolve(explicit, env, wd string) (string, error) {
	switch {
	case explicit != "":
		return explicit, nil
	case env != "":
		return env, nil
	}
	root, err := RepoRoot(wd)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, DefaultRel), nil
}

// ErrNoRepoRoot is returned by [RepoRoot] when no go.mod is found.
var ErrNoRepoRoot = errors.New("dataset: no go.mod at or above the working directory")

// RepoRoot returns the nearest directory at or above dir that holds a go.mod.
func RepoRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("dataset: repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%w: %s", ErrNoRepoRoot, dir)
		}
		d = parent
	}
}

// open opens dir/rel, turning a missing file into a *NotFoundError.
func open(dir, rel string) (*os.File, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &NotFoundError{File: rel, Dir: dir, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: open %s: %w", rel, err)
	}
	return f, nil
}
