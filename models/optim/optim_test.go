package optim

import (
	"math"
	"testing"
)

func TestNelderMead(t *testing.T) {
	rosen := func(x []float64) float64 {
		a, b := 1-x[0], x[1]-x[0]*x[0]
		return a*a + 100*b*b
	}
	cases := []struct {
		name string
		f    func([]float64) float64
		x0   []float64
		opt  NelderMeadOptions
		want []float64
		tol  float64
	}{
		{
			name: "quadratic",
			f:    func(x []float64) float64 { return (x[0]-3)*(x[0]-3) + 2*(x[1]+1)*(x[1]+1) },
			x0:   []float64{0, 0},
			want: []float64{3, -1},
			tol:  1e-3,
		},
		{
			name: "rosenbrock with restarts",
			f:    rosen,
			x0:   []float64{-1.2, 1},
			opt:  NelderMeadOptions{MaxEval: 5000, Restarts: 5},
			want: []float64{1, 1},
			tol:  1e-3,
		},
		{
			name: "bounded minimum on the edge",
			f:    func(x []float64) float64 { return (x[0] - 2) * (x[0] - 2) },
			x0:   []float64{0.5},
			opt:  NelderMeadOptions{Lower: []float64{0}, Upper: []float64{1}, Restarts: 3},
			want: []float64{1},
			tol:  1e-3,
		},
		{
			name: "infeasible region as +Inf",
			f: func(x []float64) float64 {
				if x[0] < 0.5 {
					return math.Inf(1)
				}
				return x[0]*x[0] + x[1]*x[1]
			},
			x0:   []float64{2, 2},
			opt:  NelderMeadOptions{Restarts: 3},
			want: []float64{0.5, 0},
			tol:  1e-3,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := NelderMead(tc.f, tc.x0, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.want {
				if math.Abs(res.X[i]-tc.want[i]) > tc.tol {
					t.Errorf("x[%d] = %g, want %g (f = %g, evals %d)", i, res.X[i], tc.want[i], res.F, res.Evals)
				}
			}
		})
	}
}

// TestNelderMeadMatchesR pins the exact path of R's nmmin:
// optim(c(-1.2, 1), fr) in R returns par 1.000260 1.000506, value 8.825241e-08,
// counts 195.
func TestNelderMeadMatchesR(t *testing.T) {
	fr := func(x []float64) float64 {
		a, b := 1-x[0], x[1]-x[0]*x[0]
		return a*a + 100*b*b
	}
	res, err := NelderMead(fr, []float64{-1.2, 1}, NelderMeadOptions{MaxEval: 500})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.X[0]-1.000260) > 1e-6 || math.Abs(res.X[1]-1.000506) > 1e-6 || res.Evals != 195 {
		t.Errorf("got x=%v f=%g evals=%d, want R's 1.000260 1.000506 after 195", res.X, res.F, res.Evals)
	}
}

func TestNelderMeadErrors(t *testing.T) {
	cases := []struct {
		name string
		x0   []float64
		opt  NelderMeadOptions
	}{
		{name: "not finite at start", x0: []float64{-1}},
		{name: "bounds length", x0: []float64{1}, opt: NelderMeadOptions{Lower: []float64{0, 0}}},
	}
	f := func(x []float64) float64 { return math.Log(x[0]) }
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NelderMead(f, tc.x0, tc.opt); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestBrent(t *testing.T) {
	cases := []struct {
		name string
		f    func(float64) float64
		a, b float64
		want float64
	}{
		{name: "parabola", f: func(x float64) float64 { return (x - 1.0/3) * (x - 1.0/3) }, a: 0, b: 1, want: 1.0 / 3},
		{name: "edge", f: func(x float64) float64 { return x }, a: 0.1, b: 0.3, want: 0.1},
		{name: "cosine", f: math.Cos, a: 2, b: 4, want: math.Pi},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, _ := Brent(tc.f, tc.a, tc.b, 1e-8)
			if math.Abs(x-tc.want) > 1e-5 {
				t.Errorf("x = %g, want %g", x, tc.want)
			}
		})
	}
}
