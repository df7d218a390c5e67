package webui_test

import (
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/beatmq/beatmq/broker/mgmt/webui"
)

// allFiles returns the text of every served file, by URL path.
func allFiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range append(webui.Files(), "/") {
		_, body := serve(t, http.MethodGet, f, nil)
		out[f] = body
	}
	return out
}

// TestImportsResolve checks that every module import names an embedded
// file, so a renamed file cannot break the page silently.
func TestImportsResolve(t *testing.T) {
	files := allFiles(t)
	imp := regexp.MustCompile(`from '\./([a-z]+\.js)'`)
	for f, body := range files {
		if !strings.HasSuffix(f, ".js") {
			continue
		}
		for _, m := range imp.FindAllStringSubmatch(body, -1) {
			if _, ok := files["/static/js/"+m[1]]; !ok {
				t.Errorf("%s imports ./%s, which is not served", f, m[1])
			}
		}
	}
}

// TestIDContract checks that every #id that doc.go promises to the browser
// tests appears in the page or its scripts.
func TestIDContract(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	files := allFiles(t)
	var all strings.Builder
	for _, body := range files {
		all.WriteString(body)
	}
	text := all.String()
	ids := regexp.MustCompile(`#([a-z][a-z0-9-]*[a-z0-9])`).FindAllStringSubmatch(string(doc), -1)
	if len(ids) < 40 {
		t.Fatalf("found only %d ids in doc.go", len(ids))
	}
	var missing []string
	for _, m := range ids {
		id := m[1]
		if !strings.Contains(text, `id="`+id+`"`) && !strings.Contains(text, `'`+id+`'`) && !strings.Contains(text, `"`+id+`"`) {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	if missing = slices.Compact(missing); len(missing) > 0 {
		t.Errorf("ids in doc.go that no file sets: %v", missing)
	}
}
