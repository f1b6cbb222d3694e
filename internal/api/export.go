package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ExportRequest is a parsed GET /api/v1/export/{dataset}: the dataset
// name, the from and to days (YYYY-MM-DD, inclusive) and the optional
// skus, warehouses and regions filters (comma-separated).
type ExportRequest struct {
	Dataset                   string
	From, To                  string
	SKUs, Warehouses, Regions []string
}

// ExportFunc writes the requested dataset as one Parquet file to w. An
// error before anything was written is reported to the client as 400
// when it is a *BadRequestError, 500 otherwise.
type ExportFunc func(ctx context.Context, req ExportRequest, w io.Writer) error

// BadRequestError is an ExportFunc error the client caused (unknown
// dataset, bad date).
type BadRequestError struct{ Err error }

func (e *BadRequestError) Error() string { return e.Err.Error() }
func (e *BadRequestError) Unwrap() error { return e.Err }

// authorized reports whether r carries the read token or the admin token
// as its bearer token. With no token configured at all, reads are open.
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.ReadToken == "" && s.cfg.AdminToken == "" {
		return true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	for _, want := range []string{s.cfg.ReadToken, s.cfg.AdminToken} {
		if want != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1 {
			return true
		}
	}
	return false
}

// exportWriter counts what was written, so that an error after the first
// byte is not answered with a status the client can no longer get.
type exportWriter struct {
	w       http.ResponseWriter
	written bool
}

func (e *exportWriter) Write(b []byte) (int, error) {
	e.written = true
	return e.w.Write(b)
}

// export streams GET /api/v1/export/{dataset}?from=…&to=… as one Parquet
// file.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Export == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "export is not available on this server"})
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="stockflow"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "a bearer token is required"})
		return
	}
	q := r.URL.Query()
	req := ExportRequest{
		Dataset: r.PathValue("dataset"), From: q.Get("from"), To: q.Get("to"),
		SKUs: splitList(q.Get("skus")), Warehouses: splitList(q.Get("warehouses")), Regions: splitList(q.Get("regions")),
	}
	if req.From == "" || req.To == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "from and to (YYYY-MM-DD) are required"})
		return
	}
	w.Header().Set("Content-Type", "application/vnd.apache.parquet")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", req.Dataset+"_"+req.From+"_"+req.To+".parquet"))
	ew := &exportWriter{w: w}
	err := s.cfg.Export(r.Context(), req, ew)
	if err == nil {
		return
	}
	s.log.Warn("export", "dataset", req.Dataset, "err", err)
	if ew.written {
		// The status is sent; cut the body so the client sees a
		// truncated file, not a valid one.
		panic(http.ErrAbortHandler)
	}
	w.Header().Del("Content-Disposition")
	code := http.StatusInternalServerError
	if bad := (*BadRequestError)(nil); errors.As(err, &bad) {
		code = http.StatusBadRequest
	}
	writeJSON(w, code, map[string]any{"error": err.Error()})
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
