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
	// SKUs is the catalogue size, 1..MaxSKUs (default 1000).
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
}

// Validate reports the first setting that is out of range. Zero values are
// valid: they mean the defaults.
func (c Config) Validate() error {
	c = c.withDefaults(time.Time{})
	var errs []error
	if c.SKUs < 1 || c.SKUs > MaxSKUs {
		errs = append(errs, fmt.Errorf("sim: SKUs %d out of range 1..%d", c.SKUs, MaxSKUs))
	}
	if c.Warehouses < 1 || c.Warehouses > MaxWarehouses {
		errs = append(errs, fmt.Errorf("sim: Warehouses %d out of range 1..%d", c.Warehouses, MaxWarehouses))
	}
	if c.Days < 1 || c.Days > MaxDays {
		errs = append(errs, fmt.Errorf("sim: Days %d out of range 1..%d", c.Days, MaxDays))
	}
	if math.IsNaN(c.BadShare) || c.BadShare > 0.5 {
		errs = append(errs, fmt.Errorf("sim: BadShare %v out of range (<= 0.5, negative for none)", c.BadShare))
	}
	if math.IsNaN(c.LiveRate) || math.IsInf(c.LiveRate, 0) || c.LiveRate <= 0 {
		errs = append(errs, fmt.Errorf("sim: LiveRate %v must be positive", c.LiveRate))
	}
	if y := c.Start.Year(); !c.Start.IsZero() && (y < 1971 || y > 9000) {
		errs = append(errs, fmt.Errorf("sim: Start %v out of range", c.Start))
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
