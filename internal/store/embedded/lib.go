package embedded

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"
)

// LibVersion is the chDB release that deploy/scripts/fetch-chdb.sh fetches
// and caches; it names the cache directory searched for libchdb.so.
const LibVersion = "26.7.3-stable.1"

// fetchHint is how to get the library, in every "not found" message.
const fetchHint = "run deploy/scripts/fetch-chdb.sh or make fetch, or set STOCKFLOW_CHDB_LIB"

// LibraryNotFoundError says libchdb.so is in none of the places searched.
type LibraryNotFoundError struct {
	Tried []string
}

func (e *LibraryNotFoundError) Error() string {
	return fmt.Sprintf("embedded clickhouse: libchdb.so not found (tried %s): %s", strings.Join(e.Tried, ", "), fetchHint)
}

// LibraryLoadError says libchdb.so was found but could not be loaded.
type LibraryLoadError struct {
	Path string
	Err  error
}

func (e *LibraryLoadError) Error() string {
	msg := strings.ReplaceAll(e.Err.Error(), "\n", " ")
	return fmt.Sprintf("embedded clickhouse: load %s: %s (%s)", e.Path, msg, fetchHint)
}

func (e *LibraryLoadError) Unwrap() error { return e.Err }

// LibraryCandidates lists where libchdb.so is looked for, in order: the
// explicit path if given (then nothing else), $STOCKFLOW_CHDB_LIB,
// $CHDB_LIB_PATH, the cache of deploy/scripts/fetch-chdb.sh
// (${STOCKFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stockflow}/chdb/<version>/libchdb.so),
// and /usr/local/lib/libchdb.so.
func LibraryCandidates(explicit string) []string {
	if explicit != "" {
		return []string{explicit}
	}
	var out []string
	for _, env := range []string{"STOCKFLOW_CHDB_LIB", "CHDB_LIB_PATH"} {
		if v := os.Getenv(env); v != "" {
			out = append(out, v)
		}
	}
	cache := os.Getenv("STOCKFLOW_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			if home, err := os.UserHomeDir(); err == nil {
				base = filepath.Join(home, ".cache")
			}
		}
		if base != "" {
			cache = filepath.Join(base, "stockflow")
		}
	}
	if cache != "" {
		out = append(out, filepath.Join(cache, "chdb", LibVersion, "libchdb.so"))
	}
	return append(out, "/usr/local/lib/libchdb.so")
}

// FindLibrary returns the first of LibraryCandidates(explicit) that is a
// regular file, or a *LibraryNotFoundError.
func FindLibrary(explicit string) (string, error) {
	tried := LibraryCandidates(explicit)
	for _, p := range tried {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			if abs, err := filepath.Abs(p); err == nil {
				return abs, nil
			}
			return p, nil
		}
	}
	return "", &LibraryNotFoundError{Tried: tried}
}

// library is the bound C API of one loaded libchdb.so. Handles returned by
// the library are kept as uintptr: Go never dereferences them except the
// chdb_connection struct, which holds one pointer.
type library struct {
	path string

	connect    func(argc int32, argv []*byte) *uintptr // chdb_connection* chdb_connect(int, char**)
	closeConn  func(conn *uintptr)                     // void chdb_close_conn(chdb_connection*)
	query      func(conn uintptr, query, format string) uintptr
	stream     func(conn uintptr, query, format string) uintptr
	fetch      func(conn uintptr, res uintptr) uintptr
	cancel     func(conn uintptr, res uintptr)
	destroy    func(res uintptr)
	buffer     func(res uintptr) *byte
	length     func(res uintptr) uintptr // size_t
	errMsg     func(res uintptr) *byte
	rowsRead   func(res uintptr) uint64
	setSignals func(enabled int32)
}

// cString returns s with a terminating NUL so purego passes it without a
// copy; the caller keeps the result alive across the call.
func cString(s string) string {
	if strings.HasSuffix(s, "\x00") {
		return s
	}
	b := make([]byte, len(s)+1)
	copy(b, s)
	return unsafe.String(&b[0], len(b))
}

// goString copies a NUL-terminated C string.
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// resultBytes copies a result's buffer into Go memory.
func (l *library) resultBytes(res uintptr) []byte {
	p := l.buffer(res)
	n := int(l.length(res))
	if p == nil || n == 0 {
		return nil
	}
	out := make([]byte, n)
	copy(out, unsafe.Slice(p, n))
	return out
}

// resultErr returns the engine error of a result, nil when it succeeded.
func (l *library) resultErr(res uintptr) error {
	if msg := goString(l.errMsg(res)); msg != "" {
		return parseException(msg)
	}
	return nil
}

var errNoResult = errors.New("embedded clickhouse: engine returned no result")
