package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/stockflow/stockflow/internal/event"
)

// Output topics of the stock pipeline that ReadOutputs reads. The names
// are the contract's (internal/kafka's catalogue); they are spelled here so
// that the oracle does not depend on the pipeline's code.
const (
	TopicAccepted  = "stockflow.accepted.v1"
	TopicChangelog = "stockflow.stock-changelog.v1"
	TopicDLQ       = event.TopicDLQ
	TopicWindows   = event.TopicWindows
)

// ReasonLateCount is the pipeline's reason for a count older than its
// correction horizon. Inputs in event-time order never earn it.
const ReasonLateCount event.Reason = "late_count"

// Outputs is what the stock pipeline committed to its output topics, as
// a read_committed consumer sees them.
type Outputs struct {
	verdicts map[Coord]*outputs // by source record
	accepted int                // records on the accepted topic
	dead     int                // records on the DLQ
	latest   map[string][]byte  // latest changelog ledger record per "sku/warehouse"
	days     map[DayKey]*dailyWindow
	windows  int // records on the windows topic
}

// ReadOutputs reads the accepted, DLQ, changelog and windows topics from
// their start to their last stable offset, concurrently. f names the
// writers of output records (SetWriter) and records contract violations
// found while reading.
func ReadOutputs(ctx context.Context, opts []kgo.Opt, f *Findings) (*Outputs, error) {
	out := &Outputs{
		verdicts: make(map[Coord]*outputs),
		latest:   make(map[string][]byte),
		days:     make(map[DayKey]*dailyWindow),
	}
	var (
		mu       sync.Mutex // guards verdicts: accepted and DLQ are read at once
		accepted = func(r *kgo.Record) error {
			c, err := source(r)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			v := outputsAt(out.verdicts, c)
			v.accepted++
			v.copy(f, r)
			out.accepted++
			return nil
		}
		dead = func(r *kgo.Record) error {
			c, err := source(r)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			v := outputsAt(out.verdicts, c)
			if v.dead == 0 {
				v.reason = event.Reason(header(r, event.HeaderReason))
				v.why = fmt.Sprintf(" (%s)", header(r, event.HeaderMessage))
			}
			v.dead++
			v.copy(f, r)
			out.dead++
			return nil
		}
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ReadToEnd(gctx, opts, []string{TopicAccepted}, accepted) })
	g.Go(func() error { return ReadToEnd(gctx, opts, []string{TopicDLQ}, dead) })
	g.Go(func() error { return ReadToEnd(gctx, opts, []string{TopicChangelog}, out.changelog) })
	g.Go(func() error { return ReadToEnd(gctx, opts, []string{TopicWindows}, out.window(f)) })
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("read output topics: %w", err)
	}
	return out, nil
}

// Compare judges the outputs against the oracle:
//
//   - every input record is either on stockflow.accepted.v1 once (the
//     oracle accepts it) or on stockflow.dlq.v1 once with the oracle's
//     reason (the oracle rejects it), and nothing else is on either;
//   - the latest ledger record of every key in stockflow.stock-changelog.v1
//     has the oracle's on hand, and there is one for every key;
//   - in stockflow.windows.v1, if it has records, every daily window with a
//     final record has the oracle's units (final plus corrections), and no
//     window has two final records.
func (out *Outputs) Compare(o *Oracle, f *Findings) {
	f.Checked("accepted_records", out.accepted)
	f.Checked("dlq_records", out.dead)
	judge(o, f, "topics", out.verdicts)
	levels := make(map[Key]int64, len(out.latest))
	for k, v := range out.latest {
		var lv event.StockLevel
		if err := json.Unmarshal(v, &lv); err != nil {
			f.Problem(Mismatch, 1, "changelog ledger %s: %v", k, err)
			continue
		}
		key := Key{SKU: lv.SKU, Warehouse: lv.Warehouse}
		if key.String() != k {
			f.Problem(Mismatch, 1, "changelog record L/%s holds the ledger of %s", k, key)
		}
		levels[key] = lv.OnHand
	}
	compareLevels(f, "changelog", o.Levels(), levels)
	if out.windows == 0 {
		f.Note("%s: no records, windows not checked on Kafka", TopicWindows)
		return
	}
	compareDays(f, "windows_topic", o.DailyUnits(), out.days)
}

// CheckTopics reads the outputs (ReadOutputs) and compares them with the
// oracle (Outputs.Compare).
func CheckTopics(ctx context.Context, opts []kgo.Opt, o *Oracle, f *Findings) error {
	out, err := ReadOutputs(ctx, opts, f)
	if err != nil {
		return err
	}
	out.Compare(o, f)
	return nil
}

func header(r *kgo.Record, key string) []byte {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// source returns the source coordinates a pipeline output record carries.
func source(r *kgo.Record) (Coord, error) {
	p, err := strconv.ParseInt(string(header(r, event.HeaderSourcePartition)), 10, 32)
	if err != nil {
		return Coord{}, fmt.Errorf("%s/%d@%d: source partition header: %w", r.Topic, r.Partition, r.Offset, err)
	}
	off, err := strconv.ParseInt(string(header(r, event.HeaderSourceOffset)), 10, 64)
	if err != nil {
		return Coord{}, fmt.Errorf("%s/%d@%d: source offset header: %w", r.Topic, r.Partition, r.Offset, err)
	}
	return Coord{Topic: string(header(r, event.HeaderSourceTopic)), Partition: int32(p), Offset: off}, nil
}

// outputs counts where the pipeline put one source record: how often on
// the accepted side, how often on the dead-letter side, and with which
// reason.
type outputs struct {
	accepted int
	dead     int
	reason   event.Reason
	// why is the first dead letter's message, and copies where the first
	// few output records are and when they were written (topics only),
	// for the examples.
	why    string
	copies []string
}

// maxCopies bounds the output records listed per source record.
const maxCopies = 4

func (v *outputs) copy(f *Findings, r *kgo.Record) {
	if len(v.copies) < maxCopies {
		v.copies = append(v.copies, fmt.Sprintf("%s/%d@%d (producer %d epoch %d, %s)", r.Topic, r.Partition, r.Offset, r.ProducerID, r.ProducerEpoch, f.when(r.Timestamp)))
	}
}

// where lists the output records of a source record, if known.
func (v *outputs) where() string {
	if len(v.copies) == 0 {
		return ""
	}
	return "; written to " + strings.Join(v.copies, ", ")
}

// outputsAt returns the entry of c in got, creating it.
func outputsAt(got map[Coord]*outputs, c Coord) *outputs {
	v := got[c]
	if v == nil {
		v = &outputs{}
		got[c] = v
	}
	return v
}

// judge compares where each source record ended (accepted or
// dead-lettered, how often, with which reason) with the oracle's verdicts.
// where names the outputs in the messages.
func judge(o *Oracle, f *Findings, where string, got map[Coord]*outputs) {
	for c, v := range got {
		f.Problem(Duplicate, v.accepted-1, "%s: input record %s accepted %d times%s", where, c, v.accepted, v.where())
		f.Problem(Duplicate, v.dead-1, "%s: input record %s dead-lettered %d times%s", where, c, v.dead, v.where())
		if v.dead > 0 && v.reason == ReasonLateCount {
			f.Problem(LateCount, 1, "%s: input record %s dead-lettered as late_count", where, c)
		}
		id, acc := o.AcceptedID(c)
		want, rej := o.Rejected(c)
		switch {
		case acc && v.dead > 0:
			f.Problem(Misjudged, 1, "%s: event %s (%s) dead-lettered as %s%s, accepted %d times; the oracle accepts it%s", where, id, c, v.reason, v.why, v.accepted, v.where())
		case rej && v.accepted > 0:
			f.Problem(Misjudged, 1, "%s: input record %s accepted; the oracle rejects it (%s)%s", where, c, want, v.where())
		case rej && v.reason != want:
			f.Problem(WrongReason, 1, "%s: input record %s dead-lettered as %q%s; the oracle's reason is %q%s", where, c, v.reason, v.why, want, v.where())
		case !acc && !rej:
			f.Problem(Extra, 1, "%s: %s is not an input record", where, c)
		}
	}
	o.eachAccepted(func(c Coord, id string) {
		if got[c] == nil {
			f.Problem(Lost, 1, "%s: accepted event %s (%s) neither accepted nor dead-lettered", where, id, c)
		}
	})
	o.eachRejected(func(c Coord, r event.Reason) {
		if got[c] == nil {
			f.Problem(Lost, 1, "%s: rejected record %s (%s) not dead-lettered", where, c, r)
		}
	})
}

// changelog keeps the latest ledger record of every key.
func (out *Outputs) changelog(r *kgo.Record) error {
	prefix := []byte(event.ChangelogLevelPrefix)
	if !bytes.HasPrefix(r.Key, prefix) {
		return nil
	}
	if r.Value == nil {
		delete(out.latest, string(r.Key[len(prefix):]))
		return nil
	}
	out.latest[string(r.Key[len(prefix):])] = r.Value
	return nil
}

// compareLevels compares stored on-hand levels with the oracle's.
func compareLevels(f *Findings, where string, want, got map[Key]int64) {
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			f.Problem(Mismatch, 1, "%s: no level for %s (oracle: on hand %d)", where, k, w)
		case g != w:
			f.Problem(Mismatch, 1, "%s: %s on hand %d, oracle %d", where, k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			f.Problem(Mismatch, 1, "%s: level for %s (on hand %d) that no accepted event explains", where, k, g)
		}
	}
	f.Checked(where+"_levels", len(got))
}

// dailyWindow sums the daily window records of one (SKU, warehouse, day).
type dailyWindow struct {
	units  int64
	finals int
}

// window returns the reader of the windows topic: it sums the daily
// window records per (SKU, warehouse, day).
func (out *Outputs) window(f *Findings) func(*kgo.Record) error {
	return func(r *kgo.Record) error {
		out.windows++
		var w event.Window
		if err := json.Unmarshal(r.Value, &w); err != nil {
			f.Problem(Mismatch, 1, "%s/%d@%d: not a window record: %v", r.Topic, r.Partition, r.Offset, err)
			return nil
		}
		if w.Size != event.WindowDay {
			return nil
		}
		k := DayKey{Key: Key{SKU: w.SKU, Warehouse: w.Warehouse}, Day: dayOf(w.Start.UnixMilli())}
		d := out.days[k]
		if d == nil {
			d = &dailyWindow{}
			out.days[k] = d
		}
		d.units += w.Units
		if w.Kind == event.WindowFinal {
			d.finals++
		}
		return nil
	}
}

// compareDays compares daily windows that have a final record with the
// oracle's units.
func compareDays(f *Findings, where string, want map[DayKey]int64, got map[DayKey]*dailyWindow) {
	compared, open := 0, 0
	for k, d := range got {
		if d.finals == 0 {
			open++
			continue
		}
		compared++
		f.Problem(Duplicate, d.finals-1, "%s: daily window %s has %d final records", where, k, d.finals)
		if w := want[k]; d.units != w {
			f.Problem(Mismatch, 1, "%s: daily window %s: %d units (final + corrections), oracle %d", where, k, d.units, w)
		}
	}
	f.Checked(where+"_days", compared)
	if open > 0 {
		f.Note("%s: %d daily windows without a final record were not compared", where, open)
	}
}
