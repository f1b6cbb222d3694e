//go:build nochdb

package embedded

import "errors"

// ErrNoEngine is what opening the embedded engine returns in a binary built
// with the nochdb tag (the server container image, deploy/docker): purego,
// which loads libchdb.so, is left out so that the binary is statically
// linked and runs on a distroless/static base.
var ErrNoEngine = errors.New("this stockflow binary is built without the embedded ClickHouse engine (tag nochdb): use a ClickHouse server (--clickhouse DSN)")

func loadLibrary(path string) (*library, error) {
	return nil, &LibraryLoadError{Path: path, Err: ErrNoEngine}
}
