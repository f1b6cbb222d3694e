package server

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/stockflow/stockflow/internal/store"
)

// transientCodes are ClickHouse error codes worth retrying: the statement
// may succeed later without any change.
var transientCodes = []int32{
	3,   // UNEXPECTED_END_OF_FILE
	159, // TIMEOUT_EXCEEDED
	164, // READONLY
	202, // TOO_MANY_SIMULTANEOUS_QUERIES
	203, // NO_FREE_CONNECTION
	209, // SOCKET_TIMEOUT
	210, // NETWORK_ERROR
	236, // ABORTED
	241, // MEMORY_LIMIT_EXCEEDED
	242, // TABLE_IS_READ_ONLY
	252, // TOO_MANY_PARTS
	285, // TOO_FEW_LIVE_REPLICAS
	319, // UNKNOWN_STATUS_OF_INSERT
	425, // SYSTEM_ERROR
	999, // KEEPER_EXCEPTION
}

// IsTransient reports whether err is worth retrying: a network failure or
// timeout, a connection dropped by the pool, or one of the server errors
// that clear up by themselves (TOO_MANY_PARTS, MEMORY_LIMIT_EXCEEDED …).
// Context cancellation is not transient.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if code, ok := store.ExceptionCode(err); ok {
		return slices.Contains(transientCodes, code)
	}
	var ne net.Error
	return errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, clickhouse.ErrAcquireConnTimeout)
}

// exceptionError keeps the driver's error chain and adds the
// *store.Exception both modes report.
type exceptionError struct {
	err error
	ex  *store.Exception
}

func (e *exceptionError) Error() string   { return e.ex.Error() }
func (e *exceptionError) Unwrap() []error { return []error{e.ex, e.err} }

// mapError turns a server exception into a *store.Exception.
func mapError(err error) error {
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) {
		return err
	}
	msg, name := store.SplitExceptionName(ex.Message)
	if ex.CodeName != "" {
		name = ex.CodeName
	}
	sex := &store.Exception{Code: ex.Code, Name: name, Message: msg}
	return &exceptionError{err: err, ex: sex}
}

// retry runs fn until it succeeds, fails with a permanent error, ctx is
// done, or the retries are spent, waiting with exponential backoff and
// jitter between attempts.
func (s *Store) retry(ctx context.Context, op string, fn func(context.Context) error) error {
	backoff := s.opts.RetryBackoff
	for attempt := 0; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		err = mapError(err)
		if attempt >= s.opts.Retries || !IsTransient(err) || ctx.Err() != nil {
			return err
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		s.opts.Logger.WarnContext(ctx, "clickhouse: transient error, retrying",
			"op", op, "attempt", attempt+1, "of", s.opts.Retries, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		backoff = min(2*backoff, maxRetryBackoff)
	}
}
