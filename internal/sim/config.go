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
}

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
