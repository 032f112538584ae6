package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// prompter asks the user for what a command needs, when standard input is
// a terminal: a question on out, the answer a line of in.
type prompter struct {
	in  *bufio.Reader
	out io.Writer
}

func newPrompter(in io.Reader, out io.Writer) *prompter {
	return &prompter{in: bufio.NewReader(in), out: out}
}

// errNoAnswer is returned by ask when the input ends or stays empty where
// an answer is required.
var errNoAnswer = errors.New("no answer")

// ask prints question, with the default in brackets when def is not nil,
// and returns the answer, trimmed. An empty answer (Enter) takes the
// default; with none, the question is asked again, three times in all.
// describe shows the default in the brackets, e.g. "none: the unit's
// official seal" for an empty default; nil shows the default itself.
func (p *prompter) ask(question string, def *string, describe func(string) string) (string, error) {
	for range 3 {
		if def != nil {
			shown := *def
			if describe != nil {
				shown = describe(*def)
			}
			fmt.Fprintf(p.out, "%s [%s]: ", question, shown)
		} else {
			fmt.Fprintf(p.out, "%s: ", question)
		}
		line, err := p.in.ReadString('\n')
		answer := strings.TrimSpace(line)
		switch {
		case answer != "":
			return answer, nil
		case err != nil:
			fmt.Fprintln(p.out)
			return "", errNoAnswer
		case def != nil:
			return *def, nil
		}
	}
	return "", errNoAnswer
}
