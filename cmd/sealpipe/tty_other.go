//go:build !linux

package main

import "os"

// isTTY reports false: outside Linux sealpipe never prompts, and
// commands take their defaults as when standard input is not a terminal.
func isTTY(*os.File) bool { return false }
