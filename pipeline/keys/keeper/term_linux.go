package keeper

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// AskNew asks the terminal tty for a new secret twice, without echo, and
// returns it when both answers agree: what names it in the questions
// ("passphrase for civil-affairs"). It fails with ErrNoTerminal when tty
// is not a terminal, and with ctx's error when ctx is done first (the
// terminal's echo is back on either way). Strength is the caller's to
// check.
func AskNew(ctx context.Context, tty *os.File, out io.Writer, what string) ([]byte, error) {
	fd := int(tty.Fd())
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, ErrNoTerminal
	}
	quiet := *saved
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return nil, fmt.Errorf("keeper: turn off the terminal's echo: %w", err)
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, saved)
	type result struct {
		secret []byte
		err    error
	}
	done := make(chan result, 1)
	go func() {
		b, err := askTwice(bufio.NewReader(tty), out, what)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.secret, r.err
	case <-ctx.Done():
		fmt.Fprintln(out)
		return nil, ctx.Err()
	}
}

// askTwice reads the two answers of AskNew.
func askTwice(in *bufio.Reader, out io.Writer, what string) ([]byte, error) {
	var answers [2][]byte
	for i, q := range []string{"New " + what + ": ", "Again: "} {
		fmt.Fprint(out, q)
		line, err := in.ReadBytes('\n')
		fmt.Fprintln(out)
		if err != nil && len(line) == 0 {
			return nil, fmt.Errorf("keeper: no answer: %w", err)
		}
		answers[i] = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	}
	if !bytes.Equal(answers[0], answers[1]) {
		return nil, fmt.Errorf("%w: the two answers differ", ErrWeakSecret)
	}
	return answers[0], nil
}
