//go:build unix

package export

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an advisory lock (flock) on the directory dir itself, so
// an export leaves no lock file behind. With wait false a lock held by
// another export fails at once with errLocked. The lock goes with the
// process, so a killed export leaves none behind.
func lockDir(dir string, wait bool) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		_ = f.Close() // not locked; nothing written
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { _ = f.Close() }, nil // closing releases the lock
}
