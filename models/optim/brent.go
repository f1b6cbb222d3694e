package optim

import "math"

// DefaultBrentTol is R's default tolerance for optimize: machine epsilon^(1/4).
const DefaultBrentTol = 1.220703125e-04

// Brent minimises f on [a, b] with Brent's method (golden-section search
// with parabolic interpolation), as R's optimize does; tol <= 0 means
// DefaultBrentTol. It returns the minimiser and its value. Non-finite
// values of f are treated as a very large value.
func Brent(f func(x float64) float64, a, b, tol float64) (x, fx float64) {
	if tol <= 0 {
		tol = DefaultBrentTol
	}
	if a > b {
		a, b = b, a
	}
	g := func(x float64) float64 {
		v := f(x)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return big
		}
		return v
	}
	const c = 0.3819660112501051 // (3 - sqrt(5)) / 2
	eps := math.Sqrt(2.220446049250313e-16)
	v := a + c*(b-a)
	w, x := v, v
	d, e := 0.0, 0.0
	fx = g(x)
	fv, fw := fx, fx
	tol3 := tol / 3
	for {
		xm := (a + b) / 2
		tol1 := eps*math.Abs(x) + tol3
		t2 := 2 * tol1
		if math.Abs(x-xm) <= t2-(b-a)/2 {
			break
		}
		p, q, r := 0.0, 0.0, 0.0
		if math.Abs(e) > tol1 {
			r = (x - w) * (fx - fv)
			q = (x - v) * (fx - fw)
			p = (x-v)*q - (x-w)*r
			q = (q - r) * 2
			if q > 0 {
				p = -p
			} else {
				q = -q
			}
			r = e
			e = d
		}
		if math.Abs(p) >= math.Abs(q*0.5*r) || p <= q*(a-x) || p >= q*(b-x) {
			if x < xm {
				e = b - x
			} else {
				e = a - x
			}
			d = c * e
		} else {
			d = p / q
			u := x + d
			if u-a < t2 || b-u < t2 {
				d = tol1
				if x >= xm {
					d = -d
				}
			}
		}
		var u float64
		switch {
		case math.Abs(d) >= tol1:
			u = x + d
		case d > 0:
			u = x + tol1
		default:
			u = x - tol1
		}
		fu := g(u)
		if fu <= fx {
			if u < x {
				b = x
			} else {
				a = x
			}
			v, w, x = w, x, u
			fv, fw, fx = fw, fx, fu
		} else {
			if u < x {
				a = u
			} else {
				b = u
			}
			if fu <= fw || w == x {
				v, fv = w, fw
				w, fw = u, fu
			} else if fu <= fv || v == x || v == w {
				v, fv = u, fu
			}
		}
	}
	return x, fx
}
