// Package readme holds no code: its test, TestREADME, runs the command
// blocks of the project's README.md and deploy/local/README.md, in order,
// in one shell, on a copy of the work tree, against services of its own,
// and checks the outcomes the READMEs state — so that a person who copies
// the README from a fresh clone gets what it promises.
package readme
