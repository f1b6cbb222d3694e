package crashtest

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/internal/store"
)

// Tables gathers the sink's ClickHouse tables from one or more stores (two
// when two instances each wrote their own embedded engine) so they can be
// compared with the oracle as one. Load each store, then Compare.
//
// Raw tables and the dlq table are read without FINAL: every row counts,
// so a batch the sink inserted twice shows up as a duplicate. stock_levels
// is read with FINAL (its contract: the highest version wins), and across
// stores the highest version wins too. demand_windows is read with FINAL
// (its contract: the sum of a window's final and correction rows), and
// across stores a row counts once per windows record it came from.
type Tables struct {
	names   []string
	raw     map[string]map[string]*rawRows // table -> event id -> rows
	levels  map[Key]levelRow
	dlq     map[Coord]*dlqRows
	windows map[Coord]windowRow // by windows record; nil: not loaded
}

type rawRows struct {
	perStore []int
	at       Coord
	coords   int // rows whose source differs from the first row's
}

type levelRow struct {
	onHand  int64
	version uint64
}

type dlqRows struct {
	perStore []int
	reason   event.Reason
}

// NewTables returns an empty gathering.
func NewTables() *Tables {
	t := &Tables{raw: make(map[string]map[string]*rawRows), levels: make(map[Key]levelRow), dlq: make(map[Coord]*dlqRows)}
	for _, table := range RawTables {
		t.raw[table] = make(map[string]*rawRows)
	}
	return t
}

// Load reads the sink's tables from st, named name in findings.
func (t *Tables) Load(ctx context.Context, st store.Store, name string, f *Findings) error {
	idx := len(t.names)
	t.names = append(t.names, name)
	tables := make([]string, 0, len(t.raw))
	for table := range t.raw {
		tables = append(tables, table)
	}
	slices.Sort(tables)
	for _, table := range tables {
		if err := t.loadRaw(ctx, st, table, idx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := t.loadLevels(ctx, st); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := t.loadDLQ(ctx, st, idx); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := t.loadWindows(ctx, st, name, f); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func grow(counts []int, idx int) []int {
	for len(counts) <= idx {
		counts = append(counts, 0)
	}
	return counts
}

func (t *Tables) loadRaw(ctx context.Context, st store.Store, table string, idx int) error {
	res, err := st.Query(ctx, "SELECT event_id, toString(src_topic), src_partition, src_offset FROM "+table)
	if err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	rows := t.raw[table]
	for i, r := range res.Rows {
		id, err1 := store.AsString(r[0])
		topic, err2 := store.AsString(r[1])
		part, err3 := store.AsInt64(r[2])
		off, err4 := store.AsInt64(r[3])
		if err := firstErr(err1, err2, err3, err4); err != nil {
			return fmt.Errorf("%s row %d: %w", table, i, err)
		}
		at := Coord{Topic: topic, Partition: int32(part), Offset: off}
		rr := rows[id]
		if rr == nil {
			rr = &rawRows{at: at}
			rows[id] = rr
		} else if rr.at != at {
			rr.coords++
		}
		rr.perStore = grow(rr.perStore, idx)
		rr.perStore[idx]++
	}
	return nil
}

func (t *Tables) loadLevels(ctx context.Context, st store.Store) error {
	res, err := st.Query(ctx, "SELECT toString(sku), toString(warehouse), on_hand, version FROM stock_levels FINAL")
	if err != nil {
		return fmt.Errorf("read stock_levels: %w", err)
	}
	for i, r := range res.Rows {
		sku, err1 := store.AsString(r[0])
		wh, err2 := store.AsString(r[1])
		onHand, err3 := store.AsInt64(r[2])
		version, err4 := store.AsUint64(r[3])
		if err := firstErr(err1, err2, err3, err4); err != nil {
			return fmt.Errorf("stock_levels row %d: %w", i, err)
		}
		k := Key{SKU: event.SKU(sku), Warehouse: event.WarehouseID(wh)}
		if prev, ok := t.levels[k]; !ok || version > prev.version {
			t.levels[k] = levelRow{onHand: onHand, version: version}
		}
	}
	return nil
}

func (t *Tables) loadDLQ(ctx context.Context, st store.Store, idx int) error {
	res, err := st.Query(ctx, "SELECT toString(src_topic), src_partition, src_offset, toString(reason) FROM dlq")
	if err != nil {
		return fmt.Errorf("read dlq: %w", err)
	}
	for i, r := range res.Rows {
		topic, err1 := store.AsString(r[0])
		part, err2 := store.AsInt64(r[1])
		off, err3 := store.AsInt64(r[2])
		reason, err4 := store.AsString(r[3])
		if err := firstErr(err1, err2, err3, err4); err != nil {
			return fmt.Errorf("dlq row %d: %w", i, err)
		}
		c := Coord{Topic: topic, Partition: int32(part), Offset: off}
		d := t.dlq[c]
		if d == nil {
			d = &dlqRows{reason: event.Reason(reason)}
			t.dlq[c] = d
		}
		d.perStore = grow(d.perStore, idx)
		d.perStore[idx]++
	}
	return nil
}

// windowColumns are the demand_windows columns the check needs: the
// fields of event.Window it compares and the source coordinates of the
// windows record (table 0002_windows). The window start is "window_start"
// (or "start").
var windowColumns = []string{"sku", "warehouse", "size", "kind", "units", "src_partition", "src_offset"}

// windowRow is one daily row of demand_windows.
type windowRow struct {
	day   DayKey
	final bool
	units int64
}

// loadWindows reads the daily rows of demand_windows (final and correction
// rows, FINAL) when the table exists. Rows are keyed by the windows record
// they came from, so a row two stores both hold counts once.
func (t *Tables) loadWindows(ctx context.Context, st store.Store, name string, f *Findings) error {
	res, err := st.Query(ctx, "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'demand_windows'")
	if err != nil {
		return fmt.Errorf("look for demand_windows: %w", err)
	}
	if len(res.Rows) == 0 {
		f.Note("%s: table demand_windows does not exist: windows not checked in ClickHouse", name)
		return nil
	}
	have := make(map[string]bool, len(res.Rows))
	for _, r := range res.Rows {
		if s, ok := r[0].(string); ok {
			have[s] = true
		}
	}
	var missing []string
	for _, c := range windowColumns {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	start := "window_start"
	if !have[start] {
		start = "start"
	}
	if !have[start] {
		missing = append(missing, "window_start")
	}
	if len(missing) > 0 {
		f.Problem(Mismatch, 1, "%s: demand_windows has no column %s (the check needs %s and window_start)", name, strings.Join(missing, ", "), strings.Join(windowColumns, ", "))
		return nil
	}
	res, err = st.Query(ctx, `SELECT toString(sku), toString(warehouse), intDiv(toInt64(toUnixTimestamp(`+start+`)), 86400),
		toString(kind), units, src_partition, src_offset
		FROM demand_windows FINAL WHERE size = '1d'`)
	if err != nil {
		return fmt.Errorf("read demand_windows: %w", err)
	}
	if t.windows == nil {
		t.windows = make(map[Coord]windowRow, len(res.Rows))
	}
	for i, r := range res.Rows {
		sku, err1 := store.AsString(r[0])
		wh, err2 := store.AsString(r[1])
		day, err3 := store.AsInt64(r[2])
		kind, err4 := store.AsString(r[3])
		units, err5 := store.AsInt64(r[4])
		part, err6 := store.AsInt64(r[5])
		off, err7 := store.AsInt64(r[6])
		if err := firstErr(err1, err2, err3, err4, err5, err6, err7); err != nil {
			return fmt.Errorf("demand_windows row %d: %w", i, err)
		}
		t.windows[Coord{Topic: TopicWindows, Partition: int32(part), Offset: off}] = windowRow{
			day:   DayKey{Key: Key{SKU: event.SKU(sku), Warehouse: event.WarehouseID(wh)}, Day: day},
			final: kind == string(event.WindowFinal),
			units: units,
		}
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Overlap returns how many raw and dlq rows are held by more than one
// store: records a killed instance's sink inserted but had not committed,
// which the surviving instance inserted again into its own store. Zero
// with one store.
func (t *Tables) Overlap() int {
	n := 0
	for _, rows := range t.raw {
		for _, rr := range rows {
			if stores(rr.perStore) > 1 {
				n++
			}
		}
	}
	for _, d := range t.dlq {
		if stores(d.perStore) > 1 {
			n++
		}
	}
	return n
}

// OnlyIn returns how many raw and dlq rows no store but the idx-th (in
// Load order) holds: with two stores, what the other store lacks.
func (t *Tables) OnlyIn(idx int) int {
	only := func(perStore []int) bool {
		return idx < len(perStore) && perStore[idx] > 0 && stores(perStore) == 1
	}
	n := 0
	for _, rows := range t.raw {
		for _, rr := range rows {
			if only(rr.perStore) {
				n++
			}
		}
	}
	for _, d := range t.dlq {
		if only(d.perStore) {
			n++
		}
	}
	return n
}

func stores(perStore []int) int {
	n := 0
	for _, k := range perStore {
		if k > 0 {
			n++
		}
	}
	return n
}

// Compare judges the gathered tables against the oracle:
//
//   - each raw table holds every accepted event of its topic, and in each
//     store at most one row per event id (count() = uniqExact(event_id),
//     without FINAL), with the oracle's source coordinates;
//   - dlq holds every rejected record, at most one row per source record
//     in each store, with the oracle's reason, and no late_count;
//   - no record is in a raw table that the oracle rejects, or in dlq that
//     it accepts;
//   - stock_levels holds the oracle's on hand for every key;
//   - demand_windows, when the table exists, has the oracle's units for
//     every daily window with a final row, and one final row per window.
func (t *Tables) Compare(o *Oracle, f *Findings) {
	tables := make([]string, 0, len(t.raw))
	for table := range t.raw {
		tables = append(tables, table)
	}
	slices.Sort(tables)
	// Where each source record ended, over all stores: a row in two
	// stores is one outcome (see Overlap); two rows in one store are a
	// duplicate, counted here.
	got := make(map[Coord]*outputs, o.Records())
	for _, table := range tables {
		rows := t.raw[table]
		n := 0
		for id, rr := range rows {
			for i, k := range rr.perStore {
				n += k
				f.Problem(Duplicate, k-1, "%s: event %s has %d rows in %s", table, id, k, t.names[i])
			}
			if rr.coords > 0 {
				f.Problem(Mismatch, 1, "%s: event %s has rows with %d sources besides %s", table, id, rr.coords, rr.at)
			}
			if RawTables[rr.at.Topic] != table {
				f.Problem(Mismatch, 1, "%s: event %s read from %s belongs in %s", table, id, rr.at, RawTables[rr.at.Topic])
			}
			if want, ok := o.AcceptedID(rr.at); ok && want != id {
				f.Problem(Mismatch, 1, "%s: row of event %s has source %s, where the oracle read event %s", table, id, rr.at, want)
			}
			outputsAt(got, rr.at).accepted = 1
		}
		f.Checked(table+"_rows", n)
	}
	n := 0
	for c, d := range t.dlq {
		for i, k := range d.perStore {
			n += k
			f.Problem(Duplicate, k-1, "dlq: %s has %d rows in %s", c, k, t.names[i])
		}
		v := outputsAt(got, c)
		v.dead, v.reason = 1, d.reason
	}
	f.Checked("dlq_rows", n)
	judge(o, f, "clickhouse", got)
	compareLevels(f, "stock_levels", o.Levels(), t.levelMap())
	if t.windows != nil {
		days := make(map[DayKey]*dailyWindow)
		for _, w := range t.windows {
			d := days[w.day]
			if d == nil {
				d = &dailyWindow{}
				days[w.day] = d
			}
			d.units += w.units
			if w.final {
				d.finals++
			}
		}
		compareDays(f, "demand_windows", o.DailyUnits(), days)
	}
}

func (t *Tables) levelMap() map[Key]int64 {
	out := make(map[Key]int64, len(t.levels))
	for k, l := range t.levels {
		out[k] = l.onHand
	}
	return out
}
