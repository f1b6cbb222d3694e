package replenish

import (
	"slices"
	"testing"
)

// weeks returns n weeks of daily demand with the given weekly sums (spread
// over the first day of each week).
func weeks(sums ...float64) []float64 {
	out := make([]float64, 7*len(sums))
	for i, s := range sums {
		out[7*i] = s
	}
	return out
}

func TestClassify(t *testing.T) {
	steady := weeks(10, 10, 10, 10)
	tests := []struct {
		name  string
		units [][]float64
		value []float64
		cfg   ClassConfig
		want  []Class
	}{
		{
			name:  "value shares: the first 80% A, to 95% B, the rest C",
			units: [][]float64{steady, steady, steady, steady},
			value: []float64{1, 14, 80, 5}, // shares 0.01, 0.14, 0.80, 0.05
			want:  []Class{"CX", "BX", "AX", "BX"},
		},
		{
			name:  "the top key is A even above the share",
			units: [][]float64{steady, steady},
			value: []float64{99, 1},
			want:  []Class{"AX", "CX"},
		},
		{
			name:  "ties ranked by index",
			units: [][]float64{steady, steady, steady, steady},
			value: []float64{1, 1, 1, 1}, // cumulative before: 0, 0.25, 0.5, 0.75
			cfg:   ClassConfig{A: 0.5, B: 0.75},
			want:  []Class{"AX", "AX", "BX", "CX"},
		},
		{
			name: "variability of weekly sums",
			units: [][]float64{
				weeks(10, 10, 10, 10), // cv 0
				weeks(5, 15, 5, 15),   // cv 0.5: X at the bound
				weeks(2, 18, 2, 18),   // cv 0.8
				weeks(0, 40, 0, 0),    // cv √3
				{3, 0, 0, 0, 0, 0, 0}, // one week: cv 0
			},
			value: []float64{1, 1, 1, 1, 1},
			cfg:   ClassConfig{A: 1, B: 1},
			want:  []Class{"AX", "AX", "AY", "AZ", "AX"},
		},
		{
			name:  "whole weeks counted back from the last day",
			units: [][]float64{append([]float64{100, 100}, steady...)},
			value: []float64{1},
			want:  []Class{"AX"},
		},
		{
			name:  "no demand is CZ",
			units: [][]float64{steady, make([]float64, 28), nil},
			value: []float64{1, 5, 5},
			want:  []Class{"AX", "CZ", "CZ"},
		},
		{
			name:  "no value is C",
			units: [][]float64{steady, steady},
			value: []float64{1},
			want:  []Class{"AX", "CX"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.units, tt.value, tt.cfg); !slices.Equal(got, tt.want) {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClassValue(t *testing.T) {
	for c, want := range map[Class]string{"AX": "A", "CZ": "C", "": "", "A": ""} {
		if got := c.Value(); got != want {
			t.Errorf("%q.Value() = %q, want %q", c, got, want)
		}
	}
}
