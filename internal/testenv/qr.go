package testenv

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// DecodeQR renders page (from 1) of the PDF file path with poppler's
// pdftoppm at 300 dpi and returns what zbar's zbarimg reads in the QR
// codes it finds there, one string per code: what a phone would read off
// the printed page, through two programs that are not sealpipe's.
func DecodeQR(t testing.TB, path string, page int) []string {
	t.Helper()
	pdftoppm, zbarimg := Tool(t, "pdftoppm"), Tool(t, "zbarimg")
	png := filepath.Join(t.TempDir(), "page")
	p := strconv.Itoa(page)
	if out, err := exec.Command(pdftoppm, "-r", "300", "-gray", "-png", "-singlefile", "-f", p, "-l", p, path, png).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm %s: %v\n%s", path, err, out)
	}
	out, err := exec.Command(zbarimg, "-q", "--raw", "-Sdisable", "-Sqrcode.enable", png+".png").Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 4 {
		return nil // zbarimg: no code found
	}
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	return strings.Fields(string(out))
}
