//go:build !nochdb

package embedded

import (
	"fmt"

	"github.com/ebitengine/purego"
)

// loadLibrary dlopens path and binds the functions stockflow uses. The
// library stays loaded for the life of the process.
func loadLibrary(path string) (*library, error) {
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, &LibraryLoadError{Path: path, Err: err}
	}
	l := &library{path: path}
	syms := []struct {
		fn   any
		name string
	}{
		{&l.connect, "chdb_connect"},
		{&l.closeConn, "chdb_close_conn"},
		{&l.query, "chdb_query"},
		{&l.stream, "chdb_stream_query"},
		{&l.fetch, "chdb_stream_fetch_result"},
		{&l.cancel, "chdb_stream_cancel_query"},
		{&l.destroy, "chdb_destroy_query_result"},
		{&l.buffer, "chdb_result_buffer"},
		{&l.length, "chdb_result_length"},
		{&l.errMsg, "chdb_result_error"},
		{&l.rowsRead, "chdb_result_rows_read"},
		{&l.setSignals, "chdb_set_signal_handlers_enabled"},
	}
	for _, s := range syms {
		addr, err := purego.Dlsym(h, s.name)
		if err != nil {
			return nil, &LibraryLoadError{Path: path, Err: fmt.Errorf("symbol %s: %w", s.name, err)}
		}
		purego.RegisterFunc(s.fn, addr)
	}
	// chDB installs its own handlers for SIGSEGV, SIGBUS, SIGINT … on the
	// first connect unless told not to; with them, a Go nil dereference
	// hangs for minutes and then kills the process, and signal.Notify stops
	// seeing SIGINT. Opt out, keeping the Go runtime's handlers.
	saved := saveSignals()
	l.setSignals(0)
	restoreSignals(saved)
	return l, nil
}
