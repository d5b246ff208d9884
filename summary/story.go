package summary

import "strings"

// ParseStory splits a CNN/DailyMail ".story" file into its article text and
// its reference highlights (the lines after each "@highlight" marker).
func ParseStory(text string) (article string, highlights []string) {
	parts := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n@highlight\n")
	if len(parts) == 1 && strings.HasPrefix(strings.TrimSpace(text), "@highlight") {
		parts = strings.Split("\n"+strings.TrimSpace(text), "\n@highlight\n")
	}
	article = strings.TrimSpace(parts[0])
	for _, h := range parts[1:] {
		if h = strings.Join(strings.Fields(h), " "); h != "" {
			highlights = append(highlights, h)
		}
	}
	return article, highlights
}
