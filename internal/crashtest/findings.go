package crashtest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Kinds of problems the checks count.
const (
	// Mismatch: a level, a window or a verify result differs from the oracle.
	Mismatch = "mismatch"
	// Duplicate: something that must exist once exists more than once.
	Duplicate = "duplicate"
	// Lost: something the oracle expects is missing.
	Lost = "lost"
	// Extra: something exists that the oracle does not expect.
	Extra = "extra"
	// Misjudged: an event dead-lettered that the oracle accepts, or
	// accepted that the oracle rejects.
	Misjudged = "misjudged"
	// WrongReason: a dead letter with another reason than the oracle's.
	WrongReason = "wrong_reason"
	// LateCount: a dead letter with reason late_count, which an input in
	// event-time order must never produce.
	LateCount = "late_count"
	// Undecidable: the oracle cannot judge the input (see Oracle.Problems).
	Undecidable = "undecidable"
)

// maxExamples bounds the examples kept per kind.
const maxExamples = 5

// Findings collects what the checks compared and what they found wrong,
// with a few examples of each kind of problem. It is safe for concurrent
// use.
type Findings struct {
	mu       sync.Mutex
	checked  map[string]int
	problems map[string]int
	places   map[string]int // "place kind" -> problems
	examples map[string][]string
	notes    []string
	who      func(time.Time) string
}

// SetWriter sets a function that names who wrote an output record at a
// given time (a child process run, say), for the examples.
func (f *Findings) SetWriter(who func(time.Time) string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.who = who
}

// when renders the time an output record was written, and by whom if
// SetWriter told.
func (f *Findings) when(t time.Time) string {
	f.mu.Lock()
	who := f.who
	f.mu.Unlock()
	s := t.UTC().Format("15:04:05.000")
	if who != nil {
		if w := who(t); w != "" {
			s += " by " + w
		}
	}
	return s
}

// NewFindings returns empty findings.
func NewFindings() *Findings {
	return &Findings{checked: map[string]int{}, problems: map[string]int{}, places: map[string]int{}, examples: map[string][]string{}}
}

// Checked records that n things named what were compared.
func (f *Findings) Checked(what string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checked[what] += n
}

// Problem counts n problems of kind, described (for the first few) by the
// formatted message.
func (f *Findings) Problem(kind string, n int, format string, args ...any) {
	if n <= 0 {
		return
	}
	msg := fmt.Sprintf(format, args...)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.problems[kind] += n
	if place, _, ok := strings.Cut(msg, ":"); ok && !strings.ContainsAny(place, " /") {
		f.places[place+" "+kind] += n
	}
	if len(f.examples[kind]) < maxExamples {
		f.examples[kind] = append(f.examples[kind], msg)
	}
}

// Places renders the problems by place (the word before the colon of their
// message: topics, clickhouse, changelog, sales, ...) and kind, sorted.
func (f *Findings) Places() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := make([]string, 0, len(f.places))
	for k := range f.places {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", strings.Replace(k, " ", ".", 1), f.places[k])
	}
	return strings.Join(parts, " ")
}

// Note records something worth reading that is not a problem, such as a
// check that could not run.
func (f *Findings) Note(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notes = append(f.notes, fmt.Sprintf(format, args...))
}

// Count returns the number of problems of kind.
func (f *Findings) Count(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.problems[kind]
}

// CheckedCount returns how many things named what were compared.
func (f *Findings) CheckedCount(what string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checked[what]
}

// Notes returns the notes in the order they were made.
func (f *Findings) Notes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.notes)
}

// Summary renders what was compared, one "name=n" per item, sorted.
func (f *Findings) Summary() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(f.checked))
	for n := range f.checked {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%d", n, f.checked[n])
	}
	return strings.Join(parts, " ")
}

// Err returns nil when no problem was found, otherwise an error that
// counts the problems by kind and lists the examples.
func (f *Findings) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	kinds := make([]string, 0, len(f.problems))
	for k := range f.problems {
		kinds = append(kinds, k)
	}
	if len(kinds) == 0 {
		return nil
	}
	slices.Sort(kinds)
	var b strings.Builder
	for i, k := range kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d %s", f.problems[k], k)
	}
	for _, k := range kinds {
		for _, e := range f.examples[k] {
			fmt.Fprintf(&b, "\n  %s: %s", k, e)
		}
	}
	return errors.New(b.String())
}
