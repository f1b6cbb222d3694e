package deploy

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServerBinaryStatic builds the binary the way deploy/docker/Dockerfile
// does (CGO_ENABLED=0, -tags nochdb) and checks that it is statically
// linked: distroless/static has no dynamic loader, and purego (which loads
// the embedded engine's libchdb.so) makes a binary ask for one. Only
// internal/store/embedded/load.go may import purego, behind !nochdb.
func TestServerBinaryStatic(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("the go command is needed to build the server binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "stockflow")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-tags", "nochdb", "-o", bin, "../cmd/stockflow")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags nochdb: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the nochdb server binary asks for a dynamic loader (PT_INTERP): a package links purego or cgo without a !nochdb build constraint")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Fatalf("the nochdb server binary imports shared libraries %s (%v)", strings.Join(libs, ", "), err)
	}
}
