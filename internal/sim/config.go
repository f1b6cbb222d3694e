package sim

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultSKUs       = 1000
	DefaultWarehouses = 10
	DefaultDays       = 90
	DefaultBadShare   = 0.002
	DefaultLiveRate   = 200
	// MaxSKUs keeps SKU ids at six digits.
	MaxSKUs = 999_999
	// MaxDays bounds the history (ten years).
	MaxDays = 3660
)

// Config says what to simulate. Zero values take the defaults above, so
// Config{Seed: 1} is a complete configuration.
type Config struct {
	// Seed makes the run reproducible: the same Config gives byte-identical
	// records (Live differs only in the timestamps it takes from its clock).
	Seed uint64
	// SKUs is the catalog size, 1..MaxSKUs (default 1000).
	SKUs int
	// Warehouses is the number of warehouses, 1..MaxWarehouses (default 10).
	Warehouses int
	// Days of history, 1..MaxDays (default 90).
	Days int
	// Start is the first simulated day; New truncates it to UTC midnight.
	// Zero means today (UTC) minus Days, the only place the wall clock enters.
	Start time.Time
	// BadShare is the share of bad records among all records (default
	// 0.002, at most 0.5); a negative value turns bad records off. When it is
	// positive, History emits every bad class at least once and puts bad
	// records on all four topics.
	BadShare float64
	// LiveRate is the target number of records per second in Live (default 200).
	LiveRate float64
	// RunID, if set, goes into every id Live creates (event, order, purchase
	// order, transfer and campaign ids: "s-<seed>-<run>-<n>"), so that a
	// process that goes live again for a history an earlier process
	// produced does not reuse the ids of the earlier process's Live. History
	// ids never contain it. At most 32 of [A-Za-z0-9._].
	RunID string

	// ExternalReplenishment closes the loop: from day ExternalFrom on, the
	// simulated suppliers deliver only what Sim.Order asks of them (the
	// reorders stockflow's replenishment pipeline emits) and planners make
	// no lateral transfers of their own. The simulator then places no
	// purchase order of its own (the built-in (s, S) supplier is off) and
	// runs no daily transfer sweep. Purchase orders and transfers it made
	// before ExternalFrom still arrive. False (the default) keeps the
	// built-in policies for the whole run: the output does not change.
	ExternalReplenishment bool
	// ExternalFrom is the first day of ExternalReplenishment, as a day
	// index into the history (0, the default, means from Start; day d
	// begins at Start + d days). Before it the simulator behaves as without
	// ExternalReplenishment: the era before stockflow. A value of Days or
	// more leaves the whole history to the built-in policies and switches
	// in Live, whose days continue the count. Ignored without
	// ExternalReplenishment; must not be negative.
	ExternalFrom int
	// ExternalRouting closes the other loop: web orders are emitted, but
	// the simulated warehouse management systems ship them only as
	// Sim.Ship is told (stockflow's final routing decisions), from the
	// first day. False (the default) keeps the built-in fulfilment (the
	// nearest warehouse that has the lines) and the output unchanged.
	ExternalRouting bool
	// OnDayEnd, if set, is called at every simulated day boundary, so that
	// a caller can step the simulation and close the loop: History calls it
	// after every record of day `day` has been passed to emit and before
	// day+1 is generated (for the last day after the extra bad records
	// too), and Live calls it likewise each time its simulated day ends.
	// See DayEnd.
	OnDayEnd DayEnd
}

// DayEnd is called at the end of simulated day `day` (0 = the day of
// Start; Live continues the count past Days). end is that day's end on the
// output clock: in History the simulated instant Start + day+1 days, and
// every record emitted before the call has a ts before it; in Live the
// clock's now() (every record emitted before has a ts at or before it).
//
// The callback runs on the simulator's goroutine, between two records: it
// may flush what emit received, wait until its pipelines have processed
// it, and call Sim.Order for the reorders they emitted. Nothing it orders
// is emitted with a time before the day's end. An error stops History or
// Live, which return it wrapped.
//
// During the silent replay of the history by Live (a Sim that went live
// without running History) it is called for the replayed days as well,
// with nothing emitted: a caller that repeats there the Order calls of the
// process that produced the history reproduces that history exactly.
type DayEnd func(day int, end time.Time) error

// Validate reports every setting that is out of range. Zero values are
// valid: they mean the defaults.
func (c Config) Validate() error {
	d := c.withDefaults(time.Time{})
	var errs []error
	if d.SKUs < 1 || d.SKUs > MaxSKUs {
		errs = append(errs, fmt.Errorf("sim: SKUs %d out of range 1..%d", d.SKUs, MaxSKUs))
	}
	if d.Warehouses < 1 || d.Warehouses > MaxWarehouses {
		errs = append(errs, fmt.Errorf("sim: Warehouses %d out of range 1..%d", d.Warehouses, MaxWarehouses))
	}
	if d.Days < 1 || d.Days > MaxDays {
		errs = append(errs, fmt.Errorf("sim: Days %d out of range 1..%d", d.Days, MaxDays))
	}
	if math.IsNaN(d.BadShare) || d.BadShare > 0.5 {
		errs = append(errs, fmt.Errorf("sim: BadShare %v out of range (<= 0.5, negative for none)", d.BadShare))
	}
	if math.IsNaN(d.LiveRate) || math.IsInf(d.LiveRate, 0) || d.LiveRate <= 0 {
		errs = append(errs, fmt.Errorf("sim: LiveRate %v must be positive", d.LiveRate))
	}
	if !validRunID(d.RunID) {
		errs = append(errs, fmt.Errorf("sim: RunID %q: want at most 32 of [A-Za-z0-9._]", d.RunID))
	}
	if d.ExternalFrom < 0 {
		errs = append(errs, fmt.Errorf("sim: ExternalFrom %d must not be negative", d.ExternalFrom))
	}
	if y := d.Start.Year(); !d.Start.IsZero() && (y < 1971 || y > 9000) {
		errs = append(errs, fmt.Errorf("sim: Start %v out of range", d.Start))
	}
	return errors.Join(errs...)
}

// withDefaults fills zero values; today is used for the default Start and
// may be zero when Start does not matter.
func (c Config) withDefaults(today time.Time) Config {
	if c.SKUs == 0 {
		c.SKUs = DefaultSKUs
	}
	if c.Warehouses == 0 {
		c.Warehouses = DefaultWarehouses
	}
	if c.Days == 0 {
		c.Days = DefaultDays
	}
	if c.BadShare == 0 {
		c.BadShare = DefaultBadShare
	}
	if c.LiveRate == 0 {
		c.LiveRate = DefaultLiveRate
	}
	if c.Start.IsZero() && !today.IsZero() {
		c.Start = today.AddDate(0, 0, -c.Days)
	}
	if !c.Start.IsZero() {
		c.Start = c.Start.UTC().Truncate(24 * time.Hour)
	}
	return c
}

func validRunID(id string) bool {
	if len(id) > 32 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}
