package dataset_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockflow/stockflow/internal/dataset"
)

// Small stand-ins for the organisers' files, served by a local server at
// the paths they have in their repositories.
const (
	weeklyTrain = "\"V1\",\"V2\",\"V3\",\"V4\",\"V5\"\n\"W1\",\"10\",\"11\",\"12\",\"\"\n\"W2\",\"5\",\"6\",\"7\",\"8\"\n"
	weeklyTest  = "\"V1\",\"V2\",\"V3\",\"V4\",\"V5\",\"V6\",\"V7\",\"V8\",\"V9\",\"V10\",\"V11\",\"V12\",\"V13\",\"V14\"\n" +
		"\"W1\",\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\"\n" +
		"\"W2\",\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\"\n"
)

// m5Row is one row of the long tiny_m5 table.
type m5Row struct {
	item, dept, cat, store, state string
	value                         int32
	date                          time.Time
}

// m5Long builds the long table of items × stores × days, rows in a
// scrambled order (the conversion must place them by date), and the
// expected wide series by id.
func m5Long(items, stores []string, days int) ([]m5Row, map[string][]float64) {
	d1 := time.Date(2011, 1, 29, 0, 0, 0, 0, time.UTC)
	want := map[string][]float64{}
	var rows []m5Row
	for i, it := range items {
		for s, st := range stores {
			id := it + "_" + st
			for d := range days {
				v := int32((i*7 + s*3 + d*d) % 5)
				rows = append(rows, m5Row{it, it[:strings.LastIndexByte(it, '_')], it[:strings.IndexByte(it, '_')], st, st[:2], v, d1.AddDate(0, 0, d)})
				want[id] = append(want[id], float64(v))
			}
		}
	}
	// Scramble deterministically: days backwards, stores interleaved.
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	return rows, want
}

// rdaWriter writes R's XDR serialization (version 3), the format of
// R's save(): enough for a data.table with factor, character, integer and
// Date columns, symbols written once and referenced afterwards, an
// external pointer attribute (.internal.selfref) and ALTREP row names.
type rdaWriter struct {
	bytes.Buffer
	syms map[string]int
	refs int
}

func (w *rdaWriter) int(v int32) { _ = binary.Write(&w.Buffer, binary.BigEndian, v) }

func (w *rdaWriter) flags(typ int, obj, attr, tag bool) {
	f := int32(typ)
	if obj {
		f |= 1 << 8
	}
	if attr {
		f |= 1 << 9
	}
	if tag {
		f |= 1 << 10
	}
	w.int(f)
}

func (w *rdaWriter) char(s string) {
	w.int(9 | 64<<12) // CHARSXP, ASCII
	w.int(int32(len(s)))
	w.WriteString(s)
}

func (w *rdaWriter) sym(name string) {
	if i, ok := w.syms[name]; ok {
		w.int(int32(i<<8 | 255)) // REFSXP
		return
	}
	w.refs++
	w.syms[name] = w.refs
	w.int(1) // SYMSXP
	w.char(name)
}

type rAttr struct {
	name  string
	write func()
}

// attrs writes a tagged pairlist.
func (w *rdaWriter) attrs(as []rAttr) {
	for _, a := range as {
		w.flags(2, false, false, true)
		w.sym(a.name)
		a.write()
	}
	w.int(254) // NILVALUE
}

func (w *rdaWriter) strs(ss []string, as ...rAttr) {
	w.flags(16, false, len(as) > 0, false)
	w.int(int32(len(ss)))
	for _, s := range ss {
		w.char(s)
	}
	if len(as) > 0 {
		w.attrs(as)
	}
}

func (w *rdaWriter) ints(v []int32, obj bool, as ...rAttr) {
	w.flags(13, obj, len(as) > 0, false)
	w.int(int32(len(v)))
	for _, x := range v {
		w.int(x)
	}
	if len(as) > 0 {
		w.attrs(as)
	}
}

func (w *rdaWriter) reals(v []float64, obj bool, as ...rAttr) {
	w.flags(14, obj, len(as) > 0, false)
	w.int(int32(len(v)))
	for _, x := range v {
		_ = binary.Write(&w.Buffer, binary.BigEndian, math.Float64bits(x))
	}
	if len(as) > 0 {
		w.attrs(as)
	}
}

func (w *rdaWriter) factor(vals []string) {
	var levels []string
	idx := map[string]int32{}
	codes := make([]int32, len(vals))
	for i, v := range vals {
		if _, ok := idx[v]; !ok {
			levels = append(levels, v)
			idx[v] = int32(len(levels))
		}
		codes[i] = idx[v]
	}
	w.ints(codes, true, rAttr{"levels", func() { w.strs(levels) }}, rAttr{"class", func() { w.strs([]string{"factor"}) }})
}

// compactSeq writes 1..n as R's compact_intseq ALTREP: the class info
// (the pairlist compact_intseq, base, 13), the state (length, start,
// step) and no attributes.
func (w *rdaWriter) compactSeq(n int) {
	w.int(238) // ALTREP_SXP
	w.flags(2, false, false, false)
	w.sym("compact_intseq")
	w.flags(2, false, false, false)
	w.sym("base")
	w.flags(2, false, false, false)
	w.ints([]int32{13}, false)
	w.int(254)
	w.reals([]float64{float64(n), 1, 1}, false)
	w.int(254)
}

// m5RDA serialises rows as the data.table tiny_m5 in an R save file.
func m5RDA(rows []m5Row) []byte {
	w := &rdaWriter{syms: map[string]int{}}
	w.WriteString("RDX3\nX\n")
	w.int(3)
	w.int(4<<16 | 2<<8 | 2) // written by R 4.2.2
	w.int(3<<16 | 5<<8)     // readable from R 3.5.0
	w.int(5)
	w.WriteString("UTF-8")

	col := func(f func(r m5Row) string) []string {
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = f(r)
		}
		return out
	}
	values := make([]int32, len(rows))
	dates := make([]float64, len(rows))
	for i, r := range rows {
		values[i] = r.value
		dates[i] = float64(r.date.Unix() / 86400)
	}
	names := []string{"item_id", "dept_id", "cat_id", "store_id", "state_id", "value", "date", "weekday"}

	// The saved objects: one tagged cell, tiny_m5 = <data.table>.
	w.flags(2, false, false, true)
	w.sym("tiny_m5")
	w.flags(19, true, true, false) // VECSXP, object, attributes
	w.int(int32(len(names)))
	w.factor(col(func(r m5Row) string { return r.item }))
	w.strs(col(func(r m5Row) string { return r.dept }))
	w.strs(col(func(r m5Row) string { return r.cat }))
	w.factor(col(func(r m5Row) string { return r.store }))
	w.strs(col(func(r m5Row) string { return r.state }))
	w.ints(values, false)
	w.reals(dates, true, rAttr{"class", func() { w.strs([]string{"Date"}) }})
	w.strs(col(func(r m5Row) string { return r.date.Weekday().String() }))
	w.attrs([]rAttr{
		{"names", func() { w.strs(names) }},
		{"row.names", func() { w.compactSeq(len(rows)) }},
		{"class", func() { w.strs([]string{"data.table", "data.frame"}) }},
		{".internal.selfref", func() {
			w.refs++   // an external pointer enters the reference table
			w.int(22)  // EXTPTRSXP
			w.int(254) // protected: NULL
			w.int(254) // tag: NULL
		}},
	})
	w.int(254) // end of the saved objects
	return w.Bytes()
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	_, _ = z.Write(b)
	_ = z.Close()
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// server serves files by path and counts the requests.
type server struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	hits  []string
}

func newServer(t *testing.T, files map[string][]byte) *server {
	s := &server{files: files}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits = append(s.hits, r.URL.Path)
		b, ok := s.files[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.hits...)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLocateDownloads checks the fallback: the data directories first,
// then the cache, then a download from the organisers' repositories (a
// local server here), with checksums, the tiny M5 conversion from R's
// save format, and errors that name the file and the URL.
func TestLocateDownloads(t *testing.T) {
	rows, wantM5 := m5Long([]string{"FOODS_1_046", "HOBBIES_2_015"}, []string{"CA_1", "WI_3", "TX_2"}, 40)
	rda := m5RDA(rows)
	gapRows := append([]m5Row(nil), rows[:len(rows)-5]...)
	gapRows = append(gapRows, rows[len(rows)-4:]...) // one day of one series missing
	full := map[string][]byte{
		"/m4/Dataset/Train/Weekly-train.csv": []byte(weeklyTrain),
		"/m4/Dataset/Test/Weekly-test.csv":   []byte(weeklyTest),
		"/m5/data/tiny_m5.rda":               gzipped(rda),
	}
	sums := map[string]string{"m4_weekly/Weekly-train.csv": sha([]byte(weeklyTrain)), "m4_weekly/Weekly-test.csv": sha([]byte(weeklyTest))}
	with := func(path string, b []byte) map[string][]byte {
		m := map[string][]byte{}
		for k, v := range full {
			m[k] = v
		}
		if b == nil {
			delete(m, path)
		} else {
			m[path] = b
		}
		return m
	}

	tests := []struct {
		name    string
		dataset string
		served  map[string][]byte
		local   map[string]string // files in the first data directory
		cached  map[string]string // files already in the cache
		sums    map[string]string
		noCache bool // no downloader
		// want: "local", "cache" (the dir returned), or an error check.
		want     string
		wantHits int
		check    func(t *testing.T, dir string)
		wantErr  func(t *testing.T, err error, base string)
	}{
		{
			name: "m4 downloaded and checked", dataset: "m4-weekly", served: full, sums: sums, want: "cache", wantHits: 2,
			check: func(t *testing.T, dir string) {
				d, err := dataset.LoadM4(dir, dataset.Weekly)
				if err != nil {
					t.Fatal(err)
				}
				if len(d.Train) != 2 || len(d.Train[0].Values) != 3 || d.Test[1].Values[12] != 13 {
					t.Errorf("loaded %+v", d)
				}
			},
		},
		{
			name: "m5 converted from the R save file", dataset: "m5-tiny", served: full, want: "cache", wantHits: 1,
			check: func(t *testing.T, dir string) {
				s, err := dataset.LoadM5Tiny(dir)
				if err != nil {
					t.Fatal(err)
				}
				if len(s) != len(wantM5) {
					t.Fatalf("%d series, want %d", len(s), len(wantM5))
				}
				for i, x := range s {
					if i > 0 && s[i-1].ID >= x.ID {
						t.Errorf("series %s after %s: want sorted by id", x.ID, s[i-1].ID)
					}
					want := wantM5[x.ID]
					if len(x.Sales) != len(want) {
						t.Fatalf("%s: %d days, want %d", x.ID, len(x.Sales), len(want))
					}
					for d := range want {
						if x.Sales[d] != want[d] {
							t.Fatalf("%s d_%d = %v, want %v", x.ID, d+1, x.Sales[d], want[d])
						}
					}
					if x.ID != x.Item+"_"+x.Store || x.State != x.Store[:2] || !strings.HasPrefix(x.Item, x.Dept) || !strings.HasPrefix(x.Dept, x.Cat) {
						t.Errorf("%s: item %s dept %s cat %s store %s state %s", x.ID, x.Item, x.Dept, x.Cat, x.Store, x.State)
					}
				}
			},
		},
		{
			name: "uncompressed R save file", dataset: "m5-tiny", served: with("/m5/data/tiny_m5.rda", rda), want: "cache", wantHits: 1,
			check: func(t *testing.T, dir string) {
				if s, err := dataset.LoadM5Tiny(dir); err != nil || len(s) != 6 {
					t.Errorf("%d series, %v; want 6", len(s), err)
				}
			},
		},
		{
			name: "found in the data directory: no download", dataset: "m4-weekly", served: full,
			local: map[string]string{"m4_weekly/Weekly-train.csv": weeklyTrain, "m4_weekly/Weekly-test.csv": weeklyTest},
			want:  "local", wantHits: 0,
		},
		{
			name: "already in the cache: no download", dataset: "m4-weekly", served: full,
			local:  map[string]string{"m4_weekly/Weekly-train.csv": weeklyTrain}, // incomplete
			cached: map[string]string{"m4_weekly/Weekly-train.csv": weeklyTrain, "m4_weekly/Weekly-test.csv": weeklyTest},
			want:   "cache", wantHits: 0,
		},
		{
			name: "only the missing file is downloaded", dataset: "m4-weekly", served: full, sums: sums,
			cached: map[string]string{"m4_weekly/Weekly-train.csv": weeklyTrain},
			want:   "cache", wantHits: 1,
		},
		{
			name: "failed download names the file and the URL", dataset: "m4-weekly", served: with("/m4/Dataset/Test/Weekly-test.csv", nil),
			wantErr: func(t *testing.T, err error, base string) {
				var de *dataset.DownloadError
				if !errors.As(err, &de) {
					t.Fatalf("error %v, want a *DownloadError", err)
				}
				url := base + "/m4/Dataset/Test/Weekly-test.csv"
				if de.File != "m4_weekly/Weekly-test.csv" || de.URL != url {
					t.Errorf("DownloadError{File: %q, URL: %q}, want %q from %q", de.File, de.URL, "m4_weekly/Weekly-test.csv", url)
				}
				if msg := err.Error(); !strings.Contains(msg, "m4_weekly/Weekly-test.csv") || !strings.Contains(msg, url) || !strings.Contains(msg, "404") {
					t.Errorf("message %q does not name the file, the URL and the status", msg)
				}
			},
		},
		{
			name: "checksum mismatch", dataset: "m4-weekly", served: with("/m4/Dataset/Test/Weekly-test.csv", []byte(weeklyTest+"\"W3\"\n")), sums: sums,
			wantErr: func(t *testing.T, err error, _ string) {
				if !errors.Is(err, dataset.ErrChecksum) || !strings.Contains(err.Error(), "m4_weekly/Weekly-test.csv") {
					t.Errorf("error %v, want ErrChecksum naming the file", err)
				}
			},
		},
		{
			name: "a day missing in the R table", dataset: "m5-tiny", served: with("/m5/data/tiny_m5.rda", gzipped(m5RDA(gapRows))),
			wantErr: func(t *testing.T, err error, base string) {
				var de *dataset.DownloadError
				if !errors.As(err, &de) || !errors.Is(err, dataset.ErrFormat) || de.URL != base+"/m5/data/tiny_m5.rda" || !strings.Contains(err.Error(), "FOODS_1_046_CA_1 has 39 of the 40 days") {
					t.Errorf("error %v, want a format error naming the series and the URL", err)
				}
			},
		},
		{
			name: "xz-compressed R save file", dataset: "m5-tiny", served: with("/m5/data/tiny_m5.rda", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 1, 2}),
			wantErr: func(t *testing.T, err error, _ string) {
				if !errors.Is(err, dataset.ErrRData) || !strings.Contains(err.Error(), "xz") {
					t.Errorf("error %v, want ErrRData about xz", err)
				}
			},
		},
		{
			name: "reference forecasts are only in a RAR archive", dataset: "m4-reference", served: full,
			wantErr: func(t *testing.T, err error, base string) {
				var de *dataset.DownloadError
				if !errors.As(err, &de) || de.URL != base+"/m4/Point%20Forecasts/submission-Naive2.rar" || !strings.Contains(err.Error(), "RAR") {
					t.Errorf("error %v, want one naming the RAR archive", err)
				}
			},
		},
		{
			name: "no downloader: the file is not found", dataset: "m4-weekly", served: full, noCache: true,
			wantErr: func(t *testing.T, err error, _ string) {
				var nf *dataset.NotFoundError
				if !errors.As(err, &nf) || nf.File != "m4_weekly/Weekly-train.csv" || !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("error %v, want a *NotFoundError for m4_weekly/Weekly-train.csv", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.served)
			local, cache := t.TempDir(), t.TempDir()
			writeFiles(t, local, tt.local)
			writeFiles(t, cache, tt.cached)
			var d *dataset.Downloader
			if !tt.noCache {
				d = &dataset.Downloader{Dir: cache, M4URL: srv.URL + "/m4/", M5URL: srv.URL + "/m5", Checksums: tt.sums}
				if d.Checksums == nil {
					d.Checksums = map[string]string{}
				}
			}
			dir, err := dataset.Locate(t.Context(), tt.dataset, []string{"", local, filepath.Join(local, "absent")}, d)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Locate = %s, want an error", dir)
				}
				tt.wantErr(t, err, srv.URL)
				var de *dataset.DownloadError
				if errors.As(err, &de) {
					if _, serr := os.Stat(filepath.Join(cache, filepath.FromSlash(de.File))); serr == nil {
						t.Errorf("%s is in the cache although its download failed", de.File)
					}
					if left, _ := filepath.Glob(filepath.Join(cache, "*", ".download-*")); len(left) > 0 {
						t.Errorf("temporary files left behind: %v", left)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"local": local, "cache": cache}[tt.want]
			if dir != want {
				t.Errorf("Locate = %s, want the %s directory %s", dir, tt.want, want)
			}
			if hits := srv.requests(); len(hits) != tt.wantHits {
				t.Errorf("%d requests %v, want %d", len(hits), hits, tt.wantHits)
			}
			if tt.check != nil {
				tt.check(t, dir)
			}
		})
	}
}

// TestKnownChecksums checks the recorded sums against the shared data,
// which are byte-for-byte copies of the organisers' files.
func TestKnownChecksums(t *testing.T) {
	dir := dataDir(t)
	for rel, want := range dataset.KnownChecksums() {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatalf("%s (the shared data): %v", rel, err)
		}
		if got := sha(b); got != want {
			t.Errorf("%s: SHA-256 %s, recorded %s", rel, got, want)
		}
	}
}
