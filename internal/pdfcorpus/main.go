// Command pdfcorpus writes the PDF conformance set of pipeline/pdfseal:
// PDFs made by the producers installable here (LibreOffice, Ghostscript,
// qpdf, pdfcpu, cairo, Chromium, ReportLab, pypdf, poppler's pdfsig and
// pdfseal itself) and hand-made ones, valid and hostile, with
// MANIFEST.json describing each file and what pdfseal.Seal must do with
// it.
//
//	go run ./internal/pdfcorpus -out pipeline/pdfseal/testdata/conformance
//
// It is a development tool: the files it writes are checked in, and the
// tests read those, never running it. It needs the Debian packages listed
// in pipeline/pdfseal/testdata/conformance/README.md. -only regenerates
// the files whose names match a regular expression (the others, and
// their manifest entries, are kept as they are, though files derived from
// a regenerated one are regenerated with it only if they match too).
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Entry is one file's line in MANIFEST.json. The README of the folder
// documents the fields.
type Entry struct {
	File       string   `json:"file"`
	Producer   string   `json:"producer"`
	Features   []string `json:"features"`
	Expect     string   `json:"expect"`               // "seal" or "refuse"
	Page       int      `json:"page,omitempty"`       // seal: the page to seal
	Signatures int      `json:"signatures,omitempty"` // seal: valid signatures already in the file
	Error      string   `json:"error,omitempty"`      // refuse: the sentinel error's name, e.g. "ErrEncrypted"
	Message    string   `json:"message,omitempty"`    // refuse: a substring of the error message (case-insensitive)
	QPDFCheck  string   `json:"qpdf_check"`           // what qpdf --check says of the file: "ok", "warnings", "errors"
	Size       int      `json:"size"`
	SHA256     string   `json:"sha256"`
	Note       string   `json:"note,omitempty"`
}

// Manifest is MANIFEST.json.
type Manifest struct {
	Comment string  `json:"comment"`
	Files   []Entry `json:"files"`
}

// spec describes how to make one file and what is expected of it.
type spec struct {
	Entry
	build func(g *gen) ([]byte, error)
}

func main() {
	out := flag.String("out", "pipeline/pdfseal/testdata/conformance", "the folder to write the set and MANIFEST.json to")
	only := flag.String("only", "", "regenerate only the files whose names match this regular expression")
	keep := flag.Bool("keep", false, "keep the work folder (inputs, NSS database, tools' logs)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("pdfcorpus: ")
	var match *regexp.Regexp
	if *only != "" {
		match = regexp.MustCompile(*only)
	}
	if err := run(*out, match, *keep); err != nil {
		log.Fatal(err)
	}
}

func run(out string, only *regexp.Regexp, keep bool) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "pdfcorpus-")
	if err != nil {
		return err
	}
	if keep {
		log.Printf("work folder %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	g := &gen{work: work, out: out, files: map[string][]byte{}}
	if err := g.versions(); err != nil {
		return err
	}
	old := map[string]Entry{}
	if b, err := os.ReadFile(filepath.Join(out, "MANIFEST.json")); err == nil {
		var m Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("reading the old manifest: %v", err)
		}
		for _, e := range m.Files {
			old[e.File] = e
		}
	}
	var entries []Entry
	for _, s := range specs() {
		if only != nil && !only.MatchString(s.File) {
			// Keep the checked-in file; later specs may derive from it.
			b, err := os.ReadFile(filepath.Join(out, s.File))
			if err != nil {
				return fmt.Errorf("%s: not regenerated (-only) and not there: %v", s.File, err)
			}
			g.files[s.File] = b
			e, ok := old[s.File]
			if !ok {
				return fmt.Errorf("%s: not regenerated (-only) and not in the manifest", s.File)
			}
			entries = append(entries, e)
			continue
		}
		start := time.Now()
		b, err := s.build(g)
		if err != nil {
			return fmt.Errorf("%s: %w", s.File, err)
		}
		g.files[s.File] = b
		if err := os.WriteFile(filepath.Join(out, s.File), b, 0o644); err != nil {
			return err
		}
		e := s.Entry
		e.Producer = g.expand(e.Producer)
		e.Size = len(b)
		sum := sha256.Sum256(b)
		e.SHA256 = hex.EncodeToString(sum[:])
		e.QPDFCheck = g.qpdfCheck(s.File)
		if e.Expect == "" {
			e.Expect = "seal"
		}
		if e.Expect == "seal" && e.Page == 0 {
			e.Page = 1
		}
		entries = append(entries, e)
		log.Printf("%-40s %7d bytes  qpdf: %-8s %v", s.File, len(b), e.QPDFCheck, time.Since(start).Round(time.Millisecond))
	}
	m := Manifest{
		Comment: "The PDF conformance set of pipeline/pdfseal, written by `go run ./internal/pdfcorpus`: see README.md beside this file.",
		Files:   entries,
	}
	slices.SortFunc(m.Files, func(a, b Entry) int { return strings.Compare(a.File, b.File) })
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "MANIFEST.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	// Files of an earlier generation no spec makes any more.
	names := map[string]bool{"MANIFEST.json": true, "README.md": true, ".gitattributes": true}
	for _, e := range entries {
		names[e.File] = true
	}
	return filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if rel, _ := filepath.Rel(out, p); !names[rel] {
			log.Printf("warning: %s is in the folder but no longer made: remove it", rel)
		}
		return nil
	})
}

// gen holds what the builders share.
type gen struct {
	work, out string
	files     map[string][]byte // the files made so far, by name
	ver       map[string]string // tool → version
	pdfcpu    string            // the pdfcpu binary
}

// input writes a file made earlier, by name, into the work folder and
// returns its path.
func (g *gen) input(name string) (string, error) {
	b, ok := g.files[name]
	if !ok {
		return "", fmt.Errorf("%s has not been made yet", name)
	}
	return g.write(name, b)
}

// write stores b in the work folder under name.
func (g *gen) write(name string, b []byte) (string, error) {
	p := filepath.Join(g.work, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	return p, os.WriteFile(p, b, 0o644)
}

// tmp returns a fresh path in the work folder.
func (g *gen) tmp(name string) string {
	d, err := os.MkdirTemp(g.work, "t")
	if err != nil {
		panic(err)
	}
	return filepath.Join(d, name)
}

// cmd runs a program with a time limit, a fixed environment for
// reproducibility (SOURCE_DATE_EPOCH, TZ, a HOME in the work folder) and
// extra variables, and returns its combined output.
func (g *gen) cmd(env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, name, args...)
	home := filepath.Join(g.work, "home")
	os.MkdirAll(home, 0o755)
	c.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1735689600", "TZ=UTC", "LC_ALL=C.UTF-8", "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache"))
	c.Env = append(c.Env, env...)
	c.Dir = g.work
	out, err := c.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// runOut runs a program that writes the file out and returns its bytes.
func (g *gen) runOut(out string, name string, args ...string) ([]byte, error) {
	if _, err := g.cmd(nil, name, args...); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}

// python runs a Python script with Debian's interpreter (/usr/bin/python3,
// which sees the python3-* packages) and args.
func (g *gen) python(script string, args ...string) (string, error) {
	p, err := g.write(fmt.Sprintf("script-%x.py", sha256.Sum256([]byte(script))), []byte(script))
	if err != nil {
		return "", err
	}
	return g.cmd(nil, "/usr/bin/python3", append([]string{p}, args...)...)
}

// qpdfCheck says what `qpdf --check` finds in a file of the set: "ok"
// (exit 0), "warnings" (exit 3) or "errors" (exit 2).
func (g *gen) qpdfCheck(name string) string {
	out, err := exec.Command("qpdf", "--check", filepath.Join(g.out, name)).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &ee) && ee.ExitCode() == 3:
		return "warnings"
	case errors.As(err, &ee) && ee.ExitCode() == 2:
		return "errors"
	}
	return fmt.Sprintf("unknown (%v: %s)", err, bytes.TrimSpace(out))
}

// versions records the version of each producer, failing if one is
// missing.
func (g *gen) versions() error {
	g.ver = map[string]string{}
	first := func(re, s string) string {
		if m := regexp.MustCompile(re).FindStringSubmatch(s); m != nil {
			return m[1]
		}
		return "?"
	}
	for _, t := range []struct{ key, name, arg, re string }{
		{"libreoffice", "soffice", "--version", `LibreOffice (\S+)`},
		{"ghostscript", "gs", "--version", `(\S+)`},
		{"qpdf", "qpdf", "--version", `qpdf version (\S+)`},
		{"chromium", "chromium", "--version", `Chromium (\S+)`},
		{"poppler", "pdfsig", "-v", `pdfsig version (\S+)`},
		{"nss", "certutil", "--version", `(\S+)`},
	} {
		if _, err := exec.LookPath(t.name); err != nil {
			return fmt.Errorf("%s not found (%v): see the README for the Debian packages", t.name, err)
		}
		// Some print their version with a non-zero exit status.
		out, _ := exec.Command(t.name, t.arg).CombinedOutput()
		g.ver[t.key] = first(t.re, string(out))
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "libnss3").Output(); err == nil {
		g.ver["nss"] = string(out)
	}
	out, err := g.python(`import reportlab, pypdf, cairo
print(reportlab.Version, pypdf.__version__, cairo.version, cairo.cairo_version_string())`)
	if err != nil {
		return fmt.Errorf("python3-reportlab, python3-pypdf and python3-cairo are needed: %v", err)
	}
	f := strings.Fields(out)
	if len(f) != 4 {
		return fmt.Errorf("python versions: %q", out)
	}
	g.ver["reportlab"], g.ver["pypdf"], g.ver["pycairo"], g.ver["cairo"] = f[0], f[1], f[2], f[3]
	v, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/pdfcpu/pdfcpu").Output()
	if err != nil {
		return fmt.Errorf("go list -m github.com/pdfcpu/pdfcpu: %v", err)
	}
	g.ver["pdfcpu"] = strings.TrimSpace(string(v))
	return nil
}

// expand replaces each {tool} in s by the tool's version.
func (g *gen) expand(s string) string {
	var pairs []string
	for k, v := range g.ver {
		pairs = append(pairs, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}
