package keeper

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return master, tty
}

// TestAskNew types the answers into a pseudo-terminal: the secret comes
// back, the terminal never echoes it and echoes again afterwards; answers
// that differ are refused; a file that is no terminal is ErrNoTerminal.
func TestAskNew(t *testing.T) {
	for _, c := range []struct {
		name, first, second string
		want                error
	}{
		{"answers agree", "county seal keeper 2026", "county seal keeper 2026", nil},
		{"answers differ", "county seal keeper 2026", "county seal keeper 2025", ErrWeakSecret},
	} {
		t.Run(c.name, func(t *testing.T) {
			master, tty := openPTY(t)
			go func() {
				// Type once the echo is off, as a person would after the question.
				for range 200 {
					if tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS); err == nil && tio.Lflag&unix.ECHO == 0 {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				fmt.Fprintf(master, "%s\n%s\n", c.first, c.second)
			}()
			var questions bytes.Buffer
			got, err := AskNew(t.Context(), tty, &questions, "passphrase for civil-affairs")
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("AskNew: %q, %v; want %v", got, err, c.want)
			}
			if c.want == nil && string(got) != c.first {
				t.Fatalf("AskNew = %q, want %q", got, c.first)
			}
			if !strings.Contains(questions.String(), "New passphrase for civil-affairs: ") || !strings.Contains(questions.String(), "Again: ") {
				t.Fatalf("questions %q", questions.String())
			}
			// With the echo back on, a line typed now comes back; the
			// answers typed before never did.
			fmt.Fprintf(master, "echo-is-back\n")
			echoed := bufio.NewReader(master)
			var seen string
			for !strings.Contains(seen, "echo-is-back") {
				line, err := echoed.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				seen += line
			}
			if strings.Contains(seen, "keeper") {
				t.Fatalf("the terminal echoed the secret: %q", seen)
			}
		})
	}
	f, err := os.CreateTemp(t.TempDir(), "not-a-tty")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := AskNew(t.Context(), f, &bytes.Buffer{}, "PIN"); !errors.Is(err, ErrNoTerminal) {
		t.Fatalf("AskNew of a file: %v, want ErrNoTerminal", err)
	}
}
