package forecast

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stockflow/stockflow/models/backtest"
	"github.com/stockflow/stockflow/models/ensemble"
	"github.com/stockflow/stockflow/models/ets"
	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/intermittent"
	"github.com/stockflow/stockflow/models/theta"
)

// The named model sets (Config.Models, --models).
const (
	// SetDefault is backtest.Defaults for daily data: the mean of the last
	// 21 or 28 days, EWMAs at α 0.03, 0.05 and 0.1 and TSB, each also
	// times a day-of-week profile (12 candidates), 10 origins, and the
	// mean of the best two or three when that scores lower. It is `auto`
	// of `stockflow forecast eval --dataset m5-tiny`.
	SetDefault = "default"
	// SetFast is for scale: four profiled level models (the mean of 28
	// days, EWMA 0.05 and 0.1, TSB), 4 origins, pairs combined.
	SetFast = "fast"
	// SetFull adds, to SetDefault, automatic ETS, Theta, Croston, SBA and
	// ADIDA. On intermittent series (more than backtest.IntermittentShare
	// zero days) ETS is restricted to ETS(A,N,N), the only form that suits
	// them, and is much cheaper there.
	SetFull = "full"
)

// etsMaxEval bounds the Nelder–Mead evaluations of each ETS fit of
// SetFull, as backtest.AutoMaxEval does for M4.
const etsMaxEval = backtest.AutoMaxEval

// etsPaths is the number of simulated paths for the quantiles of
// non-linear ETS models in SetFull.
const etsPaths = 1000

// ModelSet is the candidate set Auto chooses from, and how.
type ModelSet struct {
	// Name is a set name or the comma-separated candidate list it was
	// parsed from.
	Name string
	// Candidates returns the models compared on the cleaned series y.
	Candidates func(y []float64) []forecast.Model
	// Origins and Combine are backtest.Auto's.
	Origins, Combine int
}

func dailyDefaults() []forecast.Model { return backtest.Defaults(nil, 7) }

func fastCandidates() []forecast.Model {
	return []forecast.Model{
		backtest.Profile{Model: backtest.WindowMean{N: 28}, M: 7, Label: "mean28*p7"},
		backtest.Profile{Model: backtest.EWMA{Alpha: 0.05}, M: 7, Label: "ewma0.05*p7"},
		backtest.Profile{Model: backtest.EWMA{Alpha: 0.1}, M: 7, Label: "ewma0.1*p7"},
		backtest.Profile{Model: intermittent.TSB(0.1, 0.1), M: 7, Label: "tsb*p7"},
	}
}

func autoETS() *ets.Model {
	m := ets.Auto()
	m.MaxEval, m.Paths, m.Seed = etsMaxEval, etsPaths, 1
	return m
}

func sesETS() *ets.Model {
	m := ets.New(ets.Spec{Error: ets.Additive, Trend: ets.None, Season: ets.None})
	m.MaxEval, m.Paths, m.Seed = etsMaxEval, etsPaths, 1
	return m
}

// intermittentETS is automatic ETS on regular series and ETS(A,N,N) on
// intermittent ones, under one name so that reports count them together.
type intermittentETS struct{}

func (intermittentETS) Name() string { return "ets" }

func (intermittentETS) Fit(y []float64, m int) (forecast.Fitted, error) {
	if backtest.ZeroShare(y) > backtest.IntermittentShare {
		return sesETS().Fit(y, m)
	}
	return autoETS().Fit(y, m)
}

func extraCandidates() []forecast.Model {
	return []forecast.Model{
		intermittentETS{},
		theta.Standard{},
		intermittent.Croston(),
		intermittent.SBA(),
		intermittent.ADIDA(),
	}
}

// registry maps every candidate name to its model, for comma lists.
func registry() map[string]forecast.Model {
	out := map[string]forecast.Model{}
	for _, m := range slices.Concat(dailyDefaults(), extraCandidates()) {
		out[m.Name()] = m
	}
	out["autoets"] = autoETS()
	out["ets-ann"] = sesETS()
	return out
}

// CandidateNames lists the names a comma-separated --models may use.
func CandidateNames() []string {
	var names []string
	for n := range registry() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ParseModelSet reads a set name (default, fast, full; empty is default)
// or a comma-separated list of candidate names (CandidateNames), compared
// with SetDefault's origins and combinations.
func ParseModelSet(spec string) (ModelSet, error) {
	switch strings.TrimSpace(spec) {
	case "", SetDefault:
		return ModelSet{Name: SetDefault, Candidates: func([]float64) []forecast.Model { return dailyDefaults() }, Origins: 10, Combine: 3}, nil
	case SetFast:
		return ModelSet{Name: SetFast, Candidates: func([]float64) []forecast.Model { return fastCandidates() }, Origins: 4, Combine: 2}, nil
	case SetFull:
		return ModelSet{Name: SetFull, Candidates: func([]float64) []forecast.Model {
			return slices.Concat(dailyDefaults(), extraCandidates())
		}, Origins: 10, Combine: 3}, nil
	}
	reg := registry()
	var cands []forecast.Model
	var names []string
	for n := range strings.SplitSeq(spec, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		m, ok := reg[n]
		if !ok {
			return ModelSet{}, fmt.Errorf("unknown model %q (have the sets %s, %s, %s or a list of %s)", n, SetDefault, SetFast, SetFull, strings.Join(CandidateNames(), ", "))
		}
		if slices.Contains(names, n) {
			continue
		}
		cands = append(cands, m)
		names = append(names, n)
	}
	if len(cands) == 0 {
		return ModelSet{}, fmt.Errorf("no models in %q", spec)
	}
	return ModelSet{Name: strings.Join(names, ","), Candidates: func([]float64) []forecast.Model { return slices.Clone(cands) }, Origins: 10, Combine: 3}, nil
}

// resolve finds the model Auto chose by its name among cands: a candidate,
// or "mean(a,b,…)" of candidates (backtest's combinations).
func resolve(name string, cands []forecast.Model) (forecast.Model, bool) {
	for _, c := range cands {
		if c.Name() == name {
			return c, true
		}
	}
	inner, ok := strings.CutPrefix(name, "mean(")
	if !ok {
		return nil, false
	}
	inner, ok = strings.CutSuffix(inner, ")")
	if !ok {
		return nil, false
	}
	var members []forecast.Model
	for n := range strings.SplitSeq(inner, ",") {
		m, ok := resolve(n, cands)
		if !ok {
			return nil, false
		}
		members = append(members, m)
	}
	return combination(name, members), true
}

// combination is the mean combination Auto builds when a mean of its best
// candidates wins.
func combination(name string, members []forecast.Model) forecast.Model {
	return ensemble.Combination{Label: name, Members: members}
}
