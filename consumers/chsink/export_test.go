package chsink

import "github.com/stockflow/stockflow/internal/store"

// Steps of a round at which a hook set with SetHook runs.
const (
	StepIntent   = stepIntent
	StepInserted = stepInserted
)

// SetHook makes s call fn after each step of a round, with the round's
// inserts in order; an error from fn ends Run with that error at once,
// without the steps that follow, as a crash there would. Call it before
// Run.
func SetHook(s *Sink, fn func(step string, inserts []*store.Batch) error) { s.hook = fn }

// ParseIntent exposes the intent metadata parser to the tests.
func ParseIntent(md string) (end, first, last int64, ok bool) {
	in, ok := parseIntent(md)
	return in.end, in.first, in.last, ok
}

// IntentMetadata renders an intent as commit metadata.
func IntentMetadata(end, first, last int64) string {
	return intent{end: end, first: first, last: last}.metadata()
}
