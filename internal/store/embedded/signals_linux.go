package embedded

import (
	"syscall"
	"unsafe"
)

// kernelSigaction is struct kernel_sigaction of rt_sigaction(2) on Linux.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// goSignals are the signals the Go runtime (and os/signal users such as
// signal.NotifyContext) must keep owning while chDB is loaded.
var goSignals = []syscall.Signal{
	syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL,
	syscall.SIGABRT, syscall.SIGTRAP, syscall.SIGSYS, syscall.SIGURG,
	syscall.SIGPROF, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT,
	syscall.SIGHUP, syscall.SIGPIPE,
}

type savedSignals []kernelSigaction

// saveSignals snapshots the kernel's handlers for goSignals.
func saveSignals() savedSignals {
	out := make(savedSignals, len(goSignals))
	for i, s := range goSignals {
		rtSigaction(s, nil, &out[i])
	}
	return out
}

// restoreSignals puts back handlers saved by saveSignals.
func restoreSignals(saved savedSignals) {
	for i, s := range goSignals {
		rtSigaction(s, &saved[i], nil)
	}
}

func rtSigaction(sig syscall.Signal, act, old *kernelSigaction) {
	// Failure is impossible for these valid signal numbers; ignore errno.
	_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
}
