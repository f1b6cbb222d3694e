package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"
)

// TestProgressBar checks the bar's drawing and throttling on a fake clock.
func TestProgressBar(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		p := &progressBar{w: &buf, label: "train"}
		steps := []struct {
			done, total int
			sleep       time.Duration
			want        string // drawn, or "" for nothing
		}{
			{1, 4, 0, "\rtrain [#######.......................] 1/4 series"},
			{2, 4, 50 * time.Millisecond, ""}, // within 100 ms of the last draw
			{3, 4, 60 * time.Millisecond, "\rtrain [######################........] 3/4 series"},
			{4, 4, 0, "\rtrain [##############################] 4/4 series"}, // the end is always drawn
		}
		for _, s := range steps {
			time.Sleep(s.sleep)
			buf.Reset()
			p.update(s.done, s.total)
			if got := buf.String(); got != s.want {
				t.Errorf("update(%d, %d) drew %q, want %q", s.done, s.total, got, s.want)
			}
		}
		buf.Reset()
		p.finish()
		if buf.String() != "\n" {
			t.Errorf("finish wrote %q, want a newline", buf.String())
		}
	})
	var none *progressBar
	none.finish() // no bar: nothing to do
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a regular file is taken for a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(w) {
		t.Error("a pipe is taken for a terminal")
	}
}
