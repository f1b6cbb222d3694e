package ets

import (
	"errors"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stockflow/stockflow/models/forecast"
)

// airPassengers is R's AirPassengers (monthly, 1949-1960).
var airPassengers = []float64{
	112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118,
	115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140,
	145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166,
	171, 180, 193, 181, 183, 218, 230, 242, 209, 191, 172, 194,
	196, 196, 236, 235, 229, 243, 264, 272, 237, 211, 180, 201,
	204, 188, 235, 227, 234, 264, 302, 293, 259, 229, 203, 229,
	242, 233, 267, 269, 270, 315, 364, 347, 312, 274, 237, 278,
	284, 277, 317, 313, 318, 374, 413, 405, 355, 306, 271, 306,
	315, 301, 356, 348, 355, 422, 465, 467, 404, 347, 305, 336,
	340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337,
	360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405,
	417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432,
}

func TestAutoAirPassengers(t *testing.T) {
	f, err := Auto().FitETS(airPassengers, 12)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v alpha %.4f beta %.4f gamma %.4f phi %.4f AICc %.3f", f.Spec, f.Alpha, f.Beta, f.Gamma, f.Phi, f.AICc)
	// R (forecast 8.x): ets(AirPassengers) is ETS(M,Ad,M) with alpha 0.7096,
	// beta 0.0204, gamma 1e-04, phi 0.98.
	want := Spec{Error: Multiplicative, Trend: Additive, Season: Multiplicative, Damped: true}
	if f.Spec != want {
		t.Fatalf("chose %v, want %v as R", f.Spec, want)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"alpha", f.Alpha, 0.7096}, {"beta", f.Beta, 0.0204}, {"gamma", f.Gamma, 1e-4}, {"phi", f.Phi, 0.98}} {
		if math.Abs(c.got-c.want) > 5e-4 {
			t.Errorf("%s = %.5f, want R's %.4f", c.name, c.got, c.want)
		}
	}
}

func TestFitSpecs(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		m    int
	}{
		{name: "ANN", spec: Spec{Error: Additive, Trend: None, Season: None}, m: 1},
		{name: "AAN", spec: Spec{Error: Additive, Trend: Additive, Season: None}, m: 1},
		{name: "AAdN", spec: Spec{Error: Additive, Trend: Additive, Season: None, Damped: true}, m: 1},
		{name: "MNN", spec: Spec{Error: Multiplicative, Trend: None, Season: None}, m: 1},
		{name: "ANA", spec: Spec{Error: Additive, Trend: None, Season: Additive}, m: 12},
		{name: "AAA", spec: Spec{Error: Additive, Trend: Additive, Season: Additive}, m: 12},
		{name: "MAM", spec: Spec{Error: Multiplicative, Trend: Additive, Season: Multiplicative}, m: 12},
		{name: "MAdM", spec: Spec{Error: Multiplicative, Trend: Additive, Season: Multiplicative, Damped: true}, m: 12},
		{name: "MNA short (Fourier start)", spec: Spec{Error: Multiplicative, Trend: None, Season: Additive}, m: 12},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y := airPassengers
			if tc.name == "MNA short (Fourier start)" {
				y = y[:30]
			}
			f, err := New(tc.spec).FitETS(y, tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if f.Alpha < lowerSmooth || f.Alpha > upperSmooth || f.Beta > f.Alpha || f.Gamma > 1-f.Alpha {
				t.Errorf("parameters out of bounds: %+v", f)
			}
			if f.Spec.Damped && (f.Phi < lowerPhi || f.Phi > upperPhi) {
				t.Errorf("phi %g out of [0.8, 0.98]", f.Phi)
			}
			levels := []float64{0.05, 0.5, 0.95}
			fc, err := f.Forecast(24, levels)
			if err != nil {
				t.Fatal(err)
			}
			lo, mid, hi := fc.Quantiles[0.05], fc.Quantiles[0.5], fc.Quantiles[0.95]
			for i, mu := range fc.Mean {
				if !(lo[i] < mid[i] && mid[i] < hi[i]) {
					t.Fatalf("step %d: quantiles not increasing: %g %g %g", i, lo[i], mid[i], hi[i])
				}
				if mu < lo[i] || mu > hi[i] {
					t.Errorf("step %d: mean %g outside 90%% interval [%g, %g]", i, mu, lo[i], hi[i])
				}
			}
			if hi[23]-lo[23] <= hi[0]-lo[0] {
				t.Errorf("interval does not widen: %g at h=1, %g at h=24", hi[0]-lo[0], hi[23]-lo[23])
			}
			again, err := f.Forecast(24, levels)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(again.Quantiles[0.95], hi) {
				t.Error("quantiles differ between two calls: the simulation is not deterministic")
			}
		})
	}
}

// TestLinearIntervals checks the analytic SES variance: sigma2*(1+(h-1)*alpha^2).
func TestLinearIntervals(t *testing.T) {
	f, err := SES().FitETS(airPassengers[:60], 1)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := f.Forecast(5, []float64{0.975})
	if err != nil {
		t.Fatal(err)
	}
	for h := 1; h <= 5; h++ {
		want := fc.Mean[h-1] + 1.959963984540054*math.Sqrt(f.Sigma2*(1+float64(h-1)*f.Alpha*f.Alpha))
		if got := fc.Quantiles[0.975][h-1]; math.Abs(got-want) > 1e-9*math.Abs(want) {
			t.Errorf("h=%d: %g, want %g", h, got, want)
		}
	}
}

func TestFitErrors(t *testing.T) {
	withZero := slices.Clone(airPassengers)
	withZero[5] = 0
	cases := []struct {
		name  string
		model *Model
		y     []float64
		m     int
		want  error
	}{
		{name: "too short", model: Holt(), y: []float64{1, 2, 3, 4, 5}, m: 1, want: forecast.ErrTooShort},
		{name: "multiplicative on zero", model: New(Spec{Error: Multiplicative, Trend: None, Season: None}), y: withZero, m: 1, want: ErrNotPositive},
		{name: "season with m = 1", model: New(Spec{Error: Additive, Trend: None, Season: Additive}), y: airPassengers, m: 1},
		{name: "season with m > 24", model: New(Spec{Error: Additive, Trend: None, Season: Additive}), y: airPassengers, m: 48},
		{name: "forbidden A,N,M", model: New(Spec{Error: Additive, Trend: None, Season: Multiplicative}), y: airPassengers, m: 12},
		{name: "auto too short", model: Auto(), y: []float64{1, 2}, m: 1, want: forecast.ErrTooShort},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.model.Fit(tc.y, tc.m)
			if err == nil {
				t.Fatal("want an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestForecastUnfitted(t *testing.T) {
	if _, err := new(Fitted).Forecast(3, nil); err == nil {
		t.Error("want an error from a zero Fitted")
	}
}

func TestAutoSkips(t *testing.T) {
	cases := []struct {
		name string
		y    []float64
		m    int
		ok   func(Spec) bool
	}{
		{name: "non-positive data: additive only", y: append([]float64{0}, airPassengers...), m: 12, ok: func(s Spec) bool { return s.Error == Additive && s.Season != Multiplicative }},
		{name: "m > 24: no season", y: airPassengers, m: 168, ok: func(s Spec) bool { return s.Season == None }},
		{name: "m = 1: no season", y: airPassengers, m: 1, ok: func(s Spec) bool { return s.Season == None }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Auto().FitETS(tc.y, tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.ok(f.Spec) {
				t.Errorf("chose %v", f.Spec)
			}
		})
	}
}

func TestAdmissible(t *testing.T) {
	cases := []struct {
		name                    string
		alpha, beta, gamma, phi float64
		m                       int
		trend, season           bool
		want                    bool
	}{
		{name: "ses", alpha: 0.5, phi: 1, m: 1, want: true},
		{name: "holt", alpha: 0.5, beta: 0.1, phi: 1, m: 1, trend: true, want: true},
		{name: "seasonal usual", alpha: 0.3, beta: 0.05, gamma: 0.1, phi: 1, m: 12, trend: true, season: true, want: true},
		{name: "gamma too large", alpha: 0.3, gamma: 2.5, phi: 1, m: 4, season: true, want: false},
		{name: "phi above 1", alpha: 0.3, phi: 1.1, m: 1, want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := admissible(tc.alpha, tc.beta, tc.gamma, tc.phi, tc.m, tc.trend, tc.season); got != tc.want {
				t.Errorf("admissible = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMaxRootModulus(t *testing.T) {
	// (z-0.5)(z+2)(z-1i)(z+1i) = (z^2+1.5z-1)(z^2+1) = z^4+1.5z^3+0z^2+1.5z-1
	got := maxRootModulus([]float64{1, 1.5, 0, 1.5, -1})
	if math.Abs(got-2) > 1e-9 {
		t.Errorf("max |root| = %g, want 2", got)
	}
}

// TestRootsWithin checks the Schur–Cohn test against the roots found by
// Durand–Kerner on the characteristic polynomials of random seasonal
// parameters, as R's admissible() would judge them.
func TestRootsWithin(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	disagree, stable := 0, 0
	for _, m := range []int{2, 4, 7, 12, 24} {
		for range 400 {
			alpha, beta, gamma := rng.Float64()*1.5, rng.Float64()*0.5-0.1, rng.Float64()*1.5
			phi := 0.8 + 0.2*rng.Float64()
			c := []float64{1, alpha + beta - phi}
			for i := 0; i < m-2; i++ {
				c = append(c, alpha+beta-alpha*phi)
			}
			c = append(c, alpha+beta-alpha*phi+gamma-1, phi*(1-alpha-gamma))
			mod := maxRootModulus(c)
			if math.Abs(mod-1) < 1e-6 {
				continue // too close to call for either method
			}
			want := mod <= 1+1e-10
			if want {
				stable++
			}
			if rootsWithin(c, 1+1e-10) != want {
				disagree++
				t.Errorf("m=%d alpha=%g beta=%g gamma=%g phi=%g: max |root| %g, Schur–Cohn says %v", m, alpha, beta, gamma, phi, mod, !want)
			}
		}
	}
	if stable == 0 {
		t.Error("no stable case drawn: the test proves nothing")
	}
}

func TestQuantile7(t *testing.T) {
	x := []float64{1, 2, 3, 4}
	cases := []struct {
		p, want float64
	}{{0, 1}, {1, 4}, {0.5, 2.5}, {0.1, 1.3}}
	for _, tc := range cases {
		if got := quantile7(x, tc.p); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("quantile7(%g) = %g, want %g", tc.p, got, tc.want)
		}
	}
}

// maxRootModulus returns the largest modulus of the roots of the monic
// polynomial with coefficients c (highest degree first), found by the
// Durand–Kerner (Weierstrass) iteration.
func maxRootModulus(c []float64) float64 {
	deg := len(c) - 1
	// Cauchy bound for the starting circle.
	r := 0.0
	for _, v := range c[1:] {
		r = math.Max(r, math.Abs(v))
	}
	r++
	z := make([]complex128, deg)
	for i := range z {
		z[i] = cmplx.Rect(r*0.9, 0.4+2*math.Pi*float64(i)/float64(deg))
	}
	eval := func(x complex128) complex128 {
		v := complex(1, 0)
		for _, a := range c[1:] {
			v = v*x + complex(a, 0)
		}
		return v
	}
	for iter := 0; iter < 500; iter++ {
		moved := 0.0
		for i := range z {
			den := complex(1, 0)
			for j := range z {
				if j != i {
					den *= z[i] - z[j]
				}
			}
			if den == 0 {
				den = complex(1e-12, 0)
			}
			d := eval(z[i]) / den
			z[i] -= d
			moved = math.Max(moved, cmplx.Abs(d))
		}
		if moved < 1e-14 {
			break
		}
	}
	best := 0.0
	for _, v := range z {
		best = math.Max(best, cmplx.Abs(v))
	}
	return best
}

// TestSimulatedIntervals checks the simulated quantiles of ETS(M,N,N)
// against its analytic variance (Hyndman et al. 2008, class 2):
// mu^2 * ((1+sigma2) * (1+alpha^2*sigma2)^(h-1) - 1).
func TestSimulatedIntervals(t *testing.T) {
	m := New(Spec{Error: Multiplicative, Trend: None, Season: None})
	m.Paths = 40000
	f, err := m.FitETS(airPassengers[:60], 1)
	if err != nil {
		t.Fatal(err)
	}
	// The variance of the simulated law, from its quantile function.
	const k = 400
	levels := make([]float64, k)
	for i := range levels {
		levels[i] = (float64(i) + 0.5) / k
	}
	fc, err := f.Forecast(12, levels)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []int{1, 6, 12} {
		mu := fc.Mean[h-1]
		want := mu * mu * ((1+f.Sigma2)*math.Pow(1+f.Alpha*f.Alpha*f.Sigma2, float64(h-1)) - 1)
		var s, s2 float64
		for _, l := range levels {
			q := fc.Quantiles[l][h-1]
			s += q
			s2 += q * q
		}
		mean := s / k
		got := s2/k - mean*mean
		if math.Abs(mean-mu) > 0.01*mu || math.Abs(got-want) > 0.05*want {
			t.Errorf("h=%d: simulated mean %g variance %g, analytic %g and %g", h, mean, got, mu, want)
		}
	}
}
