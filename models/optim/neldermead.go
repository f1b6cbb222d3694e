// Package optim holds the derivative-free optimisers the models fit their
// parameters with: a bounded Nelder–Mead simplex search (a faithful port of
// R's nmmin, the optimiser behind R's optim and forecast::ets, plus optional
// restarts) and Brent's one-dimensional minimiser (R's optimize).
//
// Like everything under models/, it imports only the standard library.
package optim

import (
	"errors"
	"fmt"
	"math"
)

// big is what a non-finite objective value is replaced with, as in R's nmmin.
const big = 1.0e+35

// ErrNotFinite is returned when the objective is not finite at the start.
var ErrNotFinite = errors.New("optim: objective not finite at the initial parameters")

// NelderMeadOptions are the settings of NelderMead. The zero value gives
// R's defaults as forecast::ets uses them: reflection 1, contraction 0.5,
// expansion 2, relative tolerance sqrt(machine epsilon), no absolute
// tolerance and at most 2000 function evaluations.
type NelderMeadOptions struct {
	// Alpha, Beta and Gamma are the reflection, contraction and expansion
	// coefficients (0 means 1, 0.5 and 2).
	Alpha, Beta, Gamma float64
	// RelTol stops the search when the spread of the simplex values is at
	// most RelTol*(|best|+RelTol) (0 means sqrt(machine epsilon)).
	RelTol float64
	// AbsTol stops the search once the best value is at or below it
	// (0 means no such test).
	AbsTol float64
	// MaxEval bounds the number of function evaluations of one run
	// (0 means 2000).
	MaxEval int
	// Lower and Upper, when non-nil, are box bounds: points outside them
	// are not evaluated and count as infeasible (+Inf).
	Lower, Upper []float64
	// Restarts is the number of extra runs started from the best point with
	// a fresh simplex; a run that improves the value by less than RelTol
	// (relative) ends the restarts early. 0 reproduces R exactly.
	Restarts int
}

// Result is the outcome of a minimisation.
type Result struct {
	// X is the best point found and F its value.
	X []float64
	F float64
	// Evals counts the function evaluations over all runs.
	Evals int
	// Converged is false when the last run hit MaxEval or its simplex
	// failed to shrink.
	Converged bool
}

func (o NelderMeadOptions) withDefaults() NelderMeadOptions {
	if o.Alpha == 0 {
		o.Alpha = 1
	}
	if o.Beta == 0 {
		o.Beta = 0.5
	}
	if o.Gamma == 0 {
		o.Gamma = 2
	}
	if o.RelTol == 0 {
		o.RelTol = math.Sqrt(2.220446049250313e-16)
	}
	if o.AbsTol == 0 {
		o.AbsTol = math.Inf(-1)
	}
	if o.MaxEval == 0 {
		o.MaxEval = 2000
	}
	return o
}

// NelderMead minimises f from x0. f must not keep or modify its argument.
// Non-finite values of f (and points outside the bounds) are treated as a
// very large value, so infeasible regions can be expressed by returning
// +Inf. It returns an error only when f is not finite at x0 or the bounds
// do not match x0.
func NelderMead(f func(x []float64) float64, x0 []float64, opt NelderMeadOptions) (Result, error) {
	opt = opt.withDefaults()
	n := len(x0)
	if (opt.Lower != nil && len(opt.Lower) != n) || (opt.Upper != nil && len(opt.Upper) != n) {
		return Result{}, fmt.Errorf("optim: bounds have %d/%d values for %d parameters", len(opt.Lower), len(opt.Upper), n)
	}
	obj := func(x []float64) float64 {
		for i, v := range x {
			if (opt.Lower != nil && v < opt.Lower[i]) || (opt.Upper != nil && v > opt.Upper[i]) {
				return math.Inf(1)
			}
		}
		return f(x)
	}
	res, ok := nmmin(obj, x0, opt)
	if !ok {
		return res, ErrNotFinite
	}
	for r := 0; r < opt.Restarts; r++ {
		next, ok := nmmin(obj, res.X, opt)
		if !ok {
			break
		}
		evals := res.Evals + next.Evals
		improved := res.F-next.F > opt.RelTol*(math.Abs(res.F)+opt.RelTol)
		if next.F < res.F {
			res = next
		}
		res.Evals = evals
		if !improved {
			break
		}
	}
	return res, nil
}

// nmmin is R's nmmin (src/appl/optim.c) with 0-based indices; ok is false
// when f is not finite at x0.
func nmmin(f func([]float64) float64, x0 []float64, o NelderMeadOptions) (res Result, ok bool) {
	n := len(x0)
	if n == 0 {
		return Result{X: nil, F: f(nil), Evals: 1, Converged: true}, true
	}
	bvec := append([]float64(nil), x0...)
	fv := f(bvec)
	if math.IsNaN(fv) || math.IsInf(fv, 0) {
		return Result{X: bvec, F: fv, Evals: 1}, false
	}
	n1 := n + 1
	c := n + 1 // index of the centroid column
	// p[i][j]: coordinate i (row n holds the value) of vertex j (column c is the centroid).
	p := make([][]float64, n+1)
	for i := range p {
		p[i] = make([]float64, n+2)
	}
	funcount := 1
	convtol := o.RelTol * (math.Abs(fv) + o.RelTol)
	p[n][0] = fv
	for i := 0; i < n; i++ {
		p[i][0] = bvec[i]
	}
	l := 0
	step := 0.0
	for i := 0; i < n; i++ {
		if 0.1*math.Abs(bvec[i]) > step {
			step = 0.1 * math.Abs(bvec[i])
		}
	}
	if step == 0 {
		step = 0.1
	}
	size := 0.0
	for j := 1; j < n1; j++ {
		for i := 0; i < n; i++ {
			p[i][j] = bvec[i]
		}
		trystep := step
		for p[j-1][j] == bvec[j-1] {
			p[j-1][j] = bvec[j-1] + trystep
			trystep *= 10
		}
		size += trystep
	}
	oldsize := size
	calcvert := true
	eval := func() float64 {
		v := f(bvec)
		funcount++
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return big
		}
		return v
	}
	failed := false
	for {
		if calcvert {
			for j := 0; j < n1; j++ {
				if j != l {
					for i := 0; i < n; i++ {
						bvec[i] = p[i][j]
					}
					p[n][j] = eval()
				}
			}
			calcvert = false
		}
		vl := p[n][l]
		vh := vl
		h := l
		for j := 0; j < n1; j++ {
			if j != l {
				v := p[n][j]
				if v < vl {
					l = j
					vl = v
				}
				if v > vh {
					h = j
					vh = v
				}
			}
		}
		if vh <= vl+convtol || vl <= o.AbsTol {
			break
		}
		for i := 0; i < n; i++ {
			t := -p[i][h]
			for j := 0; j < n1; j++ {
				t += p[i][j]
			}
			p[i][c] = t / float64(n)
		}
		for i := 0; i < n; i++ {
			bvec[i] = (1+o.Alpha)*p[i][c] - o.Alpha*p[i][h]
		}
		vr := eval()
		if vr < vl {
			p[n][c] = vr
			for i := 0; i < n; i++ {
				t := o.Gamma*bvec[i] + (1-o.Gamma)*p[i][c]
				p[i][c] = bvec[i]
				bvec[i] = t
			}
			fe := eval()
			if fe < vr {
				for i := 0; i < n; i++ {
					p[i][h] = bvec[i]
				}
				p[n][h] = fe
			} else {
				for i := 0; i < n; i++ {
					p[i][h] = p[i][c]
				}
				p[n][h] = vr
			}
		} else {
			if vr < vh {
				for i := 0; i < n; i++ {
					p[i][h] = bvec[i]
				}
				p[n][h] = vr
			}
			for i := 0; i < n; i++ {
				bvec[i] = (1-o.Beta)*p[i][h] + o.Beta*p[i][c]
			}
			fc := eval()
			if fc < p[n][h] {
				for i := 0; i < n; i++ {
					p[i][h] = bvec[i]
				}
				p[n][h] = fc
			} else if vr >= vh {
				calcvert = true
				size = 0
				for j := 0; j < n1; j++ {
					if j != l {
						for i := 0; i < n; i++ {
							p[i][j] = o.Beta*(p[i][j]-p[i][l]) + p[i][l]
							size += math.Abs(p[i][j] - p[i][l])
						}
					}
				}
				if size >= oldsize {
					failed = true
					break
				}
				oldsize = size
			}
		}
		if funcount > o.MaxEval {
			break
		}
	}
	x := make([]float64, n)
	for i := 0; i < n; i++ {
		x[i] = p[i][l]
	}
	return Result{X: x, F: p[n][l], Evals: funcount, Converged: !failed && funcount <= o.MaxEval}, true
}
