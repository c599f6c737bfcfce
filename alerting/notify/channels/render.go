package channels

import (
	_ "embed"
	"fmt"
	"strings"
	"text/template"
)

// Default message bodies, in Chinese. A channel's template setting replaces
// them for the channels that take free text (the robots).
var (
	//go:embed markdown.tmpl
	markdownTemplate string
	//go:embed text.tmpl
	textTemplate string
)

// renderer renders a message's body within a channel's length limit.
type renderer struct {
	tmpl *template.Template
	// maxBytes is the channel's limit on the body, in bytes of UTF-8.
	maxBytes int
}

// newRenderer parses the channel's template override, or def when it has none.
func newRenderer(override, def string, maxBytes int) (*renderer, error) {
	text := def
	if override != "" {
		text = override
	}
	t, err := template.New("message").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	return &renderer{tmpl: t, maxBytes: maxBytes}, nil
}

// render returns v's body, cut to the channel's limit.
func (r *renderer) render(v *view) (string, error) {
	var b strings.Builder
	if err := r.tmpl.Execute(&b, v); err != nil {
		return "", fmt.Errorf("render template: %w", err)
	}
	return truncateBytes(b.String(), r.maxBytes), nil
}
