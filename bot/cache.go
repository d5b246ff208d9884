package bot

import (
	"context"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
)

// articleTTL is how long a process reuses an article it read: an article
// goes to many chats at once, and a second's staleness changes no alert.
const articleTTL = time.Second

type cachedArticle struct {
	a  *article.Article
	at time.Time
}

// articles reads the alerts' articles in one round trip, or none when they
// were read in the last articleTTL; an article that expired is missing
// from the map. The articles are shared: they are not to be changed.
func (s *Sender) articles(ctx context.Context, es []entry) (map[string]*article.Article, error) {
	out := map[string]*article.Article{}
	now := time.Now()
	s.artMu.Lock()
	for _, e := range es {
		if c, ok := s.artCache[e.al.Article]; ok && now.Sub(c.at) < articleTTL {
			out[e.al.Article] = c.a
		}
	}
	s.artMu.Unlock()
	var ids []string
	asked := map[string]bool{}
	for _, e := range es {
		if id := e.al.Article; out[id] == nil && !asked[id] {
			asked[id] = true
			ids = append(ids, id)
		}
	}
	as, err := articles.LoadMany(ctx, s.st, ids)
	if err != nil {
		return nil, err
	}
	s.artMu.Lock()
	defer s.artMu.Unlock()
	if s.artCache == nil || len(s.artCache) > 1024 {
		s.artCache = map[string]cachedArticle{}
	}
	for i, a := range as {
		if a == nil {
			s.log.Warn("article expired before its alert", "article", ids[i])
			continue
		}
		out[ids[i]] = a
		s.artCache[ids[i]] = cachedArticle{a: a, at: now}
	}
	return out, nil
}
