package replenish

import (
	"cmp"
	"math"
	"slices"
)

// Class is a key's ABC/XYZ class: two letters, value (A, B, C) then
// variability (X, Y, Z), e.g. "AX".
type Class string

// Value is the ABC letter ("A", "B" or "C"; "" for an invalid class).
func (c Class) Value() string {
	if len(c) != 2 {
		return ""
	}
	return string(c[:1])
}

// Defaults of ClassConfig.
const (
	DefaultClassA = 0.8
	DefaultClassB = 0.95
	DefaultClassX = 0.5
	DefaultClassY = 1.0
)

// ClassConfig sets the class boundaries. Zero fields take the defaults.
type ClassConfig struct {
	// A and B are cumulative shares of the total value: the keys that
	// make the first A of it (ranked by value, high to low) are class A,
	// up to B class B, the rest C (defaults 0.8 and 0.95).
	A float64 `json:"a,omitempty"`
	B float64 `json:"b,omitempty"`
	// X and Y bound the coefficient of variation of weekly demand: at most
	// X is class X, at most Y class Y, above Z (defaults 0.5 and 1.0).
	X float64 `json:"x,omitempty"`
	Y float64 `json:"y,omitempty"`
}

func (c ClassConfig) withDefaults() ClassConfig {
	if c.A == 0 {
		c.A = DefaultClassA
	}
	if c.B == 0 {
		c.B = DefaultClassB
	}
	if c.X == 0 {
		c.X = DefaultClassX
	}
	if c.Y == 0 {
		c.Y = DefaultClassY
	}
	return c
}

// Classify returns the ABC/XYZ class of every key, in order. units[i] is
// key i's daily demand (oldest first), unitValue[i] the value of one of
// its units (a missing value counts as 0).
//
// ABC: keys are ranked by value (Σ units × unit value) from high to low,
// ties by index; a key is A while the cumulative share of the total value
// before it is below cfg.A (so the top key is always A), B while below
// cfg.B, else C; keys without value are C. XYZ: the coefficient of
// variation (population standard deviation / mean) of the weekly sums,
// over whole weeks counted back from the last day (all days when there
// are fewer than seven). A key with no demand is "CZ".
func Classify(units [][]float64, unitValue []float64, cfg ClassConfig) []Class {
	cfg = cfg.withDefaults()
	n := len(units)
	value := make([]float64, n)
	var total float64
	for i, u := range units {
		var uv float64
		if i < len(unitValue) {
			uv = unitValue[i]
		}
		var sum float64
		for _, v := range u {
			sum += v
		}
		value[i] = max(sum*uv, 0)
		if math.IsNaN(value[i]) || math.IsInf(value[i], 0) {
			value[i] = 0
		}
		total += value[i]
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(value[b], value[a]) })
	abc := make([]byte, n)
	var cum float64
	for _, i := range order {
		share := 0.0
		if total > 0 {
			share = cum / total
		}
		switch {
		case value[i] <= 0:
			abc[i] = 'C'
		case share < cfg.A:
			abc[i] = 'A'
		case share < cfg.B:
			abc[i] = 'B'
		default:
			abc[i] = 'C'
		}
		cum += value[i]
	}
	out := make([]Class, n)
	for i, u := range units {
		cv, ok := weeklyCV(u)
		if !ok {
			out[i] = "CZ"
			continue
		}
		xyz := byte('Z')
		switch {
		case cv <= cfg.X:
			xyz = 'X'
		case cv <= cfg.Y:
			xyz = 'Y'
		}
		out[i] = Class([]byte{abc[i], xyz})
	}
	return out
}

// weeklyCV is the coefficient of variation of the weekly sums of daily
// demand y (whole weeks back from the end; one partial week when y is
// shorter than a week); ok is false when there is no demand.
func weeklyCV(y []float64) (float64, bool) {
	var weeks []float64
	if len(y) < 7 {
		var s float64
		for _, v := range y {
			s += v
		}
		weeks = []float64{s}
	} else {
		for end := len(y); end >= 7; end -= 7 {
			var s float64
			for _, v := range y[end-7 : end] {
				s += v
			}
			weeks = append(weeks, s)
		}
	}
	var sum float64
	for _, w := range weeks {
		sum += w
	}
	if !(sum > 0) {
		return 0, false
	}
	mean := sum / float64(len(weeks))
	var ss float64
	for _, w := range weeks {
		ss += (w - mean) * (w - mean)
	}
	return math.Sqrt(ss/float64(len(weeks))) / mean, true
}
