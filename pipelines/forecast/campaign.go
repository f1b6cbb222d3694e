package forecast

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/stockflow/stockflow/internal/event"
	"github.com/stockflow/stockflow/models/backtest"
)

// Campaign is a promotion as stored from stockflow.campaigns.v1 (the latest
// version of each campaign id): it targets the listed SKUs and every SKU
// of Category, in the listed Warehouses and every warehouse of the listed
// Regions (everywhere when both are empty), from Start (inclusive) to End
// (exclusive). ExpectedUplift is the announced relative change of demand
// (0.25 means +25 %).
type Campaign struct {
	ID             string
	SKUs           []event.SKU
	Category       string
	Regions        []string
	Warehouses     []event.WarehouseID
	Start, End     time.Time
	ExpectedUplift float64
}

// Catalog is what campaign targeting needs to know about SKUs and
// warehouses. A SKU without a category is targeted by SKU lists only; a
// warehouse without a region by warehouse lists (and by campaigns that run
// everywhere) only.
type Catalog struct {
	Categories map[event.SKU]string
	Regions    map[event.WarehouseID]string
}

// Validate checks the campaign.
func (c *Campaign) Validate() error {
	switch {
	case c.ID == "":
		return fmt.Errorf("campaign without id")
	case !c.End.After(c.Start):
		return fmt.Errorf("campaign %s: end %s not after start %s", c.ID, c.End, c.Start)
	case !(c.ExpectedUplift >= -1) || math.IsInf(c.ExpectedUplift, 0):
		return fmt.Errorf("campaign %s: expected uplift %g below -1", c.ID, c.ExpectedUplift)
	}
	return nil
}

// Targets reports whether the campaign covers key k.
func (c *Campaign) Targets(k Key, cat Catalog) bool {
	sku := slices.Contains(c.SKUs, k.SKU) || (c.Category != "" && cat.Categories[k.SKU] == c.Category)
	if !sku {
		return false
	}
	if len(c.Regions) == 0 && len(c.Warehouses) == 0 {
		return true
	}
	if slices.Contains(c.Warehouses, k.Warehouse) {
		return true
	}
	r, ok := cat.Regions[k.Warehouse]
	return ok && r != "" && slices.Contains(c.Regions, r)
}

// Share returns the part of the UTC day starting at day (a UTC midnight)
// that lies inside [Start, End), in [0, 1].
func (c *Campaign) Share(day time.Time) float64 {
	end := day.Add(24 * time.Hour)
	from, to := c.Start, c.End
	if from.Before(day) {
		from = day
	}
	if to.After(end) {
		to = end
	}
	if !to.After(from) {
		return 0
	}
	return float64(to.Sub(from)) / float64(24*time.Hour)
}

// fullShare is the share above which a day counts as wholly inside a
// campaign when its realised uplift is measured.
const fullShare = 0.999

// Uplift is the uplift of one campaign as the run estimated and applied
// it.
type Uplift struct {
	Campaign string
	Expected float64
	// Series is the number of series with scored campaign days, Days the
	// number of (series, day) pairs scored; Sold and Baseline their units
	// sold and baseline forecast.
	Series, Days   int
	Sold, Baseline float64
	// Realised is Sold/Baseline − 1, or NaN when the baseline is below
	// Config.MinUpliftBaseline (too little history to tell).
	Realised float64
	// Applied is what the forecast and the history cleaning use: Realised
	// when estimated, else Expected × the run's calibration, at least -1.
	Applied float64
}

// upliftObs is what one series contributes to one campaign's estimate.
type upliftObs struct {
	campaign   int
	days       int
	sold, base float64
}

// upliftBaseline is the baseline model the realised uplift is measured
// against: the mean of the last 28 days times the day-of-week profile.
var upliftBaseline = backtest.Profile{Model: backtest.WindowMean{N: 28}, M: 7, Label: "mean28*p7"}

// observeUplift measures, for every campaign of targets that has whole,
// uncensored days in the history of s, the units sold on them and the
// baseline forecast from the imputed history before the campaign. A
// campaign that starts within 28 days of the series' first day is skipped.
func observeUplift(s *Series, imputed []float64, targets []int, campaigns []Campaign) []upliftObs {
	var out []upliftObs
	n := len(s.Units)
	end := s.Day(n) // the day after the cutoff
	for _, ci := range targets {
		c := &campaigns[ci]
		if !c.Start.Before(end) || !c.End.After(s.Start) {
			continue
		}
		first := max(0, days(s.Start, Date(c.Start)))
		last := min(n-1, days(s.Start, Date(c.End.Add(-time.Nanosecond))))
		if first < 28 || last < first {
			continue
		}
		f, err := upliftBaseline.Fit(imputed[:first], 7)
		if err != nil {
			continue
		}
		fc, err := f.Forecast(last-first+1, nil)
		if err != nil {
			continue
		}
		o := upliftObs{campaign: ci}
		for t := first; t <= last; t++ {
			if s.Censored[t] || c.Share(s.Day(t)) < fullShare {
				continue
			}
			o.days++
			o.sold += s.Units[t]
			o.base += max(fc.Mean[t-first], 0)
		}
		if o.days > 0 {
			out = append(out, o)
		}
	}
	return out
}

// Calibration bounds: the factor applied to announced uplifts is clamped
// to [minCalibration, maxCalibration].
const (
	minCalibration = 0.25
	maxCalibration = 4
)

// estimateUplifts pools the observations of every series (in series order,
// so the sums are deterministic) into one Uplift per campaign, and returns
// the calibration of announced uplifts.
func estimateUplifts(campaigns []Campaign, obs [][]upliftObs, minBaseline float64, minCampaigns int) ([]Uplift, float64) {
	ups := make([]Uplift, len(campaigns))
	for i, c := range campaigns {
		ups[i] = Uplift{Campaign: c.ID, Expected: c.ExpectedUplift, Realised: math.NaN()}
	}
	for _, so := range obs {
		for _, o := range so {
			u := &ups[o.campaign]
			u.Series++
			u.Days += o.days
			u.Sold += o.sold
			u.Baseline += o.base
		}
	}
	var extra, announced float64
	estimated := 0
	for i := range ups {
		u := &ups[i]
		if u.Baseline < minBaseline || u.Baseline <= 0 {
			continue
		}
		u.Realised = max(u.Sold/u.Baseline-1, -1)
		if u.Expected > 0 {
			extra += u.Sold - u.Baseline
			announced += u.Baseline * u.Expected
			estimated++
		}
	}
	kappa := 1.0
	if estimated >= minCampaigns && announced > 0 {
		kappa = min(max(extra/announced, minCalibration), maxCalibration)
	}
	for i := range ups {
		u := &ups[i]
		if math.IsNaN(u.Realised) {
			u.Applied = max(u.Expected*kappa, -1)
		} else {
			u.Applied = u.Realised
		}
	}
	return ups, kappa
}

// factors returns the campaign factor Π (1 + applied·share) of the days
// from..to-1 (indexes from start) for the campaigns of targets.
func factors(start time.Time, from, to int, targets []int, campaigns []Campaign, ups []Uplift) []float64 {
	out := make([]float64, to-from)
	for i := range out {
		out[i] = 1
	}
	for _, ci := range targets {
		c := &campaigns[ci]
		a := max(from, days(start, Date(c.Start)))
		b := min(to, days(start, Date(c.End.Add(-time.Nanosecond)))+1)
		for t := a; t < b; t++ {
			if sh := c.Share(start.AddDate(0, 0, t)); sh > 0 {
				out[t-from] *= 1 + ups[ci].Applied*sh
			}
		}
	}
	for i, f := range out {
		out[i] = max(f, 0)
	}
	return out
}

// targetsOf lists, for every series, the indexes of the campaigns that
// target its key and overlap [first day, last forecast day].
func targetsOf(series []Series, campaigns []Campaign, cat Catalog, horizon int) [][]int {
	out := make([][]int, len(series))
	for i := range series {
		s := &series[i]
		from, to := s.Start, s.Day(len(s.Units)+horizon)
		for ci := range campaigns {
			c := &campaigns[ci]
			if c.End.After(from) && c.Start.Before(to) && c.Targets(s.Key, cat) {
				out[i] = append(out[i], ci)
			}
		}
	}
	return out
}

// sortCampaigns orders campaigns by id (then start), so that results do
// not depend on the order they were read in.
func sortCampaigns(cs []Campaign) []Campaign {
	out := slices.Clone(cs)
	slices.SortStableFunc(out, func(a, b Campaign) int {
		if c := cmp.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return a.Start.Compare(b.Start)
	})
	return out
}
