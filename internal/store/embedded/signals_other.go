//go:build !linux

package embedded

type savedSignals struct{}

func saveSignals() savedSignals { return savedSignals{} }

func restoreSignals(savedSignals) {}
