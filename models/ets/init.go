package ets

import "math"

// Bounds on the smoothing parameters (R forecast::ets defaults: "usual"
// bounds, with phi restricted to [0.8, 0.98]).
const (
	lowerSmooth = 1e-4
	upperSmooth = 0.9999
	lowerPhi    = 0.8
	upperPhi    = 0.98
)

// initParams returns R's starting values for alpha, beta, gamma and phi
// (initparam in forecast's ets.R); m is 1 for non-seasonal models.
func initParams(spec Spec, m int) (alpha, beta, gamma, phi float64) {
	alpha = lowerSmooth + 0.2*(upperSmooth-lowerSmooth)/float64(m)
	if alpha > 1 || alpha < 0 {
		alpha = lowerSmooth + 2e-3
	}
	if spec.Trend != None {
		up := math.Min(upperSmooth, alpha)
		beta = lowerSmooth + 0.1*(up-lowerSmooth)
		if beta < 0 || beta > alpha {
			beta = alpha - 1e-3
		}
	}
	if spec.Season != None {
		up := math.Min(upperSmooth, 1-alpha)
		gamma = lowerSmooth + 0.05*(up-lowerSmooth)
		if gamma < 0 || gamma > 1-alpha {
			gamma = 1 - alpha - 1e-3
		}
	}
	phi = 1
	if spec.Damped {
		phi = lowerPhi + 0.99*(upperPhi-lowerPhi)
	}
	return alpha, beta, gamma, phi
}

// initStates returns R's starting values for the initial states (initstate
// in forecast's ets.R): l0, b0 (with a trend) and m-1 seasonal indices
// s0..s(m-2) (with a season; the last one is implied by normalisation).
func initStates(y []float64, spec Spec, m int) []float64 {
	n := len(y)
	var seas []float64
	ysa := y
	if spec.Season != None {
		var seasonal []float64
		if n < 3*m {
			seasonal = fourierDetrend(y, m, spec.Season)
		} else {
			seasonal = decompose(y, m, spec.Season)
		}
		seas = make([]float64, m-1)
		for i := range seas {
			seas[i] = seasonal[m-1-i] // rev(seasonal[2:m])
		}
		ysa = make([]float64, n)
		if spec.Season == Additive {
			for i := range y {
				ysa[i] = y[i] - seasonal[i]
			}
		} else {
			sum := 0.0
			for i := range seas {
				seas[i] = math.Max(seas[i], 1e-2)
				sum += seas[i]
			}
			if sum > float64(m) {
				for i := range seas {
					seas[i] /= sum + 1e-2*float64(len(seas))
				}
			}
			for i := range y {
				ysa[i] = y[i] / math.Max(seasonal[i], 1e-2)
			}
		}
	} else {
		m = 1
	}
	maxn := min(max(10, 2*m), n)
	out := make([]float64, 0, 2+len(seas))
	if spec.Trend == None {
		out = append(out, mean(ysa[:maxn]))
	} else {
		a, b := lineFit(ysa[:maxn])
		if math.Abs(a+b) < 1e-8 {
			a *= 1 + 1e-3
			b *= 1 + 1e-3
		}
		out = append(out, a, b)
	}
	return append(out, seas...)
}

// lineFit regresses y on 1..n and returns the intercept and slope.
func lineFit(y []float64) (a, b float64) {
	n := float64(len(y))
	var st, sy, stt, sty float64
	for i, v := range y {
		t := float64(i + 1)
		st += t
		sy += v
		stt += t * t
		sty += t * v
	}
	den := n*stt - st*st
	if den == 0 {
		return sy / n, 0
	}
	b = (n*sty - st*sy) / den
	a = (sy - b*st) / n
	return a, b
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// decompose is R's classical decompose: the seasonal component of y (one
// value per observation) for a series starting at the first period.
func decompose(y []float64, m int, season Component) []float64 {
	n := len(y)
	var filter []float64
	if m%2 == 0 {
		filter = make([]float64, m+1)
		for i := range filter {
			filter[i] = 1 / float64(m)
		}
		filter[0] /= 2
		filter[m] /= 2
	} else {
		filter = make([]float64, m)
		for i := range filter {
			filter[i] = 1 / float64(m)
		}
	}
	o := len(filter) / 2
	detr := make([]float64, n)
	for i := range detr {
		detr[i] = math.NaN()
		if i-o < 0 || i-o+len(filter) > n {
			continue
		}
		tr := 0.0
		for j, w := range filter {
			tr += w * y[i-o+j]
		}
		if season == Additive {
			detr[i] = y[i] - tr
		} else {
			detr[i] = y[i] / tr
		}
	}
	figure := make([]float64, m)
	for i := range figure {
		s, c := 0.0, 0
		for j := i; j < n; j += m {
			if !math.IsNaN(detr[j]) {
				s += detr[j]
				c++
			}
		}
		figure[i] = s / float64(c)
	}
	fm := mean(figure)
	for i := range figure {
		if season == Additive {
			figure[i] -= fm
		} else {
			figure[i] /= fm
		}
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = figure[i%m]
	}
	return out
}

// fourierDetrend is R's fallback for fewer than three periods: regress y on
// a trend and one pair of Fourier terms, and return y without the
// intercept and trend (divided by them for a multiplicative season).
func fourierDetrend(y []float64, m int, season Component) []float64 {
	n := len(y)
	cols := 4
	if m == 2 {
		cols = 3 // sin(pi t) vanishes
	}
	x := make([][]float64, n)
	for i := range x {
		t := float64(i + 1)
		w := 2 * math.Pi * t / float64(m)
		row := []float64{1, t, math.Cos(w)}
		if cols == 4 {
			row = append(row, math.Sin(w))
		}
		x[i] = row
	}
	beta := ols(x, y)
	out := make([]float64, n)
	for i := range out {
		tr := beta[0] + beta[1]*float64(i+1)
		if season == Additive {
			out[i] = y[i] - tr
		} else {
			out[i] = y[i] / tr
		}
	}
	return out
}

// ols solves the least-squares problem x*beta = y by the normal equations.
func ols(x [][]float64, y []float64) []float64 {
	p := len(x[0])
	a := make([][]float64, p)
	for i := range a {
		a[i] = make([]float64, p+1)
	}
	for r, row := range x {
		for i := 0; i < p; i++ {
			for j := 0; j < p; j++ {
				a[i][j] += row[i] * row[j]
			}
			a[i][p] += row[i] * y[r]
		}
	}
	for c := 0; c < p; c++ {
		piv := c
		for r := c + 1; r < p; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[piv][c]) {
				piv = r
			}
		}
		a[c], a[piv] = a[piv], a[c]
		if a[c][c] == 0 {
			continue
		}
		for r := 0; r < p; r++ {
			if r == c {
				continue
			}
			f := a[r][c] / a[c][c]
			for j := c; j <= p; j++ {
				a[r][j] -= f * a[c][j]
			}
		}
	}
	beta := make([]float64, p)
	for i := range beta {
		if a[i][i] != 0 {
			beta[i] = a[i][p] / a[i][i]
		}
	}
	return beta
}

// admissible is R's test that the parameters give a forecastable
// (invertible) model; phi is 1 without damping, beta 0 without trend.
func admissible(alpha, beta, gamma, phi float64, m int, trend, season bool) bool {
	if phi < 0 || phi > 1+1e-8 {
		return false
	}
	if !season {
		if alpha < 1-1/phi || alpha > 1+1/phi {
			return false
		}
		if trend && (beta < alpha*(phi-1) || beta > (1+phi)*(2-alpha)) {
			return false
		}
		return true
	}
	if m <= 1 {
		return true
	}
	fm := float64(m)
	if gamma < math.Max(1-1/phi-alpha, 0) || gamma > 1+1/phi-alpha {
		return false
	}
	if alpha < 1-1/phi-gamma*(1-fm+phi+phi*fm)/(2*phi*fm) {
		return false
	}
	if beta < -(1-phi)*(gamma/fm+alpha) {
		return false
	}
	// Characteristic polynomial, highest degree first (monic).
	c := make([]float64, 0, m+2)
	c = append(c, 1, alpha+beta-phi)
	for i := 0; i < m-2; i++ {
		c = append(c, alpha+beta-alpha*phi)
	}
	c = append(c, alpha+beta-alpha*phi+gamma-1, phi*(1-alpha-gamma))
	return rootsWithin(c, 1+1e-10)
}

// rootsWithin reports whether every root of the polynomial c (highest
// degree first) has modulus below r, by the Schur–Cohn–Jury recursion on
// c(r*z): all roots of p are inside the unit disc if and only if
// |p(0)| < |leading coefficient| and the same holds for the degree-one-less
// polynomial (lead*p(z) - p(0)*reverse(p)(z))/z. O(degree^2), which is
// what makes seasonal models with m up to 24 affordable: R finds the roots
// (polyroot) instead, with the same answer away from the boundary.
func rootsWithin(c []float64, r float64) bool {
	n := len(c) - 1
	a := make([]float64, n+1)
	scale := 1.0
	for k := n; k >= 0; k-- {
		a[k] = c[k] * scale
		scale *= r
	}
	b := make([]float64, n+1)
	for deg := n; deg > 0; deg-- {
		lead, last := a[0], a[deg]
		if math.Abs(last) >= math.Abs(lead) || math.IsNaN(lead) {
			return false
		}
		for k := 0; k < deg; k++ {
			b[k] = lead*a[k] - last*a[deg-k]
		}
		// Normalise (the leading coefficient lead^2-last^2 is positive),
		// or the coefficients underflow within a dozen steps.
		for k := deg - 1; k >= 0; k-- {
			b[k] /= b[0]
		}
		a, b = b, a
	}
	return true
}
