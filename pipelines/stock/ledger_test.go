package stock

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
)

const hour = int64(3600_000)

type ledgerOp struct {
	count bool
	ts    int64
	id    string
	qty   int64
}

// oracle recomputes on hand from a set of accepted events, independent of
// arrival order: the latest count (by time, then id) plus every delta with a
// strictly later time.
func oracle(ops []ledgerOp) int64 {
	var (
		has     bool
		cts     int64
		cid     string
		onHand  int64
		counted int64
	)
	for _, o := range ops {
		if o.count && (!has || o.ts > cts || (o.ts == cts && o.id > cid)) {
			has, cts, cid, counted = true, o.ts, o.id, o.qty
		}
	}
	onHand = counted
	for _, o := range ops {
		if !o.count && (!has || o.ts > cts) {
			onHand += o.qty
		}
	}
	return onHand
}

func TestLedger(t *testing.T) {
	tests := []struct {
		name    string
		ops     []ledgerOp
		horizon int64
		want    int64
		outs    []Outcome
	}{
		{
			name: "deltas only",
			ops:  []ledgerOp{{ts: 1, qty: 10}, {ts: 2, qty: -3}, {ts: 3, qty: 5}},
			want: 12, outs: []Outcome{Applied, Applied, Applied},
		},
		{
			name: "count resets the level",
			ops:  []ledgerOp{{ts: 1, qty: 10}, {count: true, ts: 5, id: "c1", qty: 4}, {ts: 6, qty: -1}},
			want: 3, outs: []Outcome{Applied, Applied, Applied},
		},
		{
			name: "late delta before the count is superseded",
			ops:  []ledgerOp{{count: true, ts: 5, id: "c1", qty: 4}, {ts: 3, qty: -2}},
			want: 4, outs: []Outcome{Applied, Superseded},
		},
		{
			name: "late count keeps the later deltas",
			ops:  []ledgerOp{{ts: 1, qty: 10}, {ts: 8, qty: -2}, {ts: 9, qty: -1}, {count: true, ts: 5, id: "c1", qty: 7}},
			want: 4, outs: []Outcome{Applied, Applied, Applied, Applied},
		},
		{
			name: "older count than the latest is superseded",
			ops:  []ledgerOp{{count: true, ts: 5, id: "c2", qty: 7}, {count: true, ts: 4, id: "c1", qty: 100}},
			want: 7, outs: []Outcome{Applied, Superseded},
		},
		{
			name: "same-time counts tie-break on event id",
			ops:  []ledgerOp{{count: true, ts: 5, id: "b", qty: 7}, {count: true, ts: 5, id: "a", qty: 9}, {count: true, ts: 5, id: "c", qty: 3}},
			want: 3, outs: []Outcome{Applied, Superseded, Applied},
		},
		{
			name:    "count older than the horizon but newer than every folded delta is placed",
			ops:     []ledgerOp{{ts: 100 * hour, qty: 5}, {count: true, ts: 10 * hour, id: "c", qty: 50}},
			horizon: 50 * hour,
			want:    55, outs: []Outcome{Applied, Applied},
		},
		{
			name:    "count older than a folded delta is too late",
			ops:     []ledgerOp{{ts: 20 * hour, qty: 5}, {count: true, ts: 10 * hour, id: "c", qty: 50}, {count: true, ts: 30 * hour, id: "d", qty: 8}},
			horizon: 50 * hour,
			want:    8, outs: []Outcome{Applied, TooLate, Applied},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l Level
			for i, o := range tc.ops {
				var out Outcome
				if o.count {
					out, _ = l.ApplyCount(o.ts, o.id, o.qty, tc.horizon)
				} else {
					out, _ = l.ApplyDelta(o.ts, o.qty, tc.horizon)
				}
				if out != tc.outs[i] {
					t.Fatalf("op %d: outcome %d, want %d", i, out, tc.outs[i])
				}
			}
			if l.OnHand != tc.want {
				t.Fatalf("on hand %d, want %d", l.OnHand, tc.want)
			}
		})
	}
}

// TestLedgerMatchesOracle applies random event sets in random arrival
// orders (lateness below the horizon, like the pipeline's stream time
// allows) and compares with the order-independent oracle.
func TestLedgerMatchesOracle(t *testing.T) {
	const window = 7 * 24 * hour
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		n := 5 + rng.IntN(200)
		ops := make([]ledgerOp, n)
		for i := range ops {
			ts := int64(rng.IntN(60*24)) * hour / 4 // 15 days in 15-minute steps
			if rng.IntN(10) == 0 {
				ops[i] = ledgerOp{count: true, ts: ts, id: "c" + strconv.Itoa(i), qty: int64(rng.IntN(100))}
			} else {
				ops[i] = ledgerOp{ts: ts, qty: int64(rng.IntN(21) - 12)}
			}
		}
		// Arrival order: event time plus a random delay of up to 3 days.
		arrival := make([]int64, n)
		for i := range ops {
			arrival[i] = ops[i].ts + int64(rng.IntN(72))*hour
		}
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return arrival[idx[a]] < arrival[idx[b]] })

		var (
			l          Level
			streamTime int64
			accepted   []ledgerOp
		)
		for _, i := range idx {
			o := ops[i]
			// The horizon trails the stream time and jumps back and forth
			// (a lagging topic), which exactness must not depend on.
			horizon := streamTime - window + int64(rng.IntN(96)-48)*hour
			var out Outcome
			if o.count {
				out, _ = l.ApplyCount(o.ts, o.id, o.qty, horizon)
			} else {
				out, _ = l.ApplyDelta(o.ts, o.qty, horizon)
			}
			if out == TooLate {
				continue
			}
			accepted = append(accepted, o)
			streamTime = max(streamTime, o.ts)
		}
		if want := oracle(accepted); l.OnHand != want {
			t.Fatalf("seed %d: on hand %d, oracle %d", seed, l.OnHand, want)
		}
		if l.Available != l.OnHand-l.Reserved {
			t.Fatalf("seed %d: available %d != on hand %d - reserved %d", seed, l.Available, l.OnHand, l.Reserved)
		}
	}
}

// TestLedgerFoldsOldDeltas checks that memory stays bounded: deltas older
// than the horizon are folded, and a later count still lands exactly.
func TestLedgerFoldsOldDeltas(t *testing.T) {
	var l Level
	window := 24 * hour
	stream := int64(0)
	for i := range int64(1000) {
		ts := i * hour
		stream = max(stream, ts)
		l.ApplyDelta(ts, 1, stream-window)
	}
	if len(l.Pending) > 26 {
		t.Fatalf("pending deltas %d, want at most a day's worth", len(l.Pending))
	}
	if l.OnHand != 1000 {
		t.Fatalf("on hand %d, want 1000", l.OnHand)
	}
	// A count 10 hours back: the 10 deltas after it stay on top.
	l.ApplyCount(stream-10*hour, "c", 500, stream-window)
	if l.OnHand != 510 {
		t.Fatalf("on hand after count %d, want 510", l.OnHand)
	}
}
