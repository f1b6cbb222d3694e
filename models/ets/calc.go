package ets

import "math"

// The recursions below follow R forecast's etscalc, forecast and update
// (src/etscalc.c): the state is (l, b, s[0..m-1]) with s[0] the most
// recent seasonal index and s[m-1] the one of the period being forecast.
// The update equations are written in terms of y, so they do not depend
// on the error type; the error type only changes the likelihood.

const (
	tol   = 1e-10
	hugeN = 1e10
)

// state is the level, growth and seasonal indices at one time. The
// seasonal indices are a ring: logical index j is s[(off+j)%m].
type state struct {
	l, b float64
	s    []float64
	off  int
}

// season returns the logical seasonal index j.
func (st *state) season(j int) float64 {
	i := st.off + j
	if i >= len(st.s) {
		i -= len(st.s)
	}
	return st.s[i]
}

// kernel holds one model's smoothing parameters and scratch buffers.
type kernel struct {
	spec                    Spec
	m                       int
	alpha, beta, gamma, phi float64
}

// point returns the h-step forecasts from st into f (len(f) = h).
func (k *kernel) point(st *state, f []float64) {
	phistar := k.phi
	for i := range f {
		var v float64
		switch k.spec.Trend {
		case None:
			v = st.l
		default:
			v = st.l + phistar*st.b
		}
		if k.spec.Season != None {
			j := k.m - 1 - i
			for j < 0 {
				j += k.m
			}
			if k.spec.Season == Additive {
				v += st.season(j)
			} else {
				v *= st.season(j)
			}
		}
		f[i] = v
		if i < len(f)-1 {
			if math.Abs(k.phi-1) < tol {
				phistar++
			} else {
				phistar += math.Pow(k.phi, float64(i+1))
			}
		}
	}
}

// one returns the one-step forecast from st.
func (k *kernel) one(st *state) float64 {
	v := st.l
	if k.spec.Trend != None {
		v += k.phi * st.b
	}
	switch k.spec.Season {
	case Additive:
		v += st.season(k.m - 1)
	case Multiplicative:
		v *= st.season(k.m - 1)
	}
	return v
}

// update moves st one step on with the observation y.
func (k *kernel) update(st *state, y float64) {
	oldl := st.l
	var q, phib float64
	if k.spec.Trend == None {
		q = oldl
	} else {
		phib = k.phi * st.b
		q = oldl + phib
	}
	var p, last float64
	if k.spec.Season != None {
		last = st.season(k.m - 1)
	}
	switch k.spec.Season {
	case None:
		p = y
	case Additive:
		p = y - last
	default:
		if math.Abs(last) < tol {
			p = hugeN
		} else {
			p = y / last
		}
	}
	st.l = q + k.alpha*(p-q)
	if k.spec.Trend != None {
		r := st.l - oldl
		st.b = phib + (k.beta/k.alpha)*(r-phib)
	}
	if k.spec.Season != None {
		var t float64
		if k.spec.Season == Additive {
			t = y - q
		} else if math.Abs(q) < tol {
			t = hugeN
		} else {
			t = y / q
		}
		// The oldest index leaves the ring and the new one takes its slot.
		st.off--
		if st.off < 0 {
			st.off += k.m
		}
		st.s[st.off] = last + k.gamma*(t-last)
	}
}

// run filters y from st (which it advances to the end of y) and returns
// R's likelihood term (n*log(SSE), plus 2*sum(log|yhat|) for
// multiplicative errors) and the mean squared one-step error in units of y.
// When e is not nil it receives the one-step errors (relative errors for
// multiplicative error models).
func (k *kernel) run(y []float64, st *state, e []float64) (lik, mse float64) {
	var sse, sq float64
	mult := k.spec.Error == Multiplicative
	prod, exp := 1.0, 0
	for i, yi := range y {
		f := k.one(st)
		var ei float64
		if k.spec.Error == Additive {
			ei = yi - f
		} else {
			ei = (yi - f) / f
		}
		if e != nil {
			e[i] = ei
		}
		// R's running average, kept so the optimiser follows R's path.
		d := yi - f
		sq = (sq*float64(i) + d*d) / float64(i+1)
		k.update(st, yi)
		sse += ei * ei
		if mult {
			// sum(log|f|) as the log of a product kept in range: one
			// logarithm per series instead of one per observation.
			prod *= math.Abs(f)
			if prod > 0x1p500 || prod < 0x1p-500 {
				fr, ex := math.Frexp(prod)
				prod, exp = fr, exp+ex
			}
		}
	}
	n := float64(len(y))
	lik = n * math.Log(sse)
	if mult {
		lik += 2 * (math.Log(prod) + float64(exp)*math.Ln2)
	}
	return lik, sq
}
