package theta

import (
	"math"
	"testing"
)

// directSSE runs SES from l0 and sums the squared one-step errors.
func directSSE(z []float64, alpha, l0 float64) float64 {
	var s float64
	level := l0
	for _, v := range z {
		e := v - level
		s += e * e
		level += alpha * e
	}
	return s
}

func TestSESClosedFormLevel(t *testing.T) {
	z := []float64{3, 5, 4, 6, 8, 7, 9, 12, 10, 11}
	for _, alpha := range []float64{0.05, 0.3, 0.9} {
		sse, l0 := sesSSE(z, alpha)
		if d := directSSE(z, alpha, l0); math.Abs(d-sse) > 1e-9*d {
			t.Errorf("α %g: closed-form SSE %g, direct %g", alpha, sse, d)
		}
		for _, dl := range []float64{-0.01, 0.01} {
			if directSSE(z, alpha, l0+dl) < sse {
				t.Errorf("α %g: l0 %g is not the least-squares level", alpha, l0)
			}
		}
	}
}

func TestFitSESFindsTheMinimum(t *testing.T) {
	tests := []struct {
		name string
		z    []float64
	}{
		{"trending", []float64{3, 5, 4, 6, 8, 7, 9, 12, 10, 11, 13, 12}},
		{"noisy level", []float64{10, 12, 9, 11, 10, 13, 8, 10, 11, 9, 12, 10}},
		{"random walk", []float64{1, 3, 6, 4, 8, 9, 13, 12, 16, 15, 19, 22}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alpha, _ := fitSES(tt.z)
			best, _ := sesSSE(tt.z, alpha)
			for a := alphaLo; a <= alphaHi; a += 0.001 {
				if s, _ := sesSSE(tt.z, a); s < best*(1-1e-9) {
					t.Fatalf("α %g has SSE %g below the fit's %g at α %g", a, s, best, alpha)
				}
			}
		})
	}
}
