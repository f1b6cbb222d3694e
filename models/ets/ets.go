// Package ets fits the exponential smoothing state-space models of Hyndman
// et al. (2008) as R's forecast::ets does: error additive or
// multiplicative, trend none, additive or additive damped, season none,
// additive or multiplicative; the smoothing parameters and the initial
// states are estimated together by Nelder–Mead on R's likelihood, inside
// the "usual" bounds (0.0001..0.9999, beta < alpha, gamma < 1-alpha,
// phi in [0.8, 0.98]) intersected with the admissible region; Auto picks
// the model with the smallest AICc among those that apply.
//
// Seasonal models need 2 <= m <= 24 and more than m observations, as in R;
// a longer period (hourly data with a weekly cycle, m = 168) is fitted
// without season here and needs another method (seasonal decomposition or
// multiple-seasonality models). Multiplicative trends are not offered
// (R's default, allow.multiplicative.trend = FALSE).
//
// Like everything under models/, it imports only the standard library and
// other models/ packages.
package ets

import (
	"errors"
	"fmt"
	"math"

	"github.com/stockflow/stockflow/models/forecast"
	"github.com/stockflow/stockflow/models/optim"
)

// Component is the form of the error, trend or season of a model.
type Component byte

// The component forms.
const (
	None           Component = 'N'
	Additive       Component = 'A'
	Multiplicative Component = 'M'
)

// Spec names one ETS model: ETS(Error, Trend[d], Season).
type Spec struct {
	Error, Trend, Season Component
	// Damped damps an additive trend (Ad).
	Damped bool
}

// String returns the model's name, e.g. "ETS(M,Ad,A)".
func (s Spec) String() string {
	t := string(s.Trend)
	if s.Damped {
		t += "d"
	}
	return fmt.Sprintf("ETS(%c,%s,%c)", s.Error, t, s.Season)
}

// Validate reports whether the spec is one this package fits.
func (s Spec) Validate() error {
	switch {
	case s.Error != Additive && s.Error != Multiplicative:
		return fmt.Errorf("ets: error must be A or M in %v", s)
	case s.Trend != None && s.Trend != Additive:
		return fmt.Errorf("ets: trend must be N or A in %v", s)
	case s.Season != None && s.Season != Additive && s.Season != Multiplicative:
		return fmt.Errorf("ets: season must be N, A or M in %v", s)
	case s.Damped && s.Trend == None:
		return fmt.Errorf("ets: damping without trend in %v", s)
	case s.Error == Additive && s.Season == Multiplicative:
		return fmt.Errorf("ets: %v is not offered (forbidden in R)", s)
	}
	return nil
}

// linear reports whether the model is in Hyndman et al.'s class 1 (all
// components additive), which has analytic prediction intervals.
func (s Spec) linear() bool {
	return s.Error == Additive && s.Season != Multiplicative
}

// Criterion is what the optimiser minimises.
type Criterion int

// The criteria, as R's opt.crit.
const (
	// Likelihood is R's default "lik".
	Likelihood Criterion = iota
	// MSE is the in-sample mean squared one-step error, R's "mse", used by
	// R's ses() and holt() and hence by the M4 benchmarks.
	MSE
)

// ErrNotPositive is returned when a multiplicative model is asked for data
// that are not all positive.
var ErrNotPositive = errors.New("ets: multiplicative model needs positive data")

// Model is an ETS model, or the automatic choice among them, before
// fitting. It implements forecast.Model.
type Model struct {
	name string
	// spec is nil for automatic selection.
	spec *Spec
	// Criterion is what the parameters minimise (Likelihood for New and
	// Auto, MSE for SES, Holt and Damped, as R's ets, ses and holt).
	Criterion Criterion
	// Restarts are extra Nelder–Mead runs from the optimum (0 is R).
	Restarts int
	// MaxEval bounds the objective evaluations of one Nelder–Mead run
	// (0 means 2000, as R); lower it to trade accuracy for speed.
	MaxEval int
	// Paths is the number of simulated paths for the quantiles of
	// non-linear models (0 means 5000, as R).
	Paths int
	// Seed seeds the simulation; the same seed gives the same quantiles.
	Seed uint64
}

var _ forecast.Model = (*Model)(nil)

// New returns the model spec, fitted by likelihood.
func New(spec Spec) *Model {
	s := spec
	return &Model{name: "ets-" + spec.String(), spec: &s}
}

// Auto returns the automatic choice of the model with the smallest AICc.
func Auto() *Model { return &Model{name: "autoets"} }

// SES is simple exponential smoothing, ETS(A,N,N) fitted as R's ses()
// (minimising the in-sample MSE): the M4 "SES" benchmark.
func SES() *Model {
	return &Model{name: "ses", spec: &Spec{Error: Additive, Trend: None, Season: None}, Criterion: MSE}
}

// Holt is Holt's linear trend, ETS(A,A,N) fitted as R's holt(): the M4
// "Holt" benchmark.
func Holt() *Model {
	return &Model{name: "holt", spec: &Spec{Error: Additive, Trend: Additive, Season: None}, Criterion: MSE}
}

// Damped is the additive damped trend, ETS(A,Ad,N) fitted as R's
// holt(damped = TRUE): the M4 "Damped" benchmark.
func Damped() *Model {
	return &Model{name: "damped", spec: &Spec{Error: Additive, Trend: Additive, Season: None, Damped: true}, Criterion: MSE}
}

// Name implements forecast.Model.
func (m *Model) Name() string { return m.name }

// Fit implements forecast.Model. m is the seasonal period (1 for none).
func (m *Model) Fit(y []float64, period int) (forecast.Fitted, error) {
	f, err := m.FitETS(y, period)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// FitETS is Fit returning the concrete fitted model.
func (m *Model) FitETS(y []float64, period int) (*Fitted, error) {
	if period < 1 {
		period = 1
	}
	for _, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("ets: series has missing or infinite values")
		}
	}
	positive := len(y) > 0
	for _, v := range y {
		if v <= 0 {
			positive = false
			break
		}
	}
	seasonal := period > 1 && period <= 24 && len(y) > period
	if m.spec != nil {
		s := *m.spec
		if err := s.Validate(); err != nil {
			return nil, err
		}
		if s.Season != None && !seasonal {
			return nil, fmt.Errorf("ets: %v needs 2 <= m <= 24 and more than m observations (m = %d, n = %d)", s, period, len(y))
		}
		if s.Error == Multiplicative || s.Season == Multiplicative {
			if !positive {
				return nil, ErrNotPositive
			}
		}
		return m.fitOne(y, period, s)
	}
	var best *Fitted
	for _, e := range []Component{Additive, Multiplicative} {
		if e == Multiplicative && !positive {
			continue
		}
		for _, tr := range []struct {
			t Component
			d bool
		}{{None, false}, {Additive, true}, {Additive, false}} {
			for _, se := range []Component{None, Additive, Multiplicative} {
				if se != None && !seasonal {
					continue
				}
				if se == Multiplicative && (e == Additive || !positive) {
					continue
				}
				f, err := m.fitOne(y, period, Spec{Error: e, Trend: tr.t, Season: se, Damped: tr.d})
				if err != nil {
					continue
				}
				if best == nil || f.AICc < best.AICc {
					best = f
				}
			}
		}
	}
	if best == nil {
		return nil, fmt.Errorf("ets: no model fits %d observations: %w", len(y), forecast.ErrTooShort)
	}
	return best, nil
}

// Fitted is an ETS model estimated on one series. It implements
// forecast.Fitted.
type Fitted struct {
	Spec Spec
	// M is the seasonal period the model uses (1 without season).
	M int
	// Alpha, Beta, Gamma and Phi are the estimates (Beta 0 without trend,
	// Gamma 0 without season, Phi 1 without damping).
	Alpha, Beta, Gamma, Phi float64
	// Init is the initial state: l0, b0 (with trend), then s0..s(m-1).
	Init []float64
	// Sigma2 is the residual variance (of relative errors for
	// multiplicative error models), SSE / (n - parameters).
	Sigma2 float64
	// Lik is R's -2*log-likelihood up to a constant; AIC, AICc and BIC
	// are computed from it as R does.
	Lik, AIC, AICc, BIC float64
	// MSE is the in-sample mean squared one-step error.
	MSE float64
	// N is the number of observations.
	N int

	last  state
	paths int
	seed  uint64
}

var _ forecast.Fitted = (*Fitted)(nil)

func (m *Model) fitOne(y []float64, period int, spec Spec) (*Fitted, error) {
	mm := 1
	if spec.Season != None {
		mm = period
	}
	if len(y) < 4 {
		return nil, forecast.ErrTooShort
	}
	alpha, beta, gamma, phi := initParams(spec, mm)
	par := []float64{alpha}
	if spec.Trend != None {
		par = append(par, beta)
	}
	if spec.Season != None {
		par = append(par, gamma)
	}
	if spec.Damped {
		par = append(par, phi)
	}
	nsmooth := len(par)
	par = append(par, initStates(y, spec, mm)...)
	np := len(par)
	if np >= len(y)-1 {
		return nil, fmt.Errorf("ets: %v has %d parameters for %d observations: %w", spec, np, len(y), forecast.ErrTooShort)
	}
	k := &kernel{spec: spec, m: mm}
	st := state{s: make([]float64, mm)}
	unpack := func(p []float64) bool {
		i := 0
		k.alpha = p[i]
		i++
		k.beta, k.gamma, k.phi = 0, 0, 1
		if spec.Trend != None {
			k.beta = p[i]
			i++
		}
		if spec.Season != None {
			k.gamma = p[i]
			i++
		}
		if spec.Damped {
			k.phi = p[i]
			i++
		}
		// usual bounds
		if k.alpha < lowerSmooth || k.alpha > upperSmooth {
			return false
		}
		if spec.Trend != None && (k.beta < lowerSmooth || k.beta > k.alpha || k.beta > upperSmooth) {
			return false
		}
		if spec.Damped && (k.phi < lowerPhi || k.phi > upperPhi) {
			return false
		}
		if spec.Season != None && (k.gamma < lowerSmooth || k.gamma > 1-k.alpha || k.gamma > upperSmooth) {
			return false
		}
		if !admissible(k.alpha, k.beta, k.gamma, k.phi, mm, spec.Trend != None, spec.Season != None) {
			return false
		}
		st.l = p[i]
		i++
		if spec.Trend != None {
			st.b = p[i]
			i++
		}
		if spec.Season != None {
			st.off = 0
			sum := 0.0
			for j := 0; j < mm-1; j++ {
				st.s[j] = p[i+j]
				sum += p[i+j]
			}
			if spec.Season == Multiplicative {
				st.s[mm-1] = float64(mm) - sum
				for _, v := range st.s {
					if v < 0 {
						return false
					}
				}
			} else {
				st.s[mm-1] = -sum
			}
		}
		return true
	}
	objective := func(p []float64) float64 {
		if !unpack(p) {
			return math.Inf(1)
		}
		lik, mse := k.run(y, &st, nil)
		if m.Criterion == MSE {
			if math.IsNaN(lik) {
				return math.Inf(1)
			}
			return mse
		}
		if lik < -1e10 {
			lik = -1e10
		}
		if math.IsNaN(lik) {
			return math.Inf(1)
		}
		return lik
	}
	res, err := optim.NelderMead(objective, par, optim.NelderMeadOptions{MaxEval: m.MaxEval, Restarts: m.Restarts})
	if err != nil {
		return nil, fmt.Errorf("ets: fit %v: %w", spec, err)
	}
	if !unpack(res.X) {
		return nil, fmt.Errorf("ets: fit %v: no admissible parameters", spec)
	}
	f := &Fitted{Spec: spec, M: mm, Alpha: k.alpha, Beta: k.beta, Gamma: k.gamma, Phi: k.phi, N: len(y), paths: m.Paths, seed: m.Seed}
	f.Init = append([]float64{st.l}, res.X[nsmooth+1:]...)
	if spec.Season != None {
		f.Init = append(f.Init, st.s[mm-1])
	}
	e := make([]float64, len(y))
	lik, mse := k.run(y, &st, e)
	if math.IsNaN(lik) || math.IsInf(lik, 0) {
		return nil, fmt.Errorf("ets: fit %v: likelihood not finite", spec)
	}
	f.last = st
	f.Lik, f.MSE = lik, mse
	npar := float64(np + 1)
	n := float64(len(y))
	f.AIC = lik + 2*npar
	f.BIC = lik + math.Log(n)*npar
	f.AICc = f.AIC + 2*npar*(npar+1)/(n-npar-1)
	if n-npar-1 <= 0 {
		f.AICc = math.Inf(1)
	}
	sse := 0.0
	for _, v := range e {
		sse += v * v
	}
	f.Sigma2 = sse / (n - npar)
	return f, nil
}

func (f *Fitted) kernel() *kernel {
	return &kernel{spec: f.Spec, m: f.M, alpha: f.Alpha, beta: f.Beta, gamma: f.Gamma, phi: f.Phi}
}
