package crashtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Child is one run of a command as a child process. Its stdout and stderr
// go to a log file, and the address of its HTTP endpoint is picked up from
// the line `stockflow process` prints when it listens.
type Child struct {
	Name    string
	Started time.Time
	LogPath string

	cmd    *exec.Cmd
	out    *logWriter
	done   chan struct{}
	err    error     // valid after done
	ended  time.Time // valid after done
	killed atomic.Bool
}

// Start starts bin with args and, on top of the test's environment, env
// (KEY=value). The log file is created or truncated.
func Start(name, bin string, args, env []string, logPath string) (*Child, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s: log: %w", name, err)
	}
	w := &logWriter{f: f, ready: make(chan struct{})}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = w
	cmd.Stderr = w
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: start %s: %w", name, bin, err)
	}
	c := &Child{Name: name, Started: time.Now(), LogPath: logPath, cmd: cmd, out: w, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		c.ended = time.Now()
		_ = f.Close()
		close(c.done)
	}()
	return c, nil
}

// Pid is the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Done is closed when the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// ExitErr is the child's exit status as Wait reports it (nil for 0); only
// meaningful after Done.
func (c *Child) ExitErr() error { return c.err }

// Ended is when the child was seen to exit; zero while it runs.
func (c *Child) Ended() time.Time {
	select {
	case <-c.done:
		return c.ended
	default:
		return time.Time{}
	}
}

// Running reports whether the child has not exited yet.
func (c *Child) Running() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and waits for the child to exit.
func (c *Child) Kill() {
	if c.Running() {
		c.killed.Store(true)
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-c.done
}

// Dump sends SIGQUIT, which makes a Go child print every goroutine's stack
// to its log and exit, and waits up to timeout for it: a post-mortem of a
// child that stopped making progress.
func (c *Child) Dump(timeout time.Duration) {
	if !c.Running() {
		return
	}
	c.killed.Store(true)
	_ = c.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.Kill()
	}
}

// Stopped reports whether the child exited because Kill or Terminate
// stopped it, rather than by itself.
func (c *Child) Stopped() bool { return c.killed.Load() }

// Terminate sends SIGTERM and waits up to timeout for the child to exit;
// after that it kills it and says so. It returns the exit status.
func (c *Child) Terminate(timeout time.Duration) error {
	if !c.Running() {
		return c.err
	}
	c.killed.Store(true)
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.done:
		return c.err
	case <-t.C:
		c.Kill()
		return fmt.Errorf("%s did not exit within %s of SIGTERM; killed", c.Name, timeout)
	}
}

// Addr waits until the child has printed its HTTP address and returns it.
func (c *Child) Addr(ctx context.Context) (string, error) {
	select {
	case <-c.out.ready:
		return c.out.addr, nil
	case <-c.done:
		select {
		case <-c.out.ready:
			return c.out.addr, nil
		default:
		}
		return "", fmt.Errorf("%s exited (%w) before it listened; log %s:\n%s", c.Name, c.err, c.LogPath, c.Tail(20))
	case <-ctx.Done():
		return "", fmt.Errorf("%s: no HTTP address in its log: %w", c.Name, ctx.Err())
	}
}

// Metrics reads the child's /metrics and returns every metric summed over
// its labels.
func (c *Child) Metrics(ctx context.Context) (map[string]float64, error) {
	addr, err := c.Addr(ctx)
	if err != nil {
		return nil, err
	}
	// A child that does not answer must not hold the caller up.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("%s metrics: %w", c.Name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s metrics: %w", c.Name, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s metrics: HTTP %s", c.Name, resp.Status)
	}
	return parseMetrics(bufio.NewScanner(resp.Body))
}

// parseMetrics sums Prometheus text-format samples by metric name.
func parseMetrics(sc *bufio.Scanner) (map[string]float64, error) {
	out := make(map[string]float64)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 && i < len(name) {
			name = line[:i]
			_, rest, ok = strings.Cut(line[i:], "} ")
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			continue
		}
		out[name] += v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

// Tail returns the last n lines of the child's log.
func (c *Child) Tail(n int) string {
	b, err := os.ReadFile(c.LogPath)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

var addrRE = regexp.MustCompile(`\| http://(\S+)`)

// logWriter writes the child's output to its log file and watches for the
// HTTP address line.
type logWriter struct {
	f     *os.File
	mu    sync.Mutex
	line  []byte
	addr  string
	ready chan struct{}
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.addr == "" {
		w.line = append(w.line, p...)
		for {
			i := bytes.IndexByte(w.line, '\n')
			if i < 0 {
				break
			}
			if m := addrRE.FindSubmatch(w.line[:i]); m != nil && w.addr == "" {
				w.addr = string(m[1])
				close(w.ready)
			}
			w.line = w.line[i+1:]
		}
		if w.addr != "" {
			w.line = nil
		}
	}
	return w.f.Write(p)
}
