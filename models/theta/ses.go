package theta

import "math"

// The range of α searched, as R's forecast::ets bounds it.
const (
	alphaLo = 1e-4
	alphaHi = 0.9999
)

// fitSES fits simple exponential smoothing to z by least squares: the α in
// [alphaLo, alphaHi] and initial level l0 minimising Σ (z_t − l_{t−1})²,
// where l_t = l_{t−1} + α·(z_t − l_{t−1}). For a given α the best l0 has a
// closed form (the errors are linear in l0), so only α is searched: a
// coarse grid, then golden-section refinement around the best grid point.
func fitSES(z []float64) (alpha, l0 float64) {
	const grid = 20
	best, bestSSE := alphaLo, math.Inf(1)
	for i := 0; i <= grid; i++ {
		a := alphaLo + (alphaHi-alphaLo)*float64(i)/grid
		if s, _ := sesSSE(z, a); s < bestSSE {
			best, bestSSE = a, s
		}
	}
	step := (alphaHi - alphaLo) / grid
	lo, hi := max(alphaLo, best-step), min(alphaHi, best+step)
	const invPhi = 0.6180339887498949
	x1, x2 := hi-invPhi*(hi-lo), lo+invPhi*(hi-lo)
	f1, _ := sesSSE(z, x1)
	f2, _ := sesSSE(z, x2)
	for hi-lo > 1e-7 {
		if f1 <= f2 {
			hi, x2, f2 = x2, x1, f1
			x1 = hi - invPhi*(hi-lo)
			f1, _ = sesSSE(z, x1)
		} else {
			lo, x1, f1 = x1, x2, f2
			x2 = lo + invPhi*(hi-lo)
			f2, _ = sesSSE(z, x2)
		}
	}
	alpha = (lo + hi) / 2
	s, l := sesSSE(z, alpha)
	if s > bestSSE {
		alpha = best
		_, l = sesSSE(z, alpha)
	}
	return alpha, l
}

// sesSSE returns the least sum of squared one-step errors of SES with
// smoothing α over the initial level, and that level. With l0 = 0 the
// level path is A_t and the error at t is u_t − c_t·l0, u_t = z_t − A_{t−1},
// c_t = (1−α)^(t−1); the best l0 is Σu·c / Σc².
func sesSSE(z []float64, alpha float64) (sse, l0 float64) {
	var level, c float64 = 0, 1
	var suu, suc, scc float64
	for _, v := range z {
		u := v - level
		suu += u * u
		suc += u * c
		scc += c * c
		level += alpha * u
		c *= 1 - alpha
	}
	l0 = suc / scc
	return suu - suc*suc/scc, l0
}
