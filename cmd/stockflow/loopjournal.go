package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// loopJournal records in the data dir what the closed loop handed to the
// simulator at each simulated day end: the final routing decisions it
// shipped and the reorders it ordered, in the order it handed them. A
// later `stockflow run` on the same data dir rebuilds the simulator by
// replaying the history silently; handing it, at each day end of that
// history, exactly what the journal says makes the replay repeat the
// history the earlier run emitted. Selecting by event time instead does
// not: a decision or reorder whose time falls inside day d can reach the
// running loop only after day d ended (measured: replays diverged from
// the first closed-loop day on). The ids handed at live day ends are
// kept too, so that a later run does not hand them again.
//
// One JSON object per line, appended and synced before the hand-over it
// describes; a torn last line (a crash while writing it) is ignored.
type loopJournal struct {
	f *os.File
	// history holds the hand-overs of the history days (day < histDays),
	// the last entry of each day.
	history map[int]handover
	// earlier are the ids handed at live day ends by earlier runs.
	earlier map[string]bool
}

// handover is one day end's hand-over, one journal line.
type handover struct {
	Day       int      `json:"day"`
	Decisions []string `json:"decisions,omitempty"` // decision ids, shipped in this order
	Reorders  []string `json:"reorders,omitempty"`  // reorder ids, ordered in this order
}

// openLoopJournal reads the journal at path (if any) and opens it for
// appending. Days below histDays are history days.
func openLoopJournal(path string, histDays int, log *slog.Logger) (*loopJournal, error) {
	j := &loopJournal{history: map[int]handover{}, earlier: map[string]bool{}}
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("closed loop journal: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		var h handover
		if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
			// Only the last line can be torn; anything else is damage.
			log.Warn("closed loop journal: unreadable line ignored", "path", path, "line", line, "err", err)
			continue
		}
		if h.Day < histDays {
			j.history[h.Day] = h
			continue
		}
		for _, id := range h.Decisions {
			j.earlier[id] = true
		}
		for _, id := range h.Reorders {
			j.earlier[id] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("closed loop journal %s: %w", path, err)
	}
	j.f, err = os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("closed loop journal: %w", err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		// A torn last line: end it, so the next entry starts a line.
		if _, err := j.f.WriteString("\n"); err != nil {
			_ = j.f.Close() // not used
			return nil, fmt.Errorf("closed loop journal: %w", err)
		}
	}
	return j, nil
}

// replay returns the hand-over the journal has for history day day.
func (j *loopJournal) replay(day int) (handover, bool) {
	if j == nil {
		return handover{}, false
	}
	h, ok := j.history[day]
	return h, ok
}

// handedEarlier reports whether an earlier run handed id at a live day end.
func (j *loopJournal) handedEarlier(id string) bool { return j != nil && j.earlier[id] }

// record appends h and syncs it.
func (j *loopJournal) record(h handover) error {
	if j == nil {
		return nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("closed loop journal: %w", err)
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("closed loop journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("closed loop journal: %w", err)
	}
	return nil
}

// Close closes the journal file.
func (j *loopJournal) Close() error {
	if j == nil || j.f == nil {
		return nil
	}
	return j.f.Close()
}
