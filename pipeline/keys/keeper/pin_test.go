package keeper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fakeToken is a token that keeps a user PIN.
type fakeToken struct {
	pin     string
	logins  int // refused logins
	refuse  error
	changed int
}

var errPINIncorrect = errors.New("CKR_PIN_INCORRECT")

func (f *fakeToken) SetPIN(_ context.Context, old, new string) error {
	if f.refuse != nil {
		return f.refuse
	}
	if old != f.pin {
		return errPINIncorrect
	}
	f.pin = new
	f.changed++
	return nil
}

func (f *fakeToken) Login(_ context.Context, pin string) error {
	if pin != f.pin {
		f.logins++
		return errPINIncorrect
	}
	return nil
}

const (
	oldPIN = "258036"
	newPIN = "N3w-PIN-70"
)

func newPINFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hsm.pin")
	write(t, path, oldPIN+"\n")
	return path
}

// TestChangePINCrash crashes a PIN change at every point and checks what
// is left: before the token takes the new PIN, the PIN file holds the PIN
// the token has; after, the staged file holds it; either way running the
// change again ends with the token and the PIN file agreeing on the new
// PIN, with at most one refused login.
func TestChangePINCrash(t *testing.T) {
	var points []point
	tok := &fakeToken{pin: oldPIN}
	path := newPINFile(t)
	recorded := 0
	c := PINChange{Token: tok, PINFile: path, New: newPIN, hook: func(p point) error { points = append(points, p); return nil },
		Record: func(context.Context, time.Time) error { recorded++; return nil }}
	if _, err := ChangePIN(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if tok.pin != newPIN || read(t, path) != newPIN+"\n" || recorded != 1 {
		t.Fatalf("token %q, file %q, recorded %d", tok.pin, read(t, path), recorded)
	}
	for _, p := range []point{pointStaged, pointSetPIN, pointPINFile} {
		if !containsPoint(points, p) {
			t.Fatalf("points %q lack %q", points, p)
		}
	}

	for i, crashAt := range points {
		t.Run(fmt.Sprintf("%d %s", i+1, crashAt), func(t *testing.T) {
			tok := &fakeToken{pin: oldPIN}
			path := newPINFile(t)
			passed := 0
			c := PINChange{Token: tok, PINFile: path, New: newPIN, hook: func(point) error {
				if passed++; passed == i+1 {
					return errCrash
				}
				return nil
			}}
			if _, err := ChangePIN(context.Background(), c); !errors.Is(err, errCrash) {
				t.Fatalf("ChangePIN: %v, want the crash", err)
			}
			file := read(t, path)
			staged, _ := os.ReadFile(PendingPINFile(path))
			switch {
			case file == tok.pin+"\n":
			case tok.changed == 1 && string(staged) == tok.pin+"\n":
				t.Logf("the token has the new PIN; the PIN file the old one, the staged file the new one")
			default:
				t.Fatalf("token %q, PIN file %q, staged %q: the PIN is lost", tok.pin, file, staged)
			}
			got, err := ChangePIN(context.Background(), PINChange{Token: tok, PINFile: path, New: newPIN})
			switch {
			case errors.Is(err, ErrWeakSecret) && file == newPIN+"\n":
				t.Logf("run again: %v", err)
			case err != nil:
				t.Fatalf("run again: %v", err)
			default:
				t.Logf("run again: recovered %q, resumed %v", got.Recovered, got.Resumed)
			}
			if tok.pin != newPIN || read(t, path) != newPIN+"\n" || tok.logins > 1 {
				t.Fatalf("token %q, file %q, %d refused logins", tok.pin, read(t, path), tok.logins)
			}
			if _, err := os.Stat(PendingPINFile(path)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("staged file left: %v", err)
			}
		})
	}
}

// TestChangePINRefuses: a PIN refused here or by the token changes
// neither the token nor the PIN file.
func TestChangePINRefuses(t *testing.T) {
	for _, c := range []struct {
		name     string
		new      string
		min, max int
		token    error
		want     error
	}{
		{"empty", "", 0, 0, nil, ErrWeakSecret},
		{"the current one", oldPIN, 0, 0, nil, ErrWeakSecret},
		{"too short", "90210", 0, 0, nil, ErrWeakSecret},
		{"shorter than the token wants", "902107", 8, 0, nil, ErrWeakSecret},
		{"longer than the token takes", "9021078812", 4, 8, nil, ErrWeakSecret},
		{"one digit repeated", "777777", 0, 0, nil, ErrWeakSecret},
		{"a run", "123456", 0, 0, nil, ErrWeakSecret},
		{"a run down", "987654", 0, 0, nil, ErrWeakSecret},
		{"refused by the token", newPIN, 0, 0, errPINIncorrect, errPINIncorrect},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok := &fakeToken{pin: oldPIN, refuse: c.token}
			path := newPINFile(t)
			_, err := ChangePIN(context.Background(), PINChange{Token: tok, PINFile: path, New: c.new, MinLen: c.min, MaxLen: c.max})
			if !errors.Is(err, c.want) {
				t.Fatalf("ChangePIN: %v, want %v", err, c.want)
			}
			t.Log(err)
			if tok.pin != oldPIN || read(t, path) != oldPIN+"\n" {
				t.Fatal("a refused change changed the PIN")
			}
			if _, err := os.Stat(PendingPINFile(path)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("staged file left: %v", err)
			}
		})
	}
}

// TestChangePINLost: a token that takes neither PIN is reported, and the
// files are left for the keeper to look at.
func TestChangePINLost(t *testing.T) {
	tok := &fakeToken{pin: "somebody else's"}
	path := newPINFile(t)
	write(t, PendingPINFile(path), newPIN+"\n")
	_, err := ChangePIN(context.Background(), PINChange{Token: tok, PINFile: path, New: newPIN})
	if !errors.Is(err, ErrPINUnknown) {
		t.Fatalf("ChangePIN: %v, want ErrPINUnknown", err)
	}
	if read(t, PendingPINFile(path)) != newPIN+"\n" || read(t, path) != oldPIN+"\n" {
		t.Fatal("files changed")
	}
}
