package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestLoopJournal: the last entry of a history day wins, ids handed at
// live day ends are remembered as handed earlier, a torn last line is
// ignored and ended, and entries survive a reopen.
func TestLoopJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "simulation-loop.jsonl")
	content := `{"day":3,"decisions":["d1"],"reorders":["r1"]}
{"day":3,"decisions":["d2","d3"]}
{"day":4}
{"day":30,"decisions":["d9"],"reorders":["r9"]}
{"day":31,"decis`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	j, err := openLoopJournal(path, 30, log)
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := j.replay(3); !ok || !slices.Equal(h.Decisions, []string{"d2", "d3"}) || len(h.Reorders) != 0 {
		t.Errorf("day 3: %+v %v, want the last entry (d2, d3)", h, ok)
	}
	if h, ok := j.replay(4); !ok || len(h.Decisions)+len(h.Reorders) != 0 {
		t.Errorf("day 4: %+v %v, want an empty hand-over", h, ok)
	}
	if _, ok := j.replay(5); ok {
		t.Error("day 5 has no entry")
	}
	if _, ok := j.replay(30); ok {
		t.Error("day 30 is a live day, not replayed")
	}
	for id, want := range map[string]bool{"d9": true, "r9": true, "d1": false, "d2": false} {
		if got := j.handedEarlier(id); got != want {
			t.Errorf("handedEarlier(%s) = %v, want %v", id, got, want)
		}
	}
	if err := j.record(handover{Day: 5, Decisions: []string{"d5"}}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, err = openLoopJournal(path, 30, log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = j.Close() }()
	if h, ok := j.replay(5); !ok || !slices.Equal(h.Decisions, []string{"d5"}) {
		t.Errorf("day 5 after reopen: %+v %v", h, ok)
	}
	if h, ok := j.replay(3); !ok || !slices.Equal(h.Decisions, []string{"d2", "d3"}) {
		t.Errorf("day 3 after reopen: %+v %v", h, ok)
	}
}

// TestHandByID: the journaled ids are handed in the journal's order, once
// each; unknown, repeated and unhandable ones count as missing; the rest
// of the pool stays, in order.
func TestHandByID(t *testing.T) {
	pool := []string{"a", "b", "c", "d", "e-cancelled"}
	var handed []string
	missing := 0
	rest, err := handByID(pool, []string{"c", "a", "x", "a", "e-cancelled"},
		func(s string) (string, bool) { return s, s != "e-cancelled" },
		func(s string) error { handed = append(handed, s); return nil }, &missing)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(handed, []string{"c", "a"}) || missing != 3 || !slices.Equal(rest, []string{"b", "d", "e-cancelled"}) {
		t.Errorf("handed %v, missing %d, rest %v; want [c a], 3, [b d e-cancelled]", handed, missing, rest)
	}
}
