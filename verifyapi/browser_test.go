package verifyapi_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sealpipe/sealpipe/internal/testenv"
	"github.com/sealpipe/sealpipe/verifyapi"
)

// TestBrowser loads the verification page in headless Chromium, chooses
// each document in the page's own form, submits it and reads the verdict
// the page then shows. A screenshot of each state is written to the
// test's artifact folder (go test -artifacts -outputdir DIR keeps them),
// on a phone's screen and on a desktop's.
func TestBrowser(t *testing.T) {
	t.Parallel()
	chromium := testenv.Tool(t, "chromium")
	d := testDocuments(t)
	ts := newServer(t, d, verifyapi.Config{})
	files := t.TempDir()
	tests := []struct {
		file    string
		data    []byte
		lang    string
		verdict string
		detail  string // in the page besides the verdict
	}{
		{"sealed.pdf", d.sealed, "zh", "签章有效", "示例县政务服务中心电子印章"},
		{"tampered.pdf", d.tampered, "zh", "签章无效", "文件内容与签章时不一致，已被改动"},
		{"sealed.ofd", d.sealedOFD, "zh", "签章有效", "33010000000001"},
		{"tampered.ofd", d.tamperedOFD, "en", "Not valid", "Changes after signing"},
		{"notes.txt", []byte("not a document"), "zh", "无法验证：", "这个文件既不是 PDF，也不是 OFD 文件"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	for _, screen := range []struct {
		name          string
		width, height int64
	}{{"phone", 412, 915}, {"desktop", 1280, 900}} {
		for _, tt := range tests {
			t.Run(screen.name+"/"+tt.file, func(t *testing.T) {
				path := filepath.Join(files, tt.file)
				if err := os.WriteFile(path, tt.data, 0o644); err != nil {
					t.Fatal(err)
				}
				tab, cancel := chromedp.NewContext(browser)
				defer cancel()
				step := func(err error) {
					t.Helper()
					if err != nil {
						t.Fatal(err)
					}
				}
				step(chromedp.Do(tab,
					chromedp.EmulateViewport(screen.width, screen.height),
					chromedp.Navigate(ts.URL+"/?lang="+tt.lang),
					chromedp.WaitVisible(chromedp.CSS(`input[name=document]`)),
				))
				page, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
				step(err)
				step(chromedp.Do(tab,
					chromedp.SetUploadFiles(chromedp.CSS(`input[name=document]`), []string{path}),
					chromedp.Click(chromedp.CSS(`button[type=submit]`)),
					chromedp.WaitVisible(chromedp.CSS(`#verdict h2`)),
				))
				verdict, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`#verdict h2`)))
				step(err)
				body, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`body`)))
				step(err)
				result, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
				step(err)
				dir := t.ArtifactDir()
				name := strings.TrimSuffix(tt.file, filepath.Ext(tt.file)) + "-" + strings.TrimPrefix(filepath.Ext(tt.file), ".")
				for file, png := range map[string][]byte{"page.png": page, name + ".png": result} {
					if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if verdict != tt.verdict {
					t.Errorf("the page shows %q, want %q", verdict, tt.verdict)
				}
				if !strings.Contains(body, tt.detail) {
					t.Errorf("the page lacks %q:\n%s", tt.detail, body)
				}
			})
		}
	}
}
